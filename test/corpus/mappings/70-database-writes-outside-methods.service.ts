import { state } from 'durability-compiler';

export interface Order {
  id: string;
  status: string;
}

export class Accounts {
  balances = new Map<string, number>();
  opened = 0;

  open(id: string, balance: number): void {
    this.balances.set(id, balance);
    this.opened++;
  }

  setBalance(id: string, balance: number): void {
    this.balances.set(id, balance);
  }

  get nextNumber(): number {
    return ++this.opened;
  }
}

export class Orders {
  private orders = new Map<string, Order>();

  place(order: Order): void {
    this.orders.set(order.id, order);
  }

  find(id: string): Order | undefined {
    return this.orders.get(id);
  }

  copyOf(id: string): Order | undefined {
    const order = this.orders.get(id);
    return order && { ...order };
  }
}

function credit(accounts: Accounts, id: string, amount: number): void {
  accounts.balances.set(id, (accounts.balances.get(id) ?? 0) + amount);
}

export class BankService {
  @state accounts = new Accounts();
  @state orders = new Orders();

  deposit(id: string, amount: number): void {
    this.accounts.balances.set(id, (this.accounts.balances.get(id) ?? 0) + amount);
  }

  count(): void {
    this.accounts.opened++;
  }

  reflect(id: string): void {
    Reflect.set(this.accounts, 'opened', id.length);
  }

  bonus(id: string): void {
    credit(this.accounts, id, 10);
  }

  number(): number {
    return this.accounts.nextNumber;
  }

  place(id: string): void {
    const order = { id, status: 'new' };
    this.orders.place(order);
    order.status = 'placed';
  }

  ship(id: string): void {
    const order = this.orders.find(id);
    if (order) order.status = 'shipped';
  }

  // Fine: the change goes through a mapped method; a copy is not the object's; a status set before the order is handed over.
  setBalance(id: string, balance: number): void {
    this.accounts.setBalance(id, balance);
  }

  preview(id: string): Order | undefined {
    const copy = this.orders.copyOf(id);
    if (copy) copy.status = 'preview';
    return copy;
  }

  placeReady(id: string): void {
    const order = { id, status: 'new' };
    order.status = 'ready';
    this.orders.place(order);
  }
}

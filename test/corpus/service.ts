// The service every mapping of the bad-mapping corpus is checked against (unless a case brings its own
// `NN-name.service.ts`): one state class per situation a mapping can get wrong.
import { state } from 'durability-compiler';

export interface Address {
  street: string;
  city: string;
}

export interface Customer {
  id: string;
  name: string;
  address: Address;
}

export class Counter {
  private value = 0;

  setValue(value: number): void {
    this.value = value;
  }

  getValue(): number {
    return this.value;
  }

  snapshot(): number {
    return this.value;
  }

  load(value: number): void {
    this.value = value;
  }
}

export class Ledger {
  private balances = new Map<string, number>();

  insertBill(clientId: string, balance: number): void {
    this.balances.set(clientId, balance);
  }

  setBill(clientId: string, balance: number): void {
    this.balances.set(clientId, balance);
  }

  getBill(clientId: string): number | undefined {
    return this.balances.get(clientId);
  }
}

export class Customers {
  private byId = new Map<string, Customer>();

  register(customer: Customer): void {
    this.byId.set(customer.id, customer);
  }

  load(id: string, name: string, street: string, city: string): void {
    this.byId.set(id, { id, name, address: { street, city } });
  }

  find(id: string): Customer | undefined {
    return this.byId.get(id);
  }
}

export class Tickets {
  private issued: string[] = [];
  private lastIssued = 0;

  issue(): string {
    const id = crypto.randomUUID();
    this.issued.push(id);
    this.touch();
    return id;
  }

  cancel(id: string): void {
    const index = this.issued.indexOf(id);
    if (index >= 0) this.issued.splice(index, 1);
  }

  private touch(): void {
    this.lastIssued = Date.now();
  }

  count(): number {
    return this.issued.length;
  }
}

export class Sessions {
  private open = new Set<string>();

  start(id: string): void {
    this.open.add(id);
  }

  reset(): void {
    this.open.clear();
  }
}

export class CorpusService {
  @state counter = new Counter();
  @state ledger = new Ledger();
  @state customers = new Customers();
  @state tickets = new Tickets();
  @state sessions = new Sessions();
  plain = new Counter();
}

import { state } from 'durability-compiler';

export class Accounts {
  private balances = new Map<string, number>();

  open(id: string, balance: number): void {
    if (this.balances.has(id)) throw new Error(`account ${id} exists`);
    this.balances.set(id, balance);
  }

  set(id: string, balance: number): void {
    this.balances.set(id, balance);
  }

  balance(id: string): number {
    const b = this.balances.get(id);
    if (b === undefined) throw new Error(`no account ${id}`);
    return b;
  }

  all(): [string, number][] {
    return [...this.balances.entries()].sort();
  }
}

export class LedgerService {
  @state accounts = new Accounts();

  open(id: string, initial: number): number {
    this.accounts.open(id, initial);
    return this.total();
  }

  transfer(from: string, to: string, amount: number): number {
    this.debit(from, amount);
    this.credit(to, amount);
    return this.total();
  }

  private debit(id: string, amount: number): void {
    const balance = this.accounts.balance(id);
    if (balance < amount) throw new Error(`insufficient funds in ${id}`);
    this.accounts.set(id, balance - amount);
  }

  private credit(id: string, amount: number): void {
    this.accounts.set(id, this.accounts.balance(id) + amount);
  }

  private total(): number {
    return this.accounts.all().reduce((sum, [, b]) => sum + b, 0);
  }

  dump(): [string, number][] {
    return this.accounts.all();
  }
}

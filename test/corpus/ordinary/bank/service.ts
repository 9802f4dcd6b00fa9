// A bank whose accounts live in the database: protected helpers in a base class, a getter, snapshots
// built with standard functions that only read the state.
import { state } from 'durability-compiler';

export abstract class Ledger {
  protected balances = new Map<string, number>();

  protected credit(id: string, amount: number): void {
    this.balances.set(id, (this.balances.get(id) ?? 0) + amount);
  }

  balance(id: string): number {
    return this.balances.get(id) ?? 0;
  }
}

export class Accounts extends Ledger {
  open(id: string, initial: number): void {
    if (this.balances.has(id)) throw new Error(`account ${id} exists`);
    this.balances.set(id, initial);
  }

  deposit(id: string, amount: number): void {
    this.credit(id, amount);
  }

  withdraw(id: string, amount: number): void {
    const current = this.balance(id);
    if (current < amount) throw new Error(`insufficient funds in ${id}`);
    this.balances.set(id, current - amount);
  }

  get total(): number {
    let sum = 0;
    for (const value of this.balances.values()) sum += value;
    return sum;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.balances);
  }

  describe(): string {
    return JSON.stringify(Object.entries(this.snapshot()).sort(([a], [b]) => a.localeCompare(b)));
  }
}

export class BankService {
  @state accounts = new Accounts();

  open(id: string, initial = 0): number {
    this.accounts.open(id, initial);
    return this.accounts.balance(id);
  }

  transfer(from: string, to: string, amount: number): number {
    if (amount <= 0) throw new Error('amount must be positive');
    this.accounts.withdraw(from, amount);
    this.accounts.deposit(to, amount);
    return this.accounts.total;
  }

  statement(): { balances: Record<string, number>; text: string } {
    return { balances: this.accounts.snapshot(), text: this.accounts.describe() };
  }
}

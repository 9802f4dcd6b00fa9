import { state } from 'durability-compiler';

export class Ledger {
  private balances = new Map<string, number>();
  /** Rebuilds a balance from its row: recovery's <apply>. */
  load(account: string, balance: number): void {
    this.balances.set(account, balance);
  }
  credit(account: string, amount: number): number {
    const balance = (this.balances.get(account) ?? 0) + amount;
    this.balances.set(account, balance);
    return balance;
  }
  balance(account: string): number {
    return this.balances.get(account) ?? 0;
  }
}

export class Bank {
  @state ledger = new Ledger();
  credit(account: string, amount: number): number {
    return this.ledger.credit(account, amount);
  }
  balance(account: string): number {
    return this.ledger.balance(account);
  }
}

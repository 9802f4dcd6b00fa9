// The #private universe's service, compiled by the tester with `compileService` under each mapping
// (private.test.ts): every method is a request on the one state object.
import { state } from 'durability-compiler';
import { Bank } from './bank.js';

export class BankService {
  @state bank = new Bank();

  open(id: string, owner: string, opening: number, rate: number): number {
    return this.bank.open(id, owner, opening, rate);
  }

  deposit(id: string, n: number): number {
    return this.bank.deposit(id, n);
  }

  withdraw(id: string, n: number): number {
    return this.bank.withdraw(id, n);
  }

  transfer(from: string, to: string, n: number): void {
    this.bank.transfer(from, to, n);
  }

  accrue(id: string): number {
    return this.bank.accrue(id);
  }

  close(id: string): boolean {
    return this.bank.close(id);
  }

  balance(id: string): number {
    return this.bank.balance(id);
  }

  dump(): Record<string, unknown> {
    return this.bank.dump();
  }
}

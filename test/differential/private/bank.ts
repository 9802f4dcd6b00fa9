// The #private universe's state classes, written as modern TypeScript is: `#private` fields and
// methods everywhere, held inside state (a Map of accounts), a subclass with its own private field, a
// static factory, getters. Issue 11 item 8: this must work; the build owns its copy of these sources
// and may rewrite the private members into ones the membrane sees. The tester imports this file as the
// original and compares it with the compiled build through public methods only (`dump()`), since
// `#private` state is invisible from outside by design.
export class Account {
  #balance: number;
  #history: number[] = [];

  constructor(
    readonly owner: string,
    opening: number,
  ) {
    this.#balance = opening;
  }

  static open(owner: string, opening: number): Account {
    if (!Number.isInteger(opening) || opening < 0) throw new RangeError(`an opening balance is a whole number from 0, not ${opening}`);
    return new Account(owner, opening);
  }

  get balance(): number {
    return this.#balance;
  }

  deposit(n: number): number {
    this.#check(n);
    this.#balance += n;
    this.#history.push(n);
    return this.#balance;
  }

  withdraw(n: number): number {
    this.#check(n);
    if (n > this.#balance) throw new RangeError(`${this.owner} has ${this.#balance}, cannot withdraw ${n}`);
    this.#balance -= n;
    this.#history.push(-n);
    return this.#balance;
  }

  summary(): Record<string, unknown> {
    return { kind: this.constructor.name, owner: this.owner, balance: this.#balance, history: [...this.#history] };
  }

  #check(n: number): void {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`amounts are whole numbers above 0, not ${n}`);
  }
}

export class SavingsAccount extends Account {
  #rate: number;

  constructor(owner: string, opening: number, rate: number) {
    super(owner, opening);
    this.#rate = rate;
  }

  static openSavings(owner: string, opening: number, rate: number): SavingsAccount {
    Account.open(owner, opening); // the same checks
    return new SavingsAccount(owner, opening, rate);
  }

  accrue(): number {
    const interest = Math.floor(this.balance * this.#rate);
    if (interest > 0) this.deposit(interest);
    return interest;
  }

  override summary(): Record<string, unknown> {
    return { ...super.summary(), rate: this.#rate };
  }
}

export class Bank {
  #accounts = new Map<string, Account>();
  #closed = 0;

  get size(): number {
    return this.#accounts.size;
  }

  open(id: string, owner: string, opening: number, rate: number): number {
    if (this.#accounts.has(id)) throw new Error(`account ${id} exists`);
    this.#accounts.set(id, rate > 0 ? SavingsAccount.openSavings(owner, opening, rate) : Account.open(owner, opening));
    return this.size;
  }

  deposit(id: string, n: number): number {
    return this.#find(id).deposit(n);
  }

  withdraw(id: string, n: number): number {
    return this.#find(id).withdraw(n);
  }

  /** Takes from one account, then pays into the other: a missing or refusing target fails after the first change. */
  transfer(from: string, to: string, n: number): void {
    this.#find(from).withdraw(n);
    this.#find(to).deposit(n);
  }

  accrue(id: string): number {
    const account = this.#find(id);
    if (!(account instanceof SavingsAccount)) throw new TypeError(`account ${id} earns no interest`);
    return account.accrue();
  }

  close(id: string): boolean {
    const closed = this.#accounts.delete(id);
    if (closed) this.#closed++;
    return closed;
  }

  balance(id: string): number {
    return this.#find(id).balance;
  }

  dump(): Record<string, unknown> {
    return { size: this.size, closed: this.#closed, accounts: [...this.#accounts].map(([id, a]) => ({ id, ...a.summary() })) };
  }

  #find(id: string): Account {
    const account = this.#accounts.get(id);
    if (!account) throw new RangeError(`no account ${id}`);
    return account;
  }
}

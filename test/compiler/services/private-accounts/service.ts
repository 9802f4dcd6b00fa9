// State whose classes keep their data in #private members, in every form the language has: fields,
// methods, accessors, static ones, brand checks (`#x in o`), another instance's (`other.#x`), compound
// assignments, a static factory, private methods called from arrow functions, a subclass with its own #x
// of the same name, a generic class, a class expression, classes nested in a function and in a static
// field. The case is Account in a Map<string, Account>.
import { state } from 'durability-compiler';

export class Account {
  static #opened = 0;
  static readonly Auditor = class {
    // A class nested in Account's body reads Account's private names.
    solvent(account: Account): boolean {
      return account.#balance >= 0 && !account.#frozen;
    }
  };

  readonly #id: string;
  #balance = 0;
  #history: number[] = [];
  #frozen?: boolean;
  #note: string;

  constructor(id: string) {
    this.#id = id;
    this.#note = '';
    Account.#opened++;
  }

  static open(id: string, initial: number): Account {
    const account = new this(id);
    if (initial > 0) account.#credit(initial);
    return account;
  }

  static get opened(): number {
    return Account.#opened;
  }

  static isAccount(value: unknown): value is Account {
    return typeof value === 'object' && value !== null && #balance in value;
  }

  static canCredit(value: object): boolean {
    return #credit in value;
  }

  static #count(accounts: Iterable<Account>): number {
    let n = 0;
    for (const a of accounts) if (#id in a) n++;
    return n;
  }

  static count(accounts: Iterable<Account>): number {
    return Account.#count(accounts);
  }

  get id(): string {
    return this.#id;
  }

  get balance(): number {
    return this.#balance;
  }

  get #limit(): number {
    return this.#frozen ? 0 : 1000;
  }

  set #limit(value: number) {
    this.#note = `limit ${value} asked`;
  }

  deposit(amount: number): void {
    if (amount <= 0) throw new Error(`deposit of ${amount}: must be positive`);
    if (amount > this.#limit) {
      this.#limit = amount;
      throw new Error(`deposit of ${amount} is over the limit of ${this.#limit}`);
    }
    this.#credit(amount);
  }

  /** Changes the balance, then throws when it went below zero: the change must be rolled back. */
  withdraw(amount: number): void {
    this.#balance -= amount;
    this.#history.push(-amount);
    if (this.#balance < 0) throw new Error(`insufficient funds in ${this.#id}`);
  }

  transferTo(other: Account, amount: number): void {
    this.withdraw(amount);
    other.#balance += amount;
    other.#history.push(amount);
  }

  compare(other?: Account): number {
    return this.#balance - (other ? other.#balance : 0);
  }

  freeze(): void {
    this.#frozen ??= true;
    this.#note ||= 'frozen';
  }

  recent(count: number): string[] {
    return this.#history.slice(-count).map((h) => this.#describe(h));
  }

  #credit(amount: number): void {
    this.#balance += amount;
    this.#history.push(amount);
  }

  #describe(amount: number): string {
    return `${amount < 0 ? 'out' : 'in'} ${Math.abs(amount)}`;
  }

  summary(): { id: string; balance: number; history: number[]; frozen: boolean; note: string } {
    return { id: this.#id, balance: this.#balance, history: [...this.#history], frozen: this.#frozen ?? false, note: this.#note };
  }
}

/** Its own #balance is a different member from Account's: the interest it accrued. */
export class SavingsAccount extends Account {
  #balance = 0;

  override deposit(amount: number): void {
    super.deposit(amount);
    this.#balance += Math.floor(amount / 10);
  }

  get interest(): number {
    return this.#balance;
  }

  static isSavings(value: object): boolean {
    return #balance in value;
  }
}

export class Box<T> {
  #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  static holds(value: object): boolean {
    return #value in value && (value as Box<unknown>).#value !== undefined;
  }
  get value(): T {
    return this.#value;
  }
}

export const Tally = class {
  #n = 0;
  add(k: number): this {
    this.#n += k;
    return this;
  }
  static is(value: object): boolean {
    return #n in value;
  }
  get n(): number {
    return this.#n;
  }
};

/** A class declared in a function, with a private name of its own. */
function lines(accounts: Account[]): { text: string[]; branded: boolean } {
  class Line {
    #text: string;
    constructor(text: string) {
      this.#text = text;
    }
    static is(value: object): boolean {
      return #text in value;
    }
    toString(): string {
      return this.#text;
    }
  }
  const made = accounts.map((a) => new Line(`${a.id}: ${a.balance}`));
  return { text: made.map(String), branded: made.every((l) => Line.is(l)) && !Line.is({ text: 'x' }) };
}

export class Bank {
  accounts = new Map<string, Account>();
  labels: Box<string>[] = [];

  open(id: string, savings: boolean, initial: number): void {
    if (this.accounts.has(id)) throw new Error(`account ${id} exists`);
    this.accounts.set(id, savings ? SavingsAccount.open(id, initial) : Account.open(id, initial));
  }

  deposit(id: string, amount: number): void {
    this.get(id).deposit(amount);
  }

  withdraw(id: string, amount: number): void {
    this.get(id).withdraw(amount);
  }

  transfer(from: string, to: string, amount: number): void {
    this.get(from).transferTo(this.get(to), amount);
  }

  freeze(id: string): void {
    this.get(id).freeze();
  }

  label(text: string): void {
    this.labels.push(new Box(text));
  }

  private get(id: string): Account {
    const account = this.accounts.get(id);
    if (!account) throw new Error(`no account ${id}`);
    return account;
  }

  report(): Record<string, unknown> {
    const accounts = [...this.accounts.values()];
    const auditor = new Account.Auditor();
    const tally = accounts.reduce((t, a) => t.add(a.balance), new Tally());
    const first = accounts[0];
    return {
      lines: lines(accounts),
      brands: accounts.map((a) => [Account.isAccount(a), Account.canCredit(a), SavingsAccount.isSavings(a)]),
      notAccount: Account.isAccount({ balance: 1 }),
      counted: Account.count(accounts),
      solvent: accounts.map((a) => auditor.solvent(a)),
      interest: accounts.map((a) => (a instanceof SavingsAccount ? a.interest : null)),
      compared: first ? accounts.map((a) => a.compare(first)) : [],
      comparedToNone: first?.compare(undefined) ?? null,
      recent: accounts.map((a) => a.recent(2)),
      tally: Tally.is(tally) ? tally.n : -1,
      boxes: this.labels.map((b) => [Box.holds(b), b.value]),
    };
  }

  dump(): unknown {
    return [...this.accounts.values()].map((a) => ({ ...a.summary(), interest: a instanceof SavingsAccount ? a.interest : null }));
  }
}

export class BankService {
  @state bank = new Bank();

  open(id: string, savings: boolean, initial: number): void {
    this.bank.open(id, savings, initial);
  }
  deposit(id: string, amount: number): void {
    this.bank.deposit(id, amount);
  }
  withdraw(id: string, amount: number): void {
    this.bank.withdraw(id, amount);
  }
  transfer(from: string, to: string, amount: number): void {
    this.bank.transfer(from, to, amount);
  }
  freeze(id: string): void {
    this.bank.freeze(id);
  }
  label(text: string): void {
    this.bank.label(text);
  }
  report(): Record<string, unknown> {
    return this.bank.report();
  }
  dump(): unknown {
    return this.bank.dump();
  }
}

// State classes as modern TypeScript writes them: #private members, protected helpers, mixins, async
// methods under repeat; and what a replicated or database object must not hold (functions).
import { describe, expect, it } from 'vitest';
import { check, codes, databaseMapping, updateMethods } from './support.js';

describe('#private members', () => {
  it('are supported in state classes: fields, methods and accessors, each analysed like a private one', async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
export class Account {
  #balance = 0;
  #history: number[] = [];
  get #total(): number { return this.#history.reduce((a, b) => a + b, 0); }
  set #last(value: number) { this.#history.push(value); }
  deposit(amount: number): void { this.#apply(amount); }
  audit(): void { this.#last = this.#total; }
  balance(): number { return this.#balance; }
  #apply(amount: number): void { this.#balance += amount; this.#history.push(amount); }
}
export class Bank { @state account = new Account(); }
`,
      },
      databaseMapping('Bank', 'account', 'deposit', ['deposit', 'audit'], 'amount'),
    );
    expect(checked.lines).toEqual([]);
    expect(updateMethods(checked, 'account')).toEqual(['audit', 'deposit']);
  });

  it('still cannot carry @state on the service (DUR2013), and arrow properties and built-in bases are still refused (DUR2014)', async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
export class Tags extends Set<string> {}
export class Counter { n = 0; inc = () => { this.n++; }; }
export class Svc {
  @state #hidden = new Counter();
  @state tags = new Tags();
  @state counter = new Counter();
}
`,
      },
      `<durability service="Svc"><state name="tags" type="replication"/><state name="counter" type="replication"/></durability>`,
    );
    expect(codes(checked)).toEqual(['DUR2014@service.ts:2', 'DUR2014@service.ts:3', 'DUR2013@service.ts:5']);
  });
});

describe('protected helpers', () => {
  it('are exempt from DUR2006 like private ones, in the class and in a base class', async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
export abstract class Store { protected rows: string[] = []; protected append(row: string): void { this.rows.push(row); } }
export class Log extends Store {
  protected trim(): void { this.rows.splice(0, 1); }
  add(row: string): void { this.append(row); if (this.rows.length > 10) this.trim(); }
  size(): number { return this.rows.length; }
}
export class Svc { @state log = new Log(); }
`,
      },
      databaseMapping('Svc', 'log', 'add', ['add'], 'row'),
    );
    expect(checked.lines).toEqual([]);
  });
});

describe('DUR2022: functions in replicated and database state', () => {
  const files = {
    'service.ts': `import { state } from 'durability-compiler';
export interface Options { retries: number; onRetry?: (n: number) => void }
export class Account { id = ''; notify = (s: string) => console.log(s); }
export class Bus {
  private handlers = new Map<string, Array<(e: string) => void>>();
  private options: Options = { retries: 3 };
  on(event: string, handler: (e: string) => void): void { this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]); }
}
export class Plain {
  private rows: { id: string; at: Date }[] = [];
  private accounts: Account[] = [];
  private anything: unknown[] = [];
  add(id: string): void { this.rows.push({ id, at: new Date() }); this.anything.push(JSON.parse('{}')); }
  later(): void { this.anything.push(this.add.bind(this)); }
}
export class Svc { @state bus = new Bus(); @state plain = new Plain(); }
`,
  };

  it('reports fields whose type holds functions and functions stored where the type does not say', async () => {
    const checked = await check(files, `<durability service="Svc"><state name="bus" type="replication"/><state name="plain" type="replication"/></durability>`);
    expect(codes(checked)).toEqual(['DUR2022@service.ts:5', 'DUR2022@service.ts:6', 'DUR2022@service.ts:11', 'DUR2022@service.ts:14']);
    expect(checked.lines[0]).toContain("its field 'handlers' has type 'Map<string, ((e: string) => void)[]>', whose elements are functions");
    expect(checked.lines[1]).toContain("whose member 'onRetry' is a function");
    expect(checked.lines[3]).toContain('Plain.later stores this.add.bind(this) into the state object');
  });

  it('says nothing for reconstructed or unprotected objects, which are never shipped or stored', async () => {
    const checked = await check(files, `<durability service="Svc"><state name="bus" type="reconstruction"/><state name="plain" type="none"/></durability>`);
    expect(checked.lines).toEqual([]);
  });
});

describe('update="repeat" on async methods', () => {
  it('is no longer reported: the run-time ships their changes (DUR2016 retired)', async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
export class Cache {
  private entries = new Map<string, string>();
  async load(key: string): Promise<string> { const value = await Promise.resolve(key.toUpperCase()); this.entries.set(key, value); return value; }
}
export class Svc { @state cache = new Cache(); }
`,
      },
      `<durability service="Svc"><state name="cache" type="replication" update="repeat"/></durability>`,
    );
    expect(checked.lines).toEqual([]);
  });
});

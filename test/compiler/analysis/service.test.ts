// The service's side: which state objects each public method touches and updates, whatever path it takes
// to them, and what its code does that durability cannot follow (DUR2015, DUR2018, DUR2019, DUR2021),
// with the correct versions of each pattern checking silently.
import { describe, expect, it } from 'vitest';
import { check, codes, touches } from './support.js';

const CLASSES = `import { state } from 'durability-compiler';
export class Log {
  entries: string[] = [];
  add(e: string): void { this.entries.push(e); }
  size(): number { return this.entries.length; }
}
export class Cart {
  items: string[] = [];
  add(i: string): void { this.items.push(i); }
  clear(): void { this.items.length = 0; }
}
`;

const REPLICATED = `<durability service="Shop">
  <state name="log" type="replication"/>
  <state name="cart" type="replication"/>
</durability>
`;

describe('touches: every path to a state object', () => {
  it('follows destructuring, aliases of `this`, computed keys, getters, helpers, static methods and arrow fields', async () => {
    const checked = await check(
      {
        'service.ts': `${CLASSES}
function audit(shop: Shop, what: string): void { shop.log.add(what); }
export class Shop {
  @state log = new Log();
  @state cart = new Cart();
  private get journal(): Log { return this.log; }
  private handle = (e: string) => this.cart.add(e);
  static record(shop: Shop, e: string): void { shop.log.add(e); }
  destructured(): number { const { cart } = this; return cart.items.length; }
  aliased(e: string): void { const self = this; self.log.add(e); }
  keyed(key: 'log' | 'cart'): number { return this[key].constructor.length; }
  anyKey(key: string): unknown { return (this as unknown as Record<string, unknown>)[key]; }
  viaGetter(e: string): void { this.journal.add(e); }
  viaHelper(): void { audit(this, 'x'); }
  viaStatic(): void { Shop.record(this, 'y'); }
  viaArrow(): void { this.handle('z'); }
  viaBound(): void { const add = this.cart.add.bind(this.cart); add('w'); }
  viaOptional(): number { return this.cart?.items.length ?? 0; }
  nothing(): number { return 1; }
}
`,
      },
      REPLICATED,
    );
    expect(checked.lines).toEqual([]);
    expect(touches(checked, 'destructured')).toEqual({ touches: ['cart'], updates: [] });
    expect(touches(checked, 'aliased')).toEqual({ touches: ['log'], updates: ['log'] });
    expect(touches(checked, 'keyed')).toEqual({ touches: ['log', 'cart'], updates: [] });
    expect(touches(checked, 'anyKey')).toEqual({ touches: ['log', 'cart'], updates: [] });
    expect(touches(checked, 'viaGetter')).toEqual({ touches: ['log'], updates: ['log'] });
    expect(touches(checked, 'viaHelper')).toEqual({ touches: ['log'], updates: ['log'] });
    expect(touches(checked, 'viaStatic')).toEqual({ touches: ['log'], updates: ['log'] });
    expect(touches(checked, 'viaArrow')).toEqual({ touches: ['cart'], updates: ['cart'] });
    expect(touches(checked, 'viaBound')).toEqual({ touches: ['cart'], updates: ['cart'] });
    expect(touches(checked, 'viaOptional')).toEqual({ touches: ['cart'], updates: [] });
    expect(touches(checked, 'nothing')).toEqual({ touches: [], updates: [] });
    expect(checked.methods?.map((m) => m.name)).not.toContain('journal');
  });
});

describe('DUR2015: state stored beyond the request', () => {
  it('reports objects of state stored in module variables, service fields and globalThis, not numbers, strings or copies of them', async () => {
    const checked = await check(
      {
        'service.ts': `${CLASSES}
let lastItems: string[] = [];
let lastCount = 0;
const registry = new Map<string, Log>();
export class Shop {
  @state log = new Log();
  @state cart = new Cart();
  private seen: string[] = [];
  private recent: Log | undefined;
  keep(): void { lastItems = this.cart.items; }
  field(): void { this.recent = this.log; }
  mapped(): void { registry.set('x', this.log); }
  global(): void { (globalThis as Record<string, unknown>).cart = this.cart; }
  counts(): void { lastCount = this.cart.items.length; this.seen = this.cart.items.slice(); lastItems = [...this.log.entries]; }
  first(): string { const first = this.cart.items[0] ?? ''; this.seen.push(first); return first; }
}
`,
      },
      REPLICATED,
    );
    expect(codes(checked)).toEqual(['DUR2015@service.ts:21', 'DUR2015@service.ts:22', 'DUR2015@service.ts:23', 'DUR2015@service.ts:24']);
    expect(checked.lines[2]).toContain("stores the state object 'log' (or something inside it) in the module-level object 'registry'");
  });
});

describe('DUR2018: state reached after the request', () => {
  it('reports timers, listeners and promises nobody awaits, at the state access; not what the request awaits or returns', async () => {
    const checked = await check(
      {
        'service.ts': `${CLASSES}
import { EventEmitter } from 'node:events';
import { setTimeout as later } from 'node:timers';
const bus = new EventEmitter();
export class Shop {
  @state log = new Log();
  @state cart = new Cart();
  timer(): void { setInterval(() => this.cart.add('tick'), 1000); }
  renamed(): void { later(() => { this.log.add('late'); }, 10); }
  listener(): void { bus.once('go', this.onGo.bind(this)); }
  floating(): void { Promise.resolve().then(() => 1).finally(() => this.log.add('done')); }
  voided(): void { void Promise.resolve().catch(() => this.log.add('failed')); }
  private onGo(): void { this.cart.clear(); }
  async awaited(): Promise<void> { await Promise.resolve().then(() => this.log.add('in request')); }
  returned(): Promise<number> { return Promise.resolve(2).then((n) => { this.log.add(String(n)); return n; }); }
  async paused(): Promise<void> { await new Promise<void>((resolve) => setTimeout(resolve, 1)); this.cart.add('after pause'); }
  stateless(): void { setTimeout(() => console.log('no state here'), 1); }
}
`,
      },
      REPLICATED,
    );
    expect(codes(checked)).toEqual(['DUR2018@service.ts:19', 'DUR2018@service.ts:20', 'DUR2018@service.ts:21', 'DUR2018@service.ts:22', 'DUR2018@service.ts:23']);
    expect(checked.lines[0]).toMatch(
      /^service\.ts:19:37 - error DUR2018: Shop\.timer reaches the state object 'cart' from a callback passed to setInterval\(\) at service\.ts:19:19, which runs after the request has ended/,
    );
    expect(checked.lines[2]).toMatch(/service\.ts:21:37 - error DUR2018: Shop\.listener reaches the state object 'cart' from a callback passed to bus\.once\(\)/);
  });

  it('knows the other registrations by what they resolve to: setImmediate, addListener, prependListener, addEventListener', async () => {
    const checked = await check(
      {
        'service.ts': `${CLASSES}
import { EventEmitter } from 'node:events';
class Emitter extends EventEmitter {}
const emitter = new Emitter();
const target = new EventTarget();
export class Shop {
  @state log = new Log();
  @state cart = new Cart();
  immediate(): void { setImmediate(() => this.log.add('i')); }
  added(): void { emitter.addListener('x', () => this.cart.add('a')); }
  prepended(): void { emitter.prependListener('x', () => this.log.add('p')); }
  dom(): void { target.addEventListener('x', () => this.cart.clear()); }
  // Not a timer: the service's own function that happens to be called setTimeout runs at once.
  own(): void { setTimeout(() => this.log.add('now')); }
}
function setTimeout(run: () => void): void { run(); }
`,
      },
      REPLICATED,
    );
    expect(codes(checked)).toEqual(['DUR2018@service.ts:20', 'DUR2018@service.ts:21', 'DUR2018@service.ts:22', 'DUR2018@service.ts:23']);
  });

  it('reports a state class scheduling work on its own object, unless the object is unprotected', async () => {
    const files = {
      'service.ts': `import { state } from 'durability-compiler';
export class Ticker {
  ticks = 0;
  private timer = setInterval(() => this.ticks++, 1000);
  start(): void { setTimeout(() => { this.ticks = 0; }, 5); }
}
export class Clock { @state ticker = new Ticker(); }
`,
    };
    const protectedObject = await check(files, `<durability service="Clock"><state name="ticker" type="reconstruction"/></durability>`);
    expect(codes(protectedObject)).toEqual(['DUR2018@service.ts:4', 'DUR2018@service.ts:5']);
    expect(protectedObject.lines[1]).toContain("Ticker.start reaches its own state (state object 'ticker') from a callback passed to setTimeout()");
    const unprotected = await check(files, `<durability service="Clock"><state name="ticker" type="none"/></durability>`);
    expect(unprotected.lines).toEqual([]);
  });
});

describe('DUR2019: a state field replaced', () => {
  it('reports assignments, logical and destructuring assignments, through aliases and helpers; not the constructor', async () => {
    const checked = await check(
      {
        'service.ts': `${CLASSES}
export class Shop {
  @state log = new Log();
  @state cart = new Cart();
  constructor() { this.cart = new Cart(); }
  reset(): void { this.cart = new Cart(); }
  lazy(): void { this.cart ||= new Cart(); }
  swap(): void { ({ cart: this.cart } = { cart: new Cart() }); }
  keyed(): void { this['log'] = new Log(); }
  aliased(): void { const self = this; self.log = new Log(); }
  fine(): void { this.cart.clear(); }
}
`,
      },
      REPLICATED,
    );
    expect(codes(checked)).toEqual(['DUR2019@service.ts:17', 'DUR2019@service.ts:18', 'DUR2019@service.ts:19', 'DUR2019@service.ts:20', 'DUR2019@service.ts:21']);
  });
});

describe('DUR2021: writes into a database object outside its methods', () => {
  const files = {
    'service.ts': `import { state } from 'durability-compiler';
export interface Row { id: string; n: number }
export class Table {
  rows = new Map<string, Row>();
  count = 0;
  put(row: Row): void { this.rows.set(row.id, row); this.count++; }
  get(id: string): Row | undefined { return this.rows.get(id); }
  copy(id: string): Row | undefined { const r = this.rows.get(id); return r ? { ...r } : undefined; }
  bump(row: Row): void { row.n++; }
}
export class Svc {
  @state table = new Table();
  @state cache = new Table();
  direct(): void { this.table.count = 0; }
  returned(id: string): void { const r = this.table.get(id); if (r) r.n = 0; }
  afterHanding(id: string): void { const r = { id, n: 0 }; this.table.put(r); r.n = 1; }
  viaMethod(id: string): void { const r = this.table.get(id); if (r) this.table.bump(r); }
  beforeHanding(id: string): void { const r = { id, n: 0 }; r.n = 1; this.table.put(r); }
  onCopy(id: string): void { const r = this.table.copy(id); if (r) r.n = 5; }
  replicated(): void { this.cache.count = 0; }
  crossObject(id: string): void { const r = this.table.get(id); if (r) this.cache.bump(r); }
}
`,
  };
  const mapping = `<durability service="Svc">
  <state name="table" type="database">
    <recovery><query>SELECT id, n FROM t</query><apply method="put" args="row"/></recovery>
    <method name="put"><sql>INSERT INTO t VALUES (arg[0].id, arg[0].n)</sql></method>
    <method name="bump"><sql>UPDATE t SET n = n + 1 WHERE id = arg[0].id</sql></method>
  </state>
  <state name="cache" type="replication"/>
</durability>
`;

  it("reports direct writes, writes to what a method returned or was given, and writes from another object's method", async () => {
    const checked = await check(files, mapping);
    expect(codes(checked)).toEqual(['DUR2021@service.ts:9', 'DUR2021@service.ts:14', 'DUR2021@service.ts:15', 'DUR2021@service.ts:16']);
    expect(checked.lines[1]).toContain("Svc.direct writes into the database state object 'table' outside its own methods (it assigns this.table.count)");
    expect(checked.lines[1]).toContain('Make the change through one of the mapped methods of Table (put, bump)');
    // Called through the cache's method, bump writes a row of the table: that is outside the table's methods.
    expect(checked.lines[0]).toContain("Table.bump writes into the database state object 'table'");
  });

  it('a method the service calls with a piece of the object, which it changes, is an update method', async () => {
    const checked = await check(files, mapping);
    const bump = checked.service?.stateFields.find((f) => f.name === 'table')?.stateClass?.methods.get('bump');
    expect(bump?.updates?.description).toBe('increments row.n');
    expect(checked.lines.join('\n')).not.toContain('DUR2010');
  });
});

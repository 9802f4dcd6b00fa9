// Issue 16's families of ordinary code that changes database state on paths an analysis may miss: each
// ends as "works" (the change happens inside a mapped call, whose SQL stores it, and a restart gets it
// back) or as a refusal (no mapped SQL stores it: the request fails and nothing is kept). Never
// acknowledged-then-lost. The run-time's guard does not depend on how the write was reached.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { harness } from './support.js';

interface Item {
  id: string;
  qty: number;
}

function bump(item: Item): void {
  item.qty++;
}

const Versioned = <B extends new (...args: any[]) => object>(Base: B) =>
  class extends Base {
    version = 0;
    touch(): void {
      this.version++;
    }
  };

class Base {}

class Stock extends Versioned(Base) {
  items = new Map<string, Item>();
  seq = 0;
  callbacks: (() => void)[] = [];

  add(id: string, qty: number): void {
    this.items.set(id, { id, qty });
  }
  /** Mapped: every path below runs inside it, so its SQL (which re-reads qty) describes it. */
  restock(id: string): void {
    const item = this.items.get(id)!;
    this.helper(item);
  }
  /** Unmapped: the same paths, outside any mapped call. */
  sneak(id: string, how: string): void {
    const item = this.items.get(id)!;
    switch (how) {
      case 'helper':
        return this.helper(item);
      case 'values':
        for (const i of Object.values(Object.fromEntries(this.items))) i.qty++;
        return;
      case 'spread':
        for (const i of [...this.items.values()].filter((x) => x.id === id)) i.qty++;
        return;
      case 'named':
        return [...this.items.values()].forEach(bump);
      case 'static':
        return Stock.adjust(this, id);
      case 'reduce':
        [1, 2].reduce((acc) => (acc.seq++, acc), this);
        return;
      case 'mixin':
        return this.touch();
      case 'closure':
        this.callbacks.push(() => void this.seq++);
        return;
    }
  }
  runCallbacks(): void {
    for (const cb of this.callbacks) cb();
  }
  get nextId(): number {
    return ++this.seq;
  }
  private helper(item: Item): void {
    item.qty += 10;
  }
  static adjust(stock: Stock, id: string): void {
    stock.items.get(id)!.qty = 0;
  }
  restore(id: string, qty: number): void {
    this.items.set(id, { id, qty });
  }
}

const xml = `<state name="s" type="database">
  <initialization>CREATE TABLE IF NOT EXISTS stock (id VARCHAR(64) PRIMARY KEY, qty INTEGER NOT NULL)</initialization>
  <recovery><query>SELECT id, qty FROM stock</query><apply method="restore" args="id, qty"/></recovery>
  <method name="add"><sql>INSERT INTO stock (id, qty) VALUES (arg[0], arg[1])</sql></method>
  <method name="restock"><sql>UPDATE stock SET qty = qty + 10 WHERE id = arg[0]</sql></method>
</state>`;

describe.skipIf(optedOut('sqlite'))('database state reached on paths an analysis may miss', () => {
  let db: ScratchDatabase;
  beforeEach(async () => {
    db = await openScratchDatabase('sqlite');
  });
  afterEach(async () => {
    await db.dispose();
  });

  it('inside a mapped call: works, and a restart gets it back', async () => {
    const h = await harness(xml, () => new Stock(), [Stock], { database: db, backups: 0 });
    await h.run((s) => s.add('a', 1));
    expect(await h.run((s) => s.restock('a'))).toEqual({ kind: 'ok', result: undefined });
    const recovered = (await h.recover()).proxies.get('s') as unknown as { rawObject: Stock };
    expect(recovered.rawObject.items.get('a')).toEqual({ id: 'a', qty: 11 });
  });

  it.each(['helper', 'values', 'spread', 'named', 'static', 'reduce', 'mixin', 'closure'])('outside any mapped call (%s): refused, nothing kept', async (how) => {
    const h = await harness(xml, () => new Stock(), [Stock], { database: db, backups: 0 });
    await h.run((s) => s.add('a', 1));
    const out = await h.run((s) => s.sneak('a', how));
    expect(out).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3001') });
    expect(h.raw().items.get('a')).toEqual({ id: 'a', qty: 1 });
    expect(h.raw().seq + h.raw().version + h.raw().callbacks.length).toBe(0);
  });

  it('a getter that changes the object, and service code writing into it: refused', async () => {
    const h = await harness(xml, () => new Stock(), [Stock], { database: db, backups: 0 });
    await h.run((s) => s.add('a', 1));
    expect(await h.run((s) => s.nextId)).toMatchObject({ kind: 'refused' });
    expect(await h.run((s) => void s.items.get('a')!.qty++)).toMatchObject({ kind: 'refused' });
    expect(await h.run((s) => void Reflect.set(s.items.get('a')!, 'qty', 7))).toMatchObject({ kind: 'refused' });
    expect(h.raw().items.get('a')).toEqual({ id: 'a', qty: 1 });
  });
});

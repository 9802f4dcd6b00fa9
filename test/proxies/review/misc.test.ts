import { describe, expect, it } from 'vitest';
import { build, rawOf, shape } from './h.js';
import { cluster, stateOf } from '../support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Box {
  items: any[] = [];
  n = 0;
  private _v = 0;
  get v() {
    return this._v;
  }
  set v(x: number) {
    this._v = x;
    this.n++;
  }
  async slowAdd(x: unknown) {
    await sleep(10);
    this.items.push(x);
  }
  addAndMark(o: any) {
    o.marked = true;
    this.items.push(o);
    return o;
  }
  first() {
    return this.items[0];
  }
  bump() {
    this.n++;
  }
}
class Sub extends Box {
  extra = 1;
}

describe('misc', () => {
  it("a failed request's still-running state method does not leak into the next request", async () => {
    const x = `<durability service="S"><state name="b" type="replication" update="state"/></durability>`;
    const c = await build(x, [{ name: 'b', create: () => new Box() }], [Box]);
    const b = () => c.primary.object<Box>('b');
    const r1 = c.run(['b'], async () => {
      await Promise.all([b().slowAdd('from-failed-request'), Promise.reject(new Error('no'))]);
    });
    const r2 = c.run(['b'], async () => {
      await sleep(30);
      b().bump();
    });
    expect(await r1).toMatchObject({ kind: 'service-error' });
    expect(await r2).toMatchObject({ kind: 'ok' });
    expect(rawOf(c.primary, 'b').items).toEqual([]);
    expect(rawOf(c.backups[0]!, 'b').items).toEqual([]);
  });

  it('repeat and state calls interleaved on one object in one request, arguments mutated, returned objects mutated', async () => {
    const x = `<durability service="S"><state name="b" type="replication" update="repeat"><method name="bump" update="state"/></state></durability>`;
    const c = await build(x, [{ name: 'b', create: () => new Box() }], [Box]);
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      const o = b().addAndMark({ a: 1 });
      b().bump();
      b().first().a = 2; // internal object via a call, mutated by the service
      b().addAndMark({ a: 3 });
      b().items[1].a = 4;
      b().v = 7; // setter
      b().bump();
      return o.marked;
    });
    expect(shape(rawOf(c.backups[0]!, 'b'))).toEqual(shape(rawOf(c.primary, 'b')));
  });

  it('inheritance, setter, subclass instances inside state', async () => {
    const x = `<durability service="S"><state name="b" type="replication" update="state"/></durability>`;
    const c = await build(x, [{ name: 'b', create: () => new Sub() }], [Box, Sub]);
    const b = () => c.primary.object<Sub>('b');
    await c.run(['b'], () => {
      b().v = 3;
      b().items.push(new Sub());
      b().items[0].v = 9;
    });
    const out = await c.run(['b'], () => {
      b().v = 4;
      b().items[0].v = 10;
      throw new Error('x');
    });
    expect(out.kind).toBe('service-error');
    expect(shape(rawOf(c.backups[0]!, 'b'))).toEqual(shape(rawOf(c.primary, 'b')));
    expect(rawOf(c.primary, 'b').v).toBe(3);
    expect(rawOf(c.backups[0]!, 'b') instanceof Sub).toBe(true);
  });

  it('a reply that cannot be encoded: service error and nothing kept', async () => {
    const x = `<durability service="S"><state name="b" type="replication" update="state"/></durability>`;
    const c = await build(x, [{ name: 'b', create: () => new Box() }], [Box]);
    const b = () => c.primary.object<Box>('b');
    // A function in a reply is what JSON makes of it (nothing), as the original over HTTP.
    expect(await c.run(['b'], () => () => 1)).toEqual({ kind: 'ok', result: undefined });
    const out = await c.run(['b'], () => {
      b().items.push({ z: 1 });
      return {
        toJSON() {
          throw new Error('no JSON for you');
        },
      };
    });
    expect(out.kind).toBe('service-error');
    expect(rawOf(c.primary, 'b').items).toEqual([]);
    await c.run(['b'], () => {
      b().items.push({ z: 2 });
    });
    expect(shape(rawOf(c.backups[0]!, 'b'))).toEqual(shape(rawOf(c.primary, 'b')));
  });

  it('a service that throws after awaiting leaves nothing', async () => {
    const { primary, backups } = await cluster(undefined, 1);
    const out = await primary.execute({ method: 'm', touches: ['counter', 'log'] }, async () => {
      primary.object<any>('counter').setValue(5);
      await sleep(5);
      primary.object<any>('log').append('x');
      await sleep(5);
      throw new Error('late');
    });
    expect(out.kind).toBe('service-error');
    expect(stateOf(primary).counter).toBe(0);
    expect(stateOf(primary).log).toEqual([]);
    expect(stateOf(backups[0]!).log).toEqual([]);
  });

  it('a backup that fails midway through applying a record does not apply half of it twice', async () => {
    const { primary, backups, bank } = await cluster(undefined, 1);
    const replica = backups[0]!.replica;
    await bank.charge('a', 1);
    const log = rawOf(primary, 'log');
    const good = { t: 'splice', o: 1, s: 0, d: 0, v: ['dup'] };
    // object id of log.entries on the backup
    const entriesId = (backups[0]! as any).graph.ids.idOf(rawOf(backups[0]!, 'log').entries);
    good.o = entriesId;
    const batch = { epoch: 1, records: [{ seq: 2, replies: [], updates: [{ object: 'log', entries: [{ changes: [good, { t: 'set', o: 999999, k: 'x', v: 1 }] }] }] }] };
    expect(() => replica.receive(batch as any)).toThrow();
    // Half a record was applied: the replica stops following (fail-stop) rather than apply it twice.
    expect(() => replica.receive(batch as any)).toThrow(/stopped following/);
    expect(rawOf(backups[0]!, 'log').entries.length).toBe(2);
    expect(log.entries.length).toBe(1);
    // Nor does it take over with what it holds: promotion refuses, and it no longer counts as holding state.
    expect(replica.hasSnapshot).toBe(false);
    await expect(backups[0]!.promote()).rejects.toThrow(/stopped following.*rejoin from a snapshot/);
  });
});

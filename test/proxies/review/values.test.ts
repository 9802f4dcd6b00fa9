import { describe, expect, it } from 'vitest';
import { build, rawOf, shape } from './h.js';

class Box {
  when = new Date(1000);
  items: unknown[] = [];
  map = new Map<unknown, unknown>();
  set = new Set<unknown>();
  rec: Record<string, unknown> = {};
  get summary() {
    return { n: this.items.length };
  }
  async addLater(x: unknown) {
    await new Promise((r) => setTimeout(r, 5));
    this.items.push(x);
  }
  touch(t: number) {
    this.when.setTime(t);
  }
}
class Alien {
  v = 1;
}

const xml = (update: string) => `<durability service="S"><state name="b" type="replication" update="${update}"/></durability>`;
const mk = (u = 'state') => build(xml(u), [{ name: 'b', create: () => new Box() }], [Box]);

describe('values', () => {
  it('Date mutated in place is undone when the request throws', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    const out = await c.run(['b'], () => {
      b().when.setTime(5);
      throw new Error('boom');
    });
    expect(out.kind).toBe('service-error');
    expect(rawOf(c.primary, 'b').when.getTime()).toBe(1000);
  });

  it('Date mutated in place reaches the backup (state mode)', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      b().when.setTime(5);
    });
    expect(rawOf(c.backups[0]!, 'b').when.getTime()).toBe(rawOf(c.primary, 'b').when.getTime());
  });

  it('async repeat method: its changes are shipped instead of the call (a backup cannot re-run it in step)', async () => {
    const c = await mk('repeat');
    const b = () => c.primary.object<Box>('b');
    expect(
      await c.run(['b'], async () => {
        await b().addLater('x');
      }),
    ).toMatchObject({ kind: 'ok' });
    expect(rawOf(c.primary, 'b').items).toEqual(['x']);
    expect(rawOf(c.backups[0]!, 'b').items).toEqual(['x']);
  });

  it('a key "__proto__" coming from JSON input is kept the same on primary and backup', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    const input = JSON.parse('{"__proto__": {"admin": true}, "name": "eve"}');
    await c.run(['b'], () => {
      b().items.push(input);
    });
    const p = rawOf(c.primary, 'b').items[0];
    const k = rawOf(c.backups[0]!, 'b').items[0];
    expect(Object.keys(k)).toEqual(Object.keys(p));
  });

  it('a key "__proto__" assigned into a record is undone on abort / replicated', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    const out = await c.run(['b'], () => {
      (b().rec as any)['__proto__'] = { admin: true };
      throw new Error('x');
    });
    expect(out.kind).toBe('service-error');
    expect((rawOf(c.primary, 'b').rec as any).admin).toBeUndefined();
  });

  it('mutating an object returned by a getter is not a crash of the commit', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    const out = await c.run(['b'], () => {
      const s = b().summary;
      s.n = 99;
      b().items.push(1);
      return 'ok';
    });
    expect(out).toEqual({ kind: 'ok', result: 'ok' });
    expect(rawOf(c.backups[0]!, 'b').items).toEqual([1]);
  });

  it('an instance of an unregistered class: clean error, nothing kept', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      b().items.push('a');
    });
    const out = await c.run(['b'], () => {
      b().items.push({ k: 1 });
      b().items.push(new Alien());
    });
    expect(out).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3004') });
    expect(rawOf(c.primary, 'b').items).toEqual(['a']);
    const out2 = await c.run(['b'], () => {
      b().items.push('c');
    });
    expect(out2.kind).toBe('ok');
    expect(shape(rawOf(c.backups[0]!, 'b'))).toEqual(shape(rawOf(c.primary, 'b')));
  });

  it('Map with object keys, Set of objects, moves between containers, deletes and re-adds', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      const k1 = { k: 1 },
        k2 = { k: 2 };
      b().map.set(k1, [{ v: 'a' }]);
      b().map.set(k2, [{ v: 'b' }]);
      b().set.add(k1);
      b().set.add({ s: 3 });
      b().items.push(k2);
    });
    await c.run(['b'], () => {
      const [k1, k2] = [...b().map.keys()] as object[];
      const arr = b().map.get(k1) as { v: string }[];
      const moved = arr.pop()!;
      (b().map.get(k2) as unknown[]).push(moved);
      b().map.delete(k1);
      b().map.set(k1, []);
      b().set.delete(k1);
      b().set.add(k1);
      (b().items[0] as any).k = 22;
      moved.v = 'moved';
    });
    expect(shape(rawOf(c.backups[0]!, 'b'))).toEqual(shape(rawOf(c.primary, 'b')));
    const before = JSON.stringify(shape(rawOf(c.primary, 'b')));
    const out = await c.run(['b'], () => {
      const [k1, k2] = [...b().map.keys()] as object[];
      b().map.delete(k2);
      b().map.set({ z: 1 }, 1);
      b().map.delete(k1);
      b().set.clear();
      b().map.clear();
      throw new Error('x');
    });
    expect(out.kind).toBe('service-error');
    expect(JSON.stringify(shape(rawOf(c.primary, 'b')))).toBe(before);
  });

  it('arrays: length truncation/extension, holes, sort with comparator, fill, copyWithin, then abort', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      for (let i = 0; i < 6; i++) b().items.push({ i });
    });
    const before = JSON.stringify(shape(rawOf(c.primary, 'b')));
    const out = await c.run(['b'], () => {
      const a = b().items as any[];
      a.length = 3;
      a.length = 5;
      a[8] = 'x';
      a.sort((x, y) => (y?.i ?? -1) - (x?.i ?? -1));
      a.copyWithin(0, 1);
      a.fill({ f: 1 }, 6);
      a.reverse();
      delete a[2];
      a.splice(-2, 1);
      a.unshift('u');
      a.shift();
      a.pop();
      throw new Error('x');
    });
    expect(out.kind).toBe('service-error');
    expect(JSON.stringify(shape(rawOf(c.primary, 'b')))).toBe(before);
    await c.run(['b'], () => {
      const a = b().items as any[];
      a.length = 3;
      a.length = 5;
      a[7] = 'x';
      a.sort((x, y) => (y?.i ?? -1) - (x?.i ?? -1));
      a.copyWithin(0, 1);
      a.reverse();
      a[1].i = 100;
      a.splice(1, 1);
    });
    expect(shape(rawOf(c.backups[0]!, 'b'))).toEqual(shape(rawOf(c.primary, 'b')));
  });

  it('undefined values and deleted keys', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      b().rec.a = undefined;
      b().rec.b = 1;
      b().rec.c = 2;
      delete b().rec.b;
      b().rec.b = 3;
    });
    const p = rawOf(c.primary, 'b').rec,
      k = rawOf(c.backups[0]!, 'b').rec;
    expect(Object.keys(k)).toEqual(Object.keys(p));
    expect('a' in k).toBe(true);
  });

  it('Object.defineProperty accessor on state is undone on abort', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      Object.defineProperty(b().rec, 'g', { get: () => 1, configurable: true, enumerable: true });
      throw new Error('x');
    });
    expect('g' in rawOf(c.primary, 'b').rec).toBe(false);
  });

  it('Object.setPrototypeOf on state is undone on abort', async () => {
    const c = await mk();
    const b = () => c.primary.object<Box>('b');
    await c.run(['b'], () => {
      Object.setPrototypeOf(b().rec, { evil: true });
      throw new Error('x');
    });
    expect((rawOf(c.primary, 'b').rec as any).evil).toBeUndefined();
  });
});

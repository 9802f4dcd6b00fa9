import { describe, expect, it } from 'vitest';
import { build, rawOf, shape } from './h.js';

class Store {
  items: { name: string; fav?: boolean }[] = [];
  favs: { name: string }[] = [];
  other: unknown[] = [];
  add(item: { name: string }) {
    this.items.push(item);
    return item;
  }
  remove(item: { name: string }) {
    const i = this.items.indexOf(item);
    if (i >= 0) this.items.splice(i, 1);
  }
  keep(item: unknown) {
    this.other.push(item);
  }
  addFresh(name: string) {
    this.items.push({ name });
  }
  keepAndAdd(item: unknown, name: string) {
    this.other.push(item);
    this.items.push({ name });
  }
  rename(i: number, name: string) {
    this.items[i]!.name = name;
  }
}

const xml = (update: string) => `<durability service="S"><state name="s" type="replication" update="${update}"/></durability>`;

describe('aliasing', () => {
  it('state mode: an array built by filter() of state objects stays aliased on the backup', async () => {
    const c = await build(xml('state'), [{ name: 's', create: () => new Store() }], [Store]);
    const s = () => c.primary.object<Store>('s');
    await c.run(['s'], () => {
      s().items.push({ name: 'a', fav: true }, { name: 'b' });
    });
    await c.run(['s'], () => {
      s().favs = s().items.filter((i) => i.fav);
    });
    await c.run(['s'], () => {
      s().items[0]!.name = 'A';
    });
    expect(shape(rawOf(c.backups[0]!, 's'))).toEqual(shape(rawOf(c.primary, 's')));
  });

  it('repeat mode: a state object passed as an argument is the same object on the backup', async () => {
    const c = await build(xml('repeat'), [{ name: 's', create: () => new Store() }], [Store]);
    const s = () => c.primary.object<Store>('s');
    await c.run(['s'], () => {
      s().addFresh('a');
      s().addFresh('b');
    });
    await c.run(['s'], () => {
      s().remove(s().items[0]!);
    });
    expect(shape(rawOf(c.backups[0]!, 's'))).toEqual(shape(rawOf(c.primary, 's')));
  });

  it('repeat mode: storing an existing state object via a call does not shift object ids on the backup', async () => {
    const c = await build(xml('repeat'), [{ name: 's', create: () => new Store() }], [Store]);
    const s = () => c.primary.object<Store>('s');
    await c.run(['s'], () => {
      s().addFresh('a');
    });
    // keep() stores (an alias of) items[0] in other; then addFresh attaches a new object
    await c.run(['s'], () => {
      s().keep(s().items[0]!);
      s().addFresh('b');
    });
    await c.run(['s'], () => {
      s().rename(1, 'B');
    });
    expect(shape(rawOf(c.backups[0]!, 's'))).toEqual(shape(rawOf(c.primary, 's')));
  });

  it('repeat mode + a state-mode method: id drift makes a later change land on the wrong object', async () => {
    const x = `<durability service="S"><state name="s" type="replication" update="repeat"><method name="rename" update="state"/></state></durability>`;
    const c = await build(x, [{ name: 's', create: () => new Store() }], [Store]);
    const s = () => c.primary.object<Store>('s');
    await c.run(['s'], () => {
      s().addFresh('a');
    });
    await c.run(['s'], () => {
      s().keepAndAdd(s().items[0]!, 'b');
    });
    await c.run(['s'], () => {
      s().rename(1, 'B');
    }); // shipped as a change to object #id-of-b
    const b = rawOf(c.backups[0]!, 's');
    expect({ items: b.items, other: b.other }).toEqual({ items: [{ name: 'a' }, { name: 'B' }], other: [{ name: 'a' }] });
  });

  it('repeat args may contain the same object twice', async () => {
    const c = await build(xml('repeat'), [{ name: 's', create: () => new Store() }], [Store]);
    const s = () => c.primary.object<Store>('s');
    const o = { name: 'x' };
    const out = await c.run(['s'], () => {
      s().keep([o, o]);
    });
    expect(out).toEqual({ kind: 'ok', result: undefined });
  });

  it('replies and repeat args may contain the same object twice (not a cycle)', async () => {
    const c = await build(xml('state'), [{ name: 's', create: () => new Store() }], [Store]);
    const o = { name: 'x' };
    const out = await c.run(['s'], () => ({ a: o, b: o }));
    expect(out.kind).toBe('ok');
  });
});

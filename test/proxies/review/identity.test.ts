import { describe, expect, it } from 'vitest';
import { build } from './h.js';

class Box {
  items: object[] = [];
  addAndFind(o: object) {
    this.items.push(o);
    return this.items.indexOf(o);
  }
}

describe('identity seen through the membrane', () => {
  it('indexOf/includes find an object the method just pushed (as in plain JS)', async () => {
    const x = `<durability service="S"><state name="b" type="replication" update="state"/></durability>`;
    const c = await build(x, [{ name: 'b', create: () => new Box() }], [Box]);
    const b = () => c.primary.object<Box>('b');
    const plain = new Box().addAndFind({});
    const out = await c.run(['b'], () => b().addAndFind({}));
    expect(out).toEqual({ kind: 'ok', result: plain });
  });
});

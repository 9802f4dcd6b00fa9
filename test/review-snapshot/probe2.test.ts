import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, withLimits } from './harness.js';
let restore: () => void;
beforeAll(() => { restore = withLimits(3, 2); });
afterAll(() => restore());

class Item { constructor(public n = 0) {} }
const boom = (f: (s: any) => void) => (s: any) => { f(s); throw new Error('abort'); };

const cases: Record<string, Parameters<typeof run>[0]> = {
  undoMapSetNew: { create: () => ({ m: new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]) }), during: ['part', boom((s) => { s.m.set('z', 1); s.m.set('a', 5); }), 'part', (s) => { s.m.set('z', 2); }] },
  undoMapDel: { create: () => ({ m: new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]) }), during: ['part', boom((s) => { s.m.delete('b'); }), 'part', (s) => { s.m.set('b', 7); }] },
  undoMapDelNotStarted: { create: () => ({ m: new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]) }), during: [boom((s) => { s.m.set('a', 9); s.m.delete('a'); }), 'part', 'part', (s) => { s.m.set('c', 7); }] },
  undoObj: { create: () => ({ o: { a: 1, b: 2, c: 3, d: 4 } }), during: ['part', boom((s) => { s.o.z = 1; delete s.o.b; s.o.a = 3; }), 'part', (s) => { s.o.c = 7; }] },
  undoObjAddThenSet: { create: () => ({ o: { a: 1, b: 2, c: 3, d: 4 } }), during: [boom((s) => { s.o.a = 1; s.o.b = 5; }), 'part', 'part', (s) => { s.o.b = 7; }] },
  undoSet: { create: () => ({ s: new Set([1, 2, 3, 4, 5]) }), during: ['part', boom((s) => { s.s.delete(2); s.s.add(9); }), 'part', (s) => { s.s.add(10); }] },
  undoArr: { create: () => ({ l: [1, 2, 3, 4, 5] }), during: ['part', boom((s) => { s.l.splice(1, 1); s.l.push(9); }), 'part', (s) => { s.l.push(10); }] },
  undoSmall: { classes: [Item], create: () => ({ i: new Item(1), d: new Date(3), t: new Uint8Array(2) }), during: [boom((s) => { s.i.n = 2; s.d.setTime(9); s.t[0] = 4; }), 'part', (s) => { s.i.n = 3; }] },
  undoSmall2: { classes: [Item], create: () => ({ i: new Item(1), d: new Date(3), t: new Uint8Array(2) }), during: [boom((s) => { const t = s.t; t[0] = 4; }), 'part', 'part', 'part'] },
  undoDetach: { classes: [Item], create: () => ({ a: [new Item(1)], b: [] }), during: [boom((s) => { const it = s.a.pop(); it.n = 5; s.b.push(it); }), 'part', (s) => { s.b.push(s.a[0]); s.a[0].n = 8; }] },
  moveBetweenBig: { classes: [Item], create: () => ({ m: new Map([['a', new Item(1)], ['b', new Item(2)], ['c', new Item(3)], ['d', new Item(4)]]), l: [0, 0, 0, 0] }), during: ['part', (s) => { const it = s.m.get('c'); s.m.delete('c'); s.l.push(it); it.n = 30; }, 'part', (s) => { s.m.set('c', s.l[4]); }] },
  newKeyOld: { classes: [Item], create: () => { const i = new Item(1); return { m: new Map([['a', i], ['b', 2], ['c', 3], ['d', 4]]) }; }, during: ['part', (s) => { s.m.set('n', s.m.get('a')); s.m.get('a').n = 2; }, 'part', (s) => { s.m.set('a', 0); }] },
};

describe('probe2', () => {
  for (const [name, sc] of Object.entries(cases)) {
    it(name, async () => {
      const r = await run(sc);
      expect(r.streamed).toEqual(r.expected);
      expect(r.joinerState).toEqual(r.primaryState);
    });
  }
  for (const [name, sc] of Object.entries(cases)) {
    it('repeat ' + name, async () => {
      const r = await run({ ...sc, update: 'repeat' });
      expect(r.streamed).toEqual(r.expected);
      expect(r.joinerState).toEqual(r.primaryState);
    });
  }
});

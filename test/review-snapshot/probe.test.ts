import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, withLimits } from './harness.js';
let restore: () => void;
beforeAll(() => { restore = withLimits(3, 2); });
afterAll(() => restore());

class Item { constructor(public n = 0) {} }
class Other { x = 1; }

const cases: Record<string, Parameters<typeof run>[0]> = {
  bigObjSetAfterDelete: { create: () => ({ o: { a: 1, b: 2, c: 3, d: 4, e: 5 } }), during: ['part', (s) => { delete s.o.b; }, (s) => { s.o.b = 9; }, (s) => { s.o.a = 7; }] },
  bigObjNotStarted: { create: () => ({ o: { a: 1, b: 2, c: 3, d: 4, e: 5 } }), during: [(s) => { s.o.a = 7; }, (s) => { delete s.o.c; }, (s) => { s.o.z = 1; }] },
  bigObjMid: { create: () => ({ o: { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 } }), during: ['part', 'part', 'part', (s) => { s.o.e = 7; }, 'part', (s) => { delete s.o.f; }, (s) => { s.o.z = 1; }] },
  bigObjDefine: { create: () => ({ o: { a: 1, b: 2, c: 3, d: 4, e: 5 } }), during: ['part', 'part', (s) => { Object.defineProperty(s.o, 'd', { enumerable: false }); }] },
  bigObjProto: { classes: [Item, Other], create: () => ({ o: Object.assign(new Item(), { a: 1, b: 2, c: 3, d: 4 }) }), during: [(s) => { Object.setPrototypeOf(s.o, Other.prototype); }] },
  bigObjProtoMid: { classes: [Item, Other], create: () => ({ o: Object.assign(new Item(), { a: 1, b: 2, c: 3, d: 4 }) }), during: ['part', 'part', 'part', (s) => { Object.setPrototypeOf(s.o, Other.prototype); }] },
  bigObjSymbol: { create: () => ({ o: { a: 1, b: 2, c: 3, [Symbol.for('s')]: 4, e: 5 } }), during: ['part', 'part', (s) => { s.o[Symbol.for('s')] = 8; }, (s) => { delete s.o.a; }] },
  bigObjIndexKeys: { create: () => ({ o: { 5: 'a', b: 2, 1: 'c', d: 4, e: 5 } }), during: ['part', 'part', (s) => { s.o[3] = 'x'; s.o[1] = 'y'; }, (s) => { delete s.o.d; }] },
  bigMapClearReadd: { create: () => ({ m: new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]]) }), during: ['part', 'part', (s) => { s.m.set('b', 20); }, (s) => { s.m.clear(); s.m.set('b', 1); s.m.set('a', 2); }] },
  bigMapDelReadd: { create: () => ({ m: new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]]) }), during: [(s) => { s.m.set('z', 0); }, 'part', 'part', (s) => { s.m.set('d', 20); }, (s) => { s.m.delete('d'); s.m.set('d', 1); }, (s) => { s.m.delete('a'); }] },
  bigMapObjKeys: { classes: [Item], create: () => { const ks = [new Item(1), new Item(2), new Item(3), new Item(4)]; return { ks, m: new Map(ks.map((k, i) => [k, i])) }; }, during: ['part', (s) => { s.ks[2].n = 99; }, (s) => { s.m.delete(s.ks[0]); }, (s) => { s.ks.splice(0, 1); }] },
  bigSet: { create: () => ({ s: new Set(['a', 'b', 'c', 'd', 'e']) }), during: ['part', 'part', (s) => { s.s.add('z'); s.s.delete('z'); s.s.add('q'); }, (s) => { s.s.delete('d'); s.s.add('d'); }] },
  bigArrHoles: { create: () => ({ l: [1, , 3, 4, , 6, 7, ,] }), during: ['part', 'part', (s) => { s.l.push(9); }, (s) => { s.l[1] = 2; }] },
  bigArrLen: { create: () => ({ l: [1, 2, 3, 4, 5, 6] }), during: ['part', 'part', (s) => { s.l.length = 2; }, (s) => { s.l.length = 10; }] },
  bigArrSortFill: { create: () => ({ l: [5, 3, 1, 4, 2, 6] }), during: ['part', (s) => { s.l.sort(); }, 'part', (s) => { s.l.fill(0, 1, 3); s.l.copyWithin(0, 3); s.l.reverse(); }] },
  bigArrExtra: { create: () => ({ l: Object.assign([1, 2, 3, 4, 5], { tag: 'x' }) }), during: [(s) => { s.l.tag = 'y'; }, (s) => { s.l.push(1); }] },
  bigArrExtra2: { create: () => ({ l: Object.assign([1, 2, 3, 4, 5], { tag: 'x' }) }), during: [(s) => { s.l.push(1); }, (s) => { s.l.tag = 'y'; }] },
  bigMapExtra: { create: () => ({ m: Object.assign(new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]), { tag: 'x' }) }), during: [(s) => { s.m.set('a', 5); }, (s) => { s.m.delete('b'); }] },
  dates: { create: () => { const d = new Date(5); return { d, o: { d }, l: [d] }; }, during: [(s) => { s.d.setTime(10); }, 'part', (s) => { s.o.d.setFullYear(2000); }] },
  dateMid: { create: () => { const d = new Date(5); return { a: { d }, b: { d } }; }, during: ['part', 'part', (s) => { s.b.d.setTime(10); }] },
  typed: { create: () => { const t = new Uint8Array([1, 2, 3]); return { a: { t }, b: { t }, buf: Buffer.from('hi') }; }, during: [(s) => { s.a.t[0] = 9; s.buf[0] = 65; }, 'part', (s) => { s.b.t[1] = 8; }] },
  typedMid: { create: () => { const t = new Uint8Array([1, 2, 3]); return { a: { t }, b: { t } }; }, during: ['part', 'part', (s) => { s.b.t[1] = 8; }] },
  frozen: { create: () => ({ f: Object.freeze({ a: { x: 1 }, b: 2 }), s: Object.seal({ a: 1 }), n: Object.preventExtensions({ a: 1 }) }), during: [(s) => { s.f.a.x = 2; s.s.a = 5; s.n.a = 6; }, 'part', (s) => { s.f.a.x = 3; }] },
  frozenBig: { create: () => ({ f: Object.freeze({ a: { x: 1 }, b: 2, c: 3, d: 4, e: 5 }) }), during: ['part', 'part', (s) => { s.f.a.x = 2; }] },
  frozenArrTyped: { create: () => ({ f: Object.freeze({ t: new Uint8Array([1, 2]) }) }), during: [(s) => { s.f.t[0] = 9; }] },
  shared: { create: () => { const o = { v: 1 }; return { a: [o], b: new Map([['k', o]]), c: new Set([o]) }; }, during: ['part', (s) => { s.b.get('k').v = 2; }, (s) => { s.a.pop(); }, 'part', (s) => { s.z = s.b.get('k'); s.b.delete('k'); s.c.clear(); }] },
  detachReattach: { create: () => ({ a: { o: { v: 1, inner: { w: 1 } } }, b: {} }), during: [(s) => { const o = s.a.o; delete s.a.o; o.v = 2; o.inner.w = 5; s.b.o = o; }, 'part', (s) => { s.b.o.v = 3; }] },
  detachReattach2: { create: () => ({ a: { o: { v: 1, inner: { w: 1 } } }, b: {}, keep: [] }), during: [(s) => { delete s.a.o; }, 'part', (s) => { s.a.o2 = 1; }] },
  newRefsOld: { create: () => ({ a: { o: { v: 1 } }, l: [] }), during: [(s) => { s.l.push({ old: s.a.o }); }, (s) => { s.a.o.v = 2; }, 'part', (s) => { s.l[0].old.v = 3; }] },
  nullProto: { create: () => ({ z: Object.assign(Object.create(null), { a: 1 }), zb: Object.assign(Object.create(null), { a: 1, b: 2, c: 3, d: 4 }) }), during: [(s) => { s.z.a = 2; }, 'part', (s) => { s.zb.a = 5; delete s.zb.b; }] },
  attrs: { create: () => ({ o: Object.defineProperty({ a: 1 }, 'h', { value: 2, enumerable: false, writable: true, configurable: true }) }), during: [(s) => { s.o.h = 3; }, 'part'] },
};

describe('probe', () => {
  for (const [name, sc] of Object.entries(cases)) {
    it(name, async () => {
      const r = await run(sc);
      expect(r.errors).toEqual([]);
      expect(r.streamed).toEqual(r.expected);
      expect(r.joinerState).toEqual(r.primaryState);
    });
  }
});

// The comparator must see every difference a program could observe, and only those: each case builds
// two graphs that differ in exactly one way (or not at all) and checks the verdict, aspect and path.
import { describe, expect, it } from 'vitest';
import { compareValues, GraphComparison, REPLY, STATE } from './compare.js';

class Item {
  label = 'x';
}
class Other {
  label = 'x';
}

/** A rich graph, built afresh on each call: two calls must compare equal. */
function rich() {
  const shared = { s: 1 };
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1 });
  const list: unknown[] = [1, shared, , 'x'];
  const root: Record<PropertyKey, unknown> = {
    n: -0,
    nan: NaN,
    big: 10n,
    undef: undefined,
    when: new Date(1_000),
    list,
    map: new Map<unknown, unknown>([
      ['a', 1],
      [shared, 'key is shared'],
    ]),
    set: new Set<unknown>([shared, 2]),
    bare,
    item: new Item(),
    frozen: Object.freeze({ f: { deep: 1 } }),
    bytes: new Uint8Array([1, 2, 3]),
    [Symbol.for('reg')]: 'registered',
    again: shared,
  };
  Object.defineProperty(root, 'hidden', { value: 7, enumerable: false, writable: false, configurable: true });
  root.self = root;
  return root;
}

const verdict = (a: unknown, b: unknown, options = STATE) => compareValues(a, b, 'x', options);

describe('the comparator', () => {
  it('finds two separately built rich graphs equal, cycles and sharing included', () => {
    expect(verdict(rich(), rich())).toBeUndefined();
  });

  it('catches a lost hole (a hole turned into undefined)', () => {
    const b = rich();
    (b.list as unknown[])[2] = undefined;
    expect(verdict(rich(), b)).toMatchObject({ aspect: 'hole', path: 'x.list[2]', expected: 'a hole (no element)', actual: 'undefined' });
  });

  it('catches a changed array length', () => {
    const b = rich();
    (b.list as unknown[]).length = 6;
    expect(verdict(rich(), b)).toMatchObject({ aspect: 'value', path: 'x.list.length', expected: '4', actual: '6' });
    expect(verdict([], [1])).toMatchObject({ aspect: 'size', path: 'x.length', expected: '0 ([])', actual: '1 ([ 1 ])' });
  });

  it('catches a changed prototype: another class, a null prototype, an ordinary object as prototype', () => {
    const b1 = rich();
    b1.item = Object.assign(new Other(), { label: 'x' });
    expect(verdict(rich(), b1)).toMatchObject({ aspect: 'prototype', path: 'Object.getPrototypeOf(x.item)', expected: 'Item → Object', actual: 'Other → Object' });
    const b2 = rich();
    b2.bare = { z: 1 };
    expect(verdict(rich(), b2)).toMatchObject({ aspect: 'prototype', path: 'Object.getPrototypeOf(x.bare)' });
    const polluted = Object.create({ isAdmin: true }) as object;
    expect(verdict({}, polluted)).toMatchObject({ aspect: 'prototype' });
    expect(verdict(Object.create({ isAdmin: true }), Object.create({ isAdmin: false }))).toMatchObject({ aspect: 'value', path: 'Object.getPrototypeOf(x).isAdmin' });
  });

  it('catches an enumerable flag, and (for state) writable and configurable flags', () => {
    const b = rich();
    Object.defineProperty(b, 'hidden', { enumerable: true });
    expect(verdict(rich(), b)).toMatchObject({
      aspect: 'descriptor',
      path: 'x.hidden',
      expected: 'data, non-enumerable, read-only, configurable',
      actual: 'data, enumerable, read-only, configurable',
    });
    const c = rich();
    Object.defineProperty(c, 'hidden', { writable: true });
    expect(verdict(rich(), c)).toMatchObject({ aspect: 'descriptor' });
    expect(verdict(rich(), c, REPLY)).toBeUndefined();
  });

  it('catches identity split into two copies, and two objects merged into one', () => {
    const b = rich();
    b.again = { s: 1 };
    expect(verdict(rich(), b)).toMatchObject({ aspect: 'identity', path: 'x.list[1]', expected: 'the same object as x.again' });
    const one = { v: 1 };
    expect(verdict({ p: { v: 1 }, q: { v: 1 } }, { p: one, q: one })).toMatchObject({ aspect: 'identity', path: 'x.q' });
  });

  it('catches a copied cycle', () => {
    const b = rich();
    b.self = { ...b };
    expect(verdict(rich(), b)).toMatchObject({ aspect: 'identity', path: 'x.self' });
  });

  it('keeps identity across several roots: an object shared by two state objects', () => {
    const shared = { v: 1 };
    const same = new GraphComparison(STATE).compare([
      { name: 'a', expected: { s: shared }, actual: { s: shared } },
      { name: 'b', expected: { s: shared }, actual: { s: shared } },
    ]);
    expect(same).toBeUndefined();
    const split = new GraphComparison(STATE).compare([
      { name: 'a', expected: { s: shared }, actual: { s: { v: 1 } } },
      { name: 'b', expected: { s: shared }, actual: { s: { v: 1 } } },
    ]);
    expect(split).toMatchObject({ aspect: 'identity', path: 'b.s', expected: 'the same object as a.s' });
  });

  it('catches -0 against 0, NaN against a number, bigint against number, undefined against missing', () => {
    expect(verdict({ n: -0 }, { n: 0 })).toMatchObject({ aspect: 'value', path: 'x.n', expected: '-0', actual: '0' });
    expect(verdict({ n: NaN }, { n: 0 })).toMatchObject({ aspect: 'value' });
    expect(verdict({ n: 10n }, { n: 10 })).toMatchObject({ aspect: 'type', expected: 'a bigint', actual: 'a number' });
    expect(verdict({ u: undefined }, {})).toMatchObject({ aspect: 'keys', path: 'x' });
    expect(verdict({ flag: true }, { flag: 1 })).toMatchObject({ aspect: 'type' });
  });

  it('catches a reordered Map, and a reordered Set', () => {
    const a = new Map([
      ['a', 1],
      ['b', 2],
    ]);
    const b = new Map([
      ['b', 2],
      ['a', 1],
    ]);
    expect(verdict(a, b)).toMatchObject({ aspect: 'order', path: '[...x.keys()][0]', expected: "Map order ['a', 'b']", actual: "Map order ['b', 'a']" });
    expect(verdict(new Set([1, 2]), new Set([2, 1]))).toMatchObject({ aspect: 'order' });
    expect(verdict(new Map([['a', 1]]), new Map([['a', 2]]))).toMatchObject({ aspect: 'value', path: "x.get('a')" });
  });

  it('catches object keys of a Map split from the state they are part of', () => {
    const key = { k: 1 };
    expect(verdict({ key, map: new Map([[key, 1]]) }, { key, map: new Map([[{ k: 1 }, 1]]) })).toMatchObject({ aspect: 'identity' });
  });

  it('catches key order, symbol keys, and a missing key', () => {
    expect(verdict({ a: 1, b: 2 }, { b: 2, a: 1 })).toMatchObject({ aspect: 'key order' });
    expect(verdict({ [Symbol.for('s')]: 1 }, {})).toMatchObject({ aspect: 'keys', expected: '[Symbol.for("s")]' });
    const unique = Symbol('u');
    expect(verdict({ [unique]: 1 }, { [unique]: 1 })).toBeUndefined();
    expect(verdict({ [unique]: 1, again: unique }, { [unique]: 1, again: Symbol('u') })).toMatchObject({ aspect: 'identity', path: 'x.again' });
  });

  it('catches integrity: frozen against sealed against extensible (state only)', () => {
    expect(verdict(Object.freeze({ a: 1 }), { a: 1 })).toMatchObject({ aspect: 'integrity', expected: 'frozen', actual: 'extensible' });
    expect(verdict(Object.seal({ a: 1 }), Object.freeze({ a: 1 }))).toMatchObject({ aspect: 'integrity' });
    expect(verdict(Object.freeze({ a: 1 }), { a: 1 }, REPLY)).toBeUndefined();
  });

  it('catches Dates, typed arrays and kinds', () => {
    expect(verdict(new Date(5), new Date(6))).toMatchObject({ aspect: 'value', expected: 'Date(5)', actual: 'Date(6)' });
    expect(verdict(new Date(NaN), new Date(NaN))).toBeUndefined();
    expect(verdict(new Date(5), 5)).toMatchObject({ aspect: 'type' });
    expect(verdict(new Date(5), { t: 5 })).toMatchObject({ aspect: 'kind', expected: 'a Date', actual: 'a Object' });
    expect(verdict(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toMatchObject({ aspect: 'value', path: 'x[1]' });
    expect(verdict(new Uint8Array([1]), new Float64Array([1]))).toMatchObject({ aspect: 'kind' });
    expect(verdict(new Uint8Array([1]), { 0: 1 })).toMatchObject({ aspect: 'kind' });
    expect(verdict([1, 2], { 0: 1, 1: 2, length: 2 })).toMatchObject({ aspect: 'kind' });
  });

  it('catches a durability proxy stored inside the real state', () => {
    const inner = { v: 1 };
    expect(verdict({ inner }, { inner: new Proxy(inner, {}) })).toMatchObject({ aspect: 'proxy', path: 'x.inner' });
    expect(verdict({ a: inner, b: inner }, { a: inner, b: new Proxy(inner, {}) })).toMatchObject({ aspect: 'proxy', path: 'x.b' });
  });

  it('compares accessors by their functions, never calling them', () => {
    let calls = 0;
    const getter = () => ++calls;
    const a = Object.defineProperty({}, 'g', { get: getter, enumerable: true, configurable: true });
    const b = Object.defineProperty({}, 'g', { get: getter, enumerable: true, configurable: true });
    expect(verdict(a, b)).toBeUndefined();
    expect(verdict(a, { g: 1 })).toMatchObject({ aspect: 'descriptor' });
    expect(calls).toBe(0);
  });

  it('names keys that are not identifiers as a person would write them', () => {
    const a = Object.defineProperty({}, '__proto__', { value: { isAdmin: true }, enumerable: true, writable: true, configurable: true });
    const b = Object.defineProperty({}, '__proto__', { value: { isAdmin: false }, enumerable: true, writable: true, configurable: true });
    expect(verdict(a, b)).toMatchObject({ path: 'x["__proto__"].isAdmin' });
  });
});

// The differential tester's judge: two object graphs are the same when a person could not tell them
// apart by any means JavaScript offers short of `===` across the two. It compares value types (typeof,
// bigint, -0, NaN), what kind of object each is (Array, Date, Map, Set, typed arrays, boxed values),
// prototypes, own keys in order (strings and symbols, array holes and length), property descriptors,
// integrity (frozen, sealed, extensible), Map and Set contents in iteration order, and the IDENTITY
// GRAPH: the objects of one side correspond one to one to those of the other, so an object reached
// twice on one side must be one object reached twice on the other, cycles included. It never runs a
// getter or a proxy trap of the expected side, and it flags a durability proxy found inside a real state
// graph. Pure: no I/O, no knowledge of the run-time.
import util from 'node:util';
import { rawOf } from '../../proxies/core/raw.js';

export interface Divergence {
  /** Where, as a JavaScript expression from the root's name: `store.list[3]`, `store.map.get("k")`. */
  path: string;
  /** Which aspect differs: type, value, kind, prototype, keys, key order, hole, descriptor, integrity, identity, size, order, proxy. */
  aspect: string;
  expected: string;
  actual: string;
}

export interface CompareOptions {
  /**
   * Whether writable/configurable flags and frozen/sealed/extensible count. True for state; false for a
   * reply, which is the caller's own copy (DUR2015: "replies are copied for you") and may be looser.
   */
  integrity: boolean;
  /**
   * Whether keys made with Symbol() count. A reply is a copy made through the run-time's encoding, which
   * (like JSON) cannot carry a symbol unique to this process: docs/RUNTIME.md, "Limits to know".
   */
  uniqueSymbols?: boolean;
}

type Callable = (...args: unknown[]) => unknown;

export const STATE: CompareOptions = { integrity: true };
export const REPLY: CompareOptions = { integrity: false, uniqueSymbols: false };

/** Compares `actual` with `expected`; the first divergence found breadth-first (the shortest path), if any. */
export function compareValues(expected: unknown, actual: unknown, root: string, options: CompareOptions = STATE): Divergence | undefined {
  return new GraphComparison(options).compare([{ name: root, expected, actual }]);
}

/**
 * One comparison over several roots (the state objects of one service) with one identity bijection, so
 * an object shared between two state objects must be shared on both sides.
 */
export class GraphComparison {
  private readonly rightOf = new Map<unknown, unknown>();
  private readonly leftOf = new Map<unknown, unknown>();
  /** Where each object was first met, for messages about identity. */
  private readonly leftPath = new Map<unknown, string>();
  private readonly rightPath = new Map<unknown, string>();
  private readonly queue: { a: object; b: object; path: string }[] = [];

  constructor(private readonly options: CompareOptions) {}

  compare(roots: readonly { name: string; expected: unknown; actual: unknown }[]): Divergence | undefined {
    for (const root of roots) {
      const found = this.pair(root.expected, root.actual, root.name);
      if (found) return found;
    }
    while (this.queue.length > 0) {
      const { a, b, path } = this.queue.shift()!;
      const found = this.structure(a, b, path);
      if (found) return found;
    }
    return undefined;
  }

  /** Two values met at the same place: primitives now, objects through the bijection (their insides later). */
  private pair(a: unknown, b: unknown, path: string): Divergence | undefined {
    if (typeof a !== typeof b) return diverge(path, 'type', a, b, `a ${typeOf(a)}`, `a ${typeOf(b)}`);
    if (typeof a === 'symbol') return this.symbols(a, b as symbol, path);
    if (typeof a === 'function') return this.functions(a as Callable, b as Callable, path);
    if (typeof a !== 'object' || a === null || b === null) {
      return Object.is(a, b) ? undefined : diverge(path, 'value', a, b);
    }
    return this.objects(a, b as object, path);
  }

  private objects(a: object, b: object, path: string): Divergence | undefined {
    if (util.types.isProxy(b) && !util.types.isProxy(a)) {
      return diverge(path, 'proxy', a, b, 'the object itself', 'a Proxy stored inside the state (the membrane leaked into the real graph)');
    }
    const mappedRight = this.rightOf.get(a);
    const mappedLeft = this.leftOf.get(b);
    if (mappedRight === b) return undefined;
    if (mappedRight !== undefined) {
      return diverge(path, 'identity', a, b, `the same object as ${this.leftPath.get(a)}`, `a different object (${this.rightPath.get(b) ? `the one at ${this.rightPath.get(b)}` : 'a copy'})`);
    }
    if (mappedLeft !== undefined) {
      return diverge(path, 'identity', a, b, `an object of its own (not the one at ${this.leftPath.get(mappedLeft)})`, `the same object as ${this.rightPath.get(b)}`);
    }
    this.rightOf.set(a, b);
    this.leftOf.set(b, a);
    this.leftPath.set(a, path);
    this.rightPath.set(b, path);
    this.queue.push({ a, b, path });
    return undefined;
  }

  /** Registered symbols by their key; unique ones through the bijection, like objects. */
  private symbols(a: symbol, b: symbol, path: string): Divergence | undefined {
    const ka = Symbol.keyFor(a);
    const kb = Symbol.keyFor(b);
    if (ka !== undefined || kb !== undefined) return ka === kb ? undefined : diverge(path, 'value', a, b);
    if (a.description !== b.description) return diverge(path, 'value', a, b);
    const mapped = this.rightOf.get(a);
    if (mapped !== undefined) return mapped === b ? undefined : diverge(path, 'identity', a, b, `the same symbol as ${this.leftPath.get(a)}`, 'another symbol of that description');
    if (this.leftOf.has(b)) return diverge(path, 'identity', a, b, 'a symbol of its own', `the same symbol as ${this.rightPath.get(b)}`);
    this.rightOf.set(a, b);
    this.leftOf.set(b, a);
    this.leftPath.set(a, path);
    this.rightPath.set(b, path);
    return undefined;
  }

  /** Functions are code: the same function, or the same source (a build's copy of the class). */
  private functions(a: Callable, b: Callable, path: string): Divergence | undefined {
    if (a === b || Function.prototype.toString.call(a) === Function.prototype.toString.call(b)) return undefined;
    return diverge(path, 'value', a, b, `function ${a.name || '(anonymous)'}`, `function ${b.name || '(anonymous)'}`);
  }

  private structure(a: object, b: object, path: string): Divergence | undefined {
    const kindA = kindOf(a);
    const kindB = kindOf(b);
    if (kindA !== kindB) return diverge(path, 'kind', a, b, `a ${kindA}`, `a ${kindB}`);
    return this.prototypes(a, b, path) ?? this.integrity(a, b, path) ?? this.contents(a, b, kindA, path) ?? this.properties(a, b, path);
  }

  private prototypes(a: object, b: object, path: string): Divergence | undefined {
    const pa = Object.getPrototypeOf(a) as object | null;
    const pb = Object.getPrototypeOf(b) as object | null;
    if (pa === pb) return undefined;
    const where = `Object.getPrototypeOf(${path})`;
    if (pa === null || pb === null) return diverge(where, 'prototype', a, b, describePrototype(pa), describePrototype(pb));
    const classA = isClassPrototype(pa);
    const classB = isClassPrototype(pb);
    if (classA && classB) {
      const chainA = prototypeChain(pa);
      const chainB = prototypeChain(pb);
      return chainA === chainB ? undefined : diverge(where, 'prototype', a, b, chainA, chainB);
    }
    if (classA !== classB) return diverge(where, 'prototype', a, b, describePrototype(pa), describePrototype(pb));
    // An ordinary object as a prototype (Object.create(o), or __proto__ written): it is part of the graph.
    return this.pair(pa, pb, where);
  }

  private integrity(a: object, b: object, path: string): Divergence | undefined {
    if (!this.options.integrity) return undefined;
    const ia = integrityOf(a);
    const ib = integrityOf(b);
    return ia === ib ? undefined : diverge(path, 'integrity', a, b, ia, ib);
  }

  /** What lives in internal slots: a Date's time, a Map's or a Set's entries in order, typed array elements. */
  private contents(a: object, b: object, kind: string, path: string): Divergence | undefined {
    if (kind === 'Date') {
      const ta = Date.prototype.getTime.call(a);
      const tb = Date.prototype.getTime.call(b);
      return Object.is(ta, tb) ? undefined : diverge(path, 'value', a, b, `Date(${ta})`, `Date(${tb})`);
    }
    // The built-in iteration, not the object's own: real state's Maps and Sets are watched in place by the
    // run-time, whose readers hand out values behind proxies (for the service's code, not for this).
    if (kind === 'Map') return this.entries([...Map.prototype.entries.call(a as Map<unknown, unknown>)], [...Map.prototype.entries.call(b as Map<unknown, unknown>)], path, true);
    if (kind === 'Set')
      return this.entries(
        [...Set.prototype.values.call(a as Set<unknown>)].map((v) => [v, v]),
        [...Set.prototype.values.call(b as Set<unknown>)].map((v) => [v, v]),
        path,
        false,
      );
    if (util.types.isTypedArray(a)) {
      const ea = Array.from(a as unknown as ArrayLike<unknown>);
      const eb = Array.from(b as unknown as ArrayLike<unknown>);
      if (ea.length !== eb.length) return diverge(`${path}.length`, 'size', ea.length, eb.length);
      const at = ea.findIndex((x, i) => !Object.is(x, eb[i]));
      return at < 0 ? undefined : diverge(`${path}[${at}]`, 'value', ea[at], eb[at]);
    }
    if (util.types.isArrayBuffer(a)) {
      const ba = Buffer.from(a as ArrayBuffer);
      const bb = Buffer.from(b as ArrayBuffer);
      return ba.equals(bb) ? undefined : diverge(path, 'value', ba, bb);
    }
    if (util.types.isBoxedPrimitive(a)) return this.pair((a as { valueOf(): unknown }).valueOf(), (b as { valueOf(): unknown }).valueOf(), `${path}.valueOf()`);
    if (util.types.isRegExp(a)) return String(a) === String(b) ? undefined : diverge(path, 'value', a, b);
    return undefined;
  }

  private entries(ea: [unknown, unknown][], eb: [unknown, unknown][], path: string, isMap: boolean): Divergence | undefined {
    const what = isMap ? 'Map' : 'Set';
    if (ea.length !== eb.length) {
      return diverge(`${path}.size`, 'size', ea.length, eb.length, `${ea.length} (${keyList(ea)})`, `${eb.length} (${keyList(eb)})`);
    }
    // Keys first, in order: a reordered Map says so rather than naming one value.
    for (let i = 0; i < ea.length; i++) {
      const [ka] = ea[i]!;
      const [kb] = eb[i]!;
      const keyPath = isMap ? `[...${path}.keys()][${i}]` : `[...${path}][${i}]`;
      const primitive = typeof ka !== 'object' || ka === null;
      if (primitive && !Object.is(ka, kb)) {
        const sameSet = ea.every(([k]) => eb.some(([j]) => Object.is(j, k)));
        return diverge(keyPath, sameSet ? 'order' : 'value', ka, kb, sameSet ? `${what} order ${keyList(ea)}` : undefined, sameSet ? `${what} order ${keyList(eb)}` : undefined);
      }
      const found = this.pair(ka, kb, keyPath);
      if (found) return found;
    }
    if (!isMap) return undefined;
    for (let i = 0; i < ea.length; i++) {
      const [ka, va] = ea[i]!;
      const keyText = typeof ka !== 'object' || ka === null ? show(ka) : `[...${path}.keys()][${i}]`;
      const found = this.pair(va, eb[i]![1], `${path}.get(${keyText})`);
      if (found) return found;
    }
    return undefined;
  }

  /** Own keys in order, then each property's descriptor and value. */
  private properties(a: object, b: object, path: string): Divergence | undefined {
    const portable = (k: PropertyKey) => this.options.uniqueSymbols !== false || typeof k !== 'symbol' || Symbol.keyFor(k) !== undefined;
    const keysA = ownKeys(a).filter(portable);
    const keysB = ownKeys(b).filter(portable);
    const keyDivergence = this.keys(a, b, keysA, keysB, path);
    if (keyDivergence) return keyDivergence;
    for (let i = 0; i < keysA.length; i++) {
      const key = keysA[i]!;
      const where = childPath(path, key, Array.isArray(a));
      const da = Reflect.getOwnPropertyDescriptor(a, key)!;
      const db = Reflect.getOwnPropertyDescriptor(b, keysB[i]!)!;
      const flagsA = flags(da, this.options.integrity);
      const flagsB = flags(db, this.options.integrity);
      if (flagsA !== flagsB) return diverge(where, 'descriptor', da.value, db.value, flagsA, flagsB);
      // A frozen object the service made with state inside keeps what it was given: the proxy (it cannot
      // be replaced in a read-only property). It stands for the object behind it, which is compared.
      const valueB = 'value' in db && util.types.isProxy(db.value) && !db.writable && !db.configurable ? rawOf(db.value) : db.value;
      const found = 'value' in da ? this.pair(da.value, valueB, where) : (this.pair(da.get, db.get, `${where} (getter)`) ?? this.pair(da.set, db.set, `${where} (setter)`));
      if (found) return found;
    }
    return undefined;
  }

  private keys(a: object, b: object, keysA: PropertyKey[], keysB: PropertyKey[], path: string): Divergence | undefined {
    const same = keysA.length === keysB.length && keysA.every((k, i) => this.sameKey(k, keysB[i]!));
    if (same) {
      // Unique symbols used as keys join the bijection: the same symbol elsewhere must match this one.
      for (let i = 0; i < keysA.length; i++) {
        const k = keysA[i]!;
        const found = typeof k === 'symbol' ? this.symbols(k, keysB[i] as symbol, `${path} (key ${symbolText(k)})`) : undefined;
        if (found) return found;
      }
      return undefined;
    }
    const missing = keysA.filter((k) => !keysB.some((j) => this.sameKey(k, j)));
    const extra = keysB.filter((k) => !keysA.some((j) => this.sameKey(j, k)));
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return diverge(`${path}.length`, 'size', a.length, b.length, `${a.length} (${show(a)})`, `${b.length} (${show(b)})`);
      const hole = [...missing, ...extra].find((k) => typeof k === 'string' && isIndex(k));
      if (hole !== undefined) {
        const holeOnLeft = extra.includes(hole);
        return diverge(
          `${path}[${String(hole)}]`,
          'hole',
          holeOnLeft ? undefined : (a as unknown[])[Number(hole)],
          holeOnLeft ? (b as unknown[])[Number(hole)] : undefined,
          holeOnLeft ? 'a hole (no element)' : undefined,
          holeOnLeft ? undefined : 'a hole (no element)',
        );
      }
    }
    if (missing.length === 0 && extra.length === 0) return diverge(path, 'key order', a, b, keyText(keysA), keyText(keysB));
    const detail = [missing.length ? `missing ${keyText(missing)}` : '', extra.length ? `extra ${keyText(extra)}` : ''].filter(Boolean).join(', ');
    return diverge(path, 'keys', a, b, keyText(keysA), `${keyText(keysB)} (${detail})`);
  }

  private sameKey(a: PropertyKey, b: PropertyKey): boolean {
    if (typeof a !== typeof b) return false;
    if (typeof a !== 'symbol') return a === b;
    const ka = Symbol.keyFor(a);
    if (ka !== undefined || Symbol.keyFor(b as symbol) !== undefined) return ka === Symbol.keyFor(b as symbol);
    const mapped = this.rightOf.get(a);
    return mapped === undefined ? a.description === (b as symbol).description && !this.leftOf.has(b) : mapped === b;
  }
}

// ---- what an object is, in words ----

/** The built-in kind of an object, by its internal slots (not by its prototype, which is compared apart). */
function kindOf(x: object): string {
  if (Array.isArray(x)) return 'Array';
  if (util.types.isDate(x)) return 'Date';
  if (util.types.isMap(x)) return 'Map';
  if (util.types.isSet(x)) return 'Set';
  if (util.types.isTypedArray(x)) return Object.prototype.toString.call(x).slice(8, -1);
  if (util.types.isArrayBuffer(x)) return 'ArrayBuffer';
  if (util.types.isRegExp(x)) return 'RegExp';
  if (util.types.isBoxedPrimitive(x)) return `boxed ${typeof (x as { valueOf(): unknown }).valueOf()}`;
  if (util.types.isNativeError(x)) return 'Error';
  if (util.types.isWeakMap(x)) return 'WeakMap';
  if (util.types.isWeakSet(x)) return 'WeakSet';
  if (util.types.isPromise(x)) return 'Promise';
  if (typeof x === 'function') return 'function';
  return 'Object';
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : typeof v;
}

/** A prototype that is some class's `.prototype` (Object.prototype, Map.prototype, Item.prototype). */
function isClassPrototype(p: object): boolean {
  const own = Object.getOwnPropertyDescriptor(p, 'constructor');
  return own !== undefined && 'value' in own && typeof own.value === 'function' && (own.value as { prototype?: unknown }).prototype === p;
}

/** `Item → Base → Object`: classes compared by name, so a build's copy of a class matches the original. */
function prototypeChain(p: object | null): string {
  const names: string[] = [];
  for (let o = p; o !== null; o = Object.getPrototypeOf(o) as object | null) names.push(isClassPrototype(o) ? (o.constructor as { name: string }).name : '(an ordinary object)');
  return names.join(' → ');
}

function describePrototype(p: object | null): string {
  if (p === null) return 'null (Object.create(null))';
  return isClassPrototype(p) ? prototypeChain(p) : `an ordinary object ${show(p)}`;
}

function integrityOf(x: object): string {
  if (Object.isFrozen(x)) return 'frozen';
  if (Object.isSealed(x)) return 'sealed';
  return Object.isExtensible(x) ? 'extensible' : 'not extensible';
}

function flags(d: PropertyDescriptor, integrity: boolean): string {
  const parts = ['value' in d ? 'data' : 'accessor', d.enumerable ? 'enumerable' : 'non-enumerable'];
  if (integrity) {
    if ('value' in d) parts.push(d.writable ? 'writable' : 'read-only');
    parts.push(d.configurable ? 'configurable' : 'non-configurable');
  }
  return parts.join(', ');
}

/** The mark on the methods the run-time puts on a Map, Set or Date it watches in place (docs/RUNTIME.md). */
const WATCH = Symbol.for('durability-compiler.watch');

/**
 * Own keys, without a typed array's indices (compared as its contents), and without the run-time's own
 * watch on a Map, Set or Date (non-enumerable methods it marks as its own: the object's data is the same).
 */
function ownKeys(x: object): PropertyKey[] {
  const keys = Reflect.ownKeys(x);
  if (util.types.isTypedArray(x)) return keys.filter((k) => typeof k !== 'string' || !isIndex(k));
  if (util.types.isMap(x) || util.types.isSet(x) || util.types.isDate(x)) {
    return keys.filter((k) => {
      const d = Reflect.getOwnPropertyDescriptor(x, k);
      return !(d && !d.enumerable && typeof d.value === 'function' && (d.value as unknown as Record<symbol, unknown>)[WATCH] === true);
    });
  }
  return keys;
}

function isIndex(key: string): boolean {
  return /^(0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `path.key`, `path[3]`, `path["__proto__"]`, `path[Symbol.for("x")]`. */
export function childPath(path: string, property: PropertyKey, inArray = false): string {
  if (typeof property === 'symbol') return `${path}[${symbolText(property)}]`;
  const key = String(property);
  if (inArray && isIndex(key)) return `${path}[${key}]`;
  if (IDENTIFIER.test(key) && key !== '__proto__') return `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function symbolText(s: symbol): string {
  const key = Symbol.keyFor(s);
  return key !== undefined ? `Symbol.for(${JSON.stringify(key)})` : `Symbol(${s.description === undefined ? '' : JSON.stringify(s.description)})`;
}

function keyText(keys: PropertyKey[]): string {
  return `[${keys.map((k) => (typeof k === 'symbol' ? symbolText(k) : JSON.stringify(k))).join(', ')}]`;
}

function keyList(entries: [unknown, unknown][]): string {
  const shown = entries.slice(0, 8).map(([k]) => (typeof k === 'object' && k !== null ? '{…}' : show(k)));
  return `[${shown.join(', ')}${entries.length > 8 ? ', …' : ''}]`;
}

/** A value as a person reads it in a report: -0, NaN, 10n, holes, null prototypes and Dates shown as such. */
export function show(v: unknown): string {
  const text = util.inspect(v, { depth: 2, breakLength: Infinity, compact: true, maxArrayLength: 12, maxStringLength: 80, showProxy: false, getters: false, customInspect: false });
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function diverge(path: string, aspect: string, a: unknown, b: unknown, expected?: string, actual?: string): Divergence {
  return { path, aspect, expected: expected ?? show(a), actual: actual ?? show(b) };
}

/** The divergence in the words of a report. */
export function formatDivergence(d: Divergence): string {
  return `${d.aspect} at ${d.path}\n    expected: ${d.expected}\n    actual:   ${d.actual}`;
}

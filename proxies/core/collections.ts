// Maps, Sets and Dates in state are watched in place rather than put behind a Proxy: a Proxy has none
// of their internal slots, so `new Date(d)`, structuredClone, util.types.isMap or util.isDeepStrictEqual
// would see a stranger. Their mutating methods (and the readers that hand out values, which must come
// out behind the membrane) are replaced on the instance by non-enumerable own properties that record
// the change through the graph and then call the built-in. The real object keeps its prototype, its
// slots and its identity, and a change made through any reference to it is seen.
import type { StateGraph } from './graph.js';
import { rawOf } from './raw.js';
import { instrumentationKeys } from './values.js';

const graphOf = new WeakMap<object, StateGraph>();

const MapProto = Map.prototype;
const SetProto = Set.prototype;
const DateProto = Date.prototype;

const mapMethods: Record<string | symbol, (this: Map<unknown, unknown>, ...args: never[]) => unknown> = {
  set(this: Map<unknown, unknown>, key: unknown, value: unknown) {
    const g = graphOf.get(this);
    if (!g) return MapProto.set.call(this, key, value);
    const k = rawOf(key);
    const v = rawOf(value);
    const had = MapProto.has.call(this, k);
    g.mutate(this, { kind: 'mapSet', target: this, key: k, value: v, had, previous: had ? MapProto.get.call(this, k) : undefined }, () => MapProto.set.call(this, k, v));
    return this;
  },
  delete(this: Map<unknown, unknown>, key: unknown) {
    const g = graphOf.get(this);
    const k = rawOf(key);
    if (!g) return MapProto.delete.call(this, k);
    if (!MapProto.has.call(this, k)) return false;
    g.saveOrder(this);
    return g.mutate(this, { kind: 'mapDelete', target: this, key: k, value: MapProto.get.call(this, k) }, () => MapProto.delete.call(this, k));
  },
  clear(this: Map<unknown, unknown>) {
    const g = graphOf.get(this);
    if (!g || this.size === 0) return MapProto.clear.call(this);
    g.mutate(this, { kind: 'mapClear', target: this, previous: [...MapProto.entries.call(this)] }, () => MapProto.clear.call(this));
    return undefined;
  },
  get(this: Map<unknown, unknown>, key: unknown) {
    const value = MapProto.get.call(this, rawOf(key));
    return graphOf.get(this)?.out(value) ?? value;
  },
  has(this: Map<unknown, unknown>, key: unknown) {
    return MapProto.has.call(this, rawOf(key));
  },
  forEach(this: Map<unknown, unknown>, callback: (value: unknown, key: unknown, map: Map<unknown, unknown>) => void, thisArg?: unknown) {
    const g = graphOf.get(this);
    MapProto.forEach.call(this, (v, k) => callback.call(thisArg, out(g, v), out(g, k), this));
  },
  keys(this: Map<unknown, unknown>) {
    return mapped(MapProto.keys.call(this), graphOf.get(this), (k) => k);
  },
  values(this: Map<unknown, unknown>) {
    return mapped(MapProto.values.call(this), graphOf.get(this), (v) => v);
  },
  entries(this: Map<unknown, unknown>) {
    return pairs(MapProto.entries.call(this), graphOf.get(this));
  },
  [Symbol.iterator](this: Map<unknown, unknown>) {
    return pairs(MapProto.entries.call(this), graphOf.get(this));
  },
};

const setMethods: Record<string | symbol, (this: Set<unknown>, ...args: never[]) => unknown> = {
  add(this: Set<unknown>, value: unknown) {
    const g = graphOf.get(this);
    const v = rawOf(value);
    if (!g) return SetProto.add.call(this, v);
    if (!SetProto.has.call(this, v)) g.mutate(this, { kind: 'setAdd', target: this, value: v }, () => SetProto.add.call(this, v));
    return this;
  },
  delete(this: Set<unknown>, value: unknown) {
    const g = graphOf.get(this);
    const v = rawOf(value);
    if (!g) return SetProto.delete.call(this, v);
    if (!SetProto.has.call(this, v)) return false;
    g.saveOrder(this);
    return g.mutate(this, { kind: 'setDelete', target: this, value: v }, () => SetProto.delete.call(this, v));
  },
  clear(this: Set<unknown>) {
    const g = graphOf.get(this);
    if (!g || this.size === 0) return SetProto.clear.call(this);
    g.mutate(this, { kind: 'setClear', target: this, previous: [...SetProto.values.call(this)] }, () => SetProto.clear.call(this));
    return undefined;
  },
  has(this: Set<unknown>, value: unknown) {
    return SetProto.has.call(this, rawOf(value));
  },
  forEach(this: Set<unknown>, callback: (value: unknown, key: unknown, set: Set<unknown>) => void, thisArg?: unknown) {
    const g = graphOf.get(this);
    SetProto.forEach.call(this, (v) => {
      const o = out(g, v);
      callback.call(thisArg, o, o, this);
    });
  },
  values(this: Set<unknown>) {
    return mapped(SetProto.values.call(this), graphOf.get(this), (v) => v);
  },
  keys(this: Set<unknown>) {
    return mapped(SetProto.values.call(this), graphOf.get(this), (v) => v);
  },
  entries(this: Set<unknown>) {
    return pairs(SetProto.entries.call(this) as Iterable<[unknown, unknown]>, graphOf.get(this));
  },
  [Symbol.iterator](this: Set<unknown>) {
    return mapped(SetProto.values.call(this), graphOf.get(this), (v) => v);
  },
};

const DATE_SETTERS = [
  'setDate',
  'setFullYear',
  'setHours',
  'setMilliseconds',
  'setMinutes',
  'setMonth',
  'setSeconds',
  'setTime',
  'setUTCDate',
  'setUTCFullYear',
  'setUTCHours',
  'setUTCMilliseconds',
  'setUTCMinutes',
  'setUTCMonth',
  'setUTCSeconds',
  'setYear',
] as const;

const dateMethods: Record<string, (this: Date, ...args: never[]) => unknown> = {};
for (const name of DATE_SETTERS) {
  const native = (DateProto as unknown as Record<string, ((...a: unknown[]) => number) | undefined>)[name];
  if (!native) continue;
  dateMethods[name] = function (this: Date, ...args: unknown[]) {
    const g = graphOf.get(this);
    if (!g) return native.apply(this, args);
    const change = { kind: 'date' as const, target: this, previous: DateProto.getTime.call(this), value: NaN };
    return g.mutate(this, change, () => {
      const result = native.apply(this, args);
      change.value = DateProto.getTime.call(this);
      return result;
    });
  };
}

/** Marks the run-time's own methods on a watched object (a test comparing state with the original skips them). */
const WATCH = Symbol.for('durability-compiler.watch');
for (const methods of [mapMethods, setMethods, dateMethods] as Record<string | symbol, unknown>[]) {
  for (const key of Reflect.ownKeys(methods)) Object.defineProperty(methods[key as string], WATCH, { value: true });
}

const KEYS = {
  map: new Set<string | symbol>(Reflect.ownKeys(mapMethods)),
  set: new Set<string | symbol>(Reflect.ownKeys(setMethods)),
  date: new Set<string | symbol>(Object.keys(dateMethods)),
};

/**
 * Watches a Map, Set or Date of `graph` in place. Returns false when it cannot (the object is frozen or
 * not extensible, so no method can be put on it).
 */
export function instrument(graph: StateGraph, object: object, kind: 'map' | 'set' | 'date'): boolean {
  if (graphOf.get(object) === graph) return true;
  if (graphOf.has(object)) {
    graphOf.set(object, graph);
    return true;
  }
  if (!Object.isExtensible(object)) return false;
  const methods = kind === 'map' ? mapMethods : kind === 'set' ? setMethods : dateMethods;
  for (const key of Reflect.ownKeys(methods)) {
    Object.defineProperty(object, key, { value: methods[key as string], writable: true, enumerable: false, configurable: true });
  }
  instrumentationKeys.set(object, KEYS[kind]);
  graphOf.set(object, graph);
  return true;
}

/**
 * A frozen or sealed Map, Set or Date cannot carry methods of its own: it is followed through a proxy
 * instead (its reads and writes go through the same methods, called on the real object). Built-ins see
 * that proxy as a stranger, as they would any proxy: only such objects pay that.
 */
export function watchThroughProxy(graph: StateGraph, object: object): void {
  graphOf.set(object, graph);
}

/** Whether the object carries the run-time's methods itself (else it is followed through a proxy). */
export function watchedInPlace(object: object): boolean {
  return instrumentationKeys.has(object);
}

/** What the proxy of a frozen Map, Set or Date hands out for `key`: the run-time's method, or the object's own. */
export function collectionMember(raw: object, kind: 'map' | 'set' | 'date', key: string | symbol): unknown {
  const methods = kind === 'map' ? mapMethods : kind === 'set' ? setMethods : dateMethods;
  const own = (methods as Record<string | symbol, (...a: unknown[]) => unknown>)[key as string];
  if (own) return own.bind(raw);
  const value = Reflect.get(raw, key, raw) as unknown;
  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(raw) : value;
}

function out(graph: StateGraph | undefined, value: unknown): unknown {
  return graph ? graph.out(value) : value;
}

function* mapped(iterator: Iterable<unknown>, graph: StateGraph | undefined, pick: (v: unknown) => unknown): Generator<unknown, undefined, unknown> {
  for (const v of iterator) yield out(graph, pick(v));
  return undefined;
}

function* pairs(iterator: Iterable<[unknown, unknown]>, graph: StateGraph | undefined): Generator<[unknown, unknown], undefined, unknown> {
  for (const [k, v] of iterator) yield [out(graph, k), out(graph, v)];
  return undefined;
}

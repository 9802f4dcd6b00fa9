// The JS Proxy traps in front of plain objects, class instances and arrays in state (and a frozen Map,
// Set or Date, which cannot be watched in place).
// Reads pass through (nested objects come out behind their own proxy, so a change anywhere below a state
// object is seen); every write is made on the real object through the graph, which checks it, counts
// what it adds and removes, and logs it with what it replaced. Writes are made by the engine's own
// operation on the real object, so they succeed and fail exactly as they would without the proxy, with
// the same errors. A frozen object's proxy stands on a frozen stand-in target holding proxies of its
// children, as the language's Proxy invariants require; writes below it are still seen.
import type { StateGraph } from './graph.js';
import { collectionMember } from './collections.js';
import { rawOf } from './raw.js';
import { DurabilityRefusal } from './refusals.js';
import { applyIntegrityLevel, integrityLevel, isIndexKey, isIrregularArray, noteArrayAttributes, noteArrayProperty, type TrackedKind } from './values.js';

const ARRAY_SPLICES = new Set(['push', 'pop', 'shift', 'unshift', 'splice']);
const ARRAY_REWRITES = new Set(['sort', 'reverse', 'fill', 'copyWithin']);
const ARRAY_SEARCHES = new Set(['indexOf', 'lastIndexOf', 'includes']);
const ArrayProto = Array.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
const ObjectProto = Object.prototype as unknown as Record<string | symbol, unknown>;

type Kind = Exclude<TrackedKind, 'typed'>;

export function proxyHandlers(graph: StateGraph): Record<Kind, ProxyHandler<object>> {
  const cached = new WeakMap<object, Map<string, (...args: unknown[]) => unknown>>();
  const cache = (raw: object, key: string, make: () => (...args: unknown[]) => unknown) => {
    let byKey = cached.get(raw);
    if (!byKey) cached.set(raw, (byKey = new Map()));
    let fn = byKey.get(key);
    if (!fn) byKey.set(key, (fn = make()));
    return fn;
  };

  const common: ProxyHandler<object> = {
    set(target, key, value, receiver) {
      const raw = graph.real(target);
      if (receiver !== graph.proxyFor(raw)) return Reflect.set(raw, key, value, receiver);
      if (hasAccessor(raw, key)) return Reflect.set(raw, key, value, receiver);
      setProperty(graph, raw, key, value, target);
      return true;
    },
    deleteProperty(target, key) {
      const raw = graph.real(target);
      const before = Reflect.getOwnPropertyDescriptor(raw, key);
      if (!before) return true;
      if (!before.configurable) {
        // The engine's own error, as without the proxy ("Cannot delete property …").
        delete (raw as Record<string | symbol, unknown>)[key];
        return false;
      }
      if (!Object.isExtensible(raw) && graph.current && !graph.isQuiet && graph.isMember(raw)) {
        throw graph.refuse(
          new DurabilityRefusal(
            'DUR3005',
            `Deleting '${String(key)}' from an object of state that cannot be extended (sealed, or after Object.preventExtensions) cannot be undone if the request fails: the property could not be put back. Make the object extensible before it is stored in state, or set the property to undefined.`,
          ),
        );
      }
      if (!(Array.isArray(raw) && isIndexKey(key))) graph.saveOrder(raw);
      graph.mutate(raw, { kind: 'prop', target: raw, key, before, after: undefined }, () => {
        delete (raw as Record<string | symbol, unknown>)[key];
        if (target !== raw) Reflect.deleteProperty(target, key);
      });
      return true;
    },
    defineProperty(target, key, descriptor) {
      const raw = graph.real(target);
      const before = Reflect.getOwnPropertyDescriptor(raw, key);
      const wanted: PropertyDescriptor = 'value' in descriptor ? { ...descriptor, value: rawOf(descriptor.value) } : { ...descriptor };
      // Both steps are one-way in JavaScript: a property made non-configurable, or a non-configurable one
      // made read-only (freezing a sealed object), cannot be put back if the request fails.
      const oneWay = (wanted.configurable === false && (before?.configurable ?? true)) || (before !== undefined && !before.configurable && before.writable === true && wanted.writable === false);
      if (oneWay && graph.current && !graph.isQuiet && graph.isMember(raw) && wouldDefine(raw, key, before, wanted)) {
        throw graph.refuse(
          new DurabilityRefusal(
            'DUR3005',
            `Making the property '${String(key)}' of state non-configurable or read-only for good (freezing a sealed object, say) during a request cannot be undone if the request fails. Define it that way before the object is stored in state.`,
          ),
        );
      }
      const expected: PropertyDescriptor = { ...(before ?? { value: undefined, writable: false, enumerable: false, configurable: false }), ...wanted };
      if ('get' in wanted || 'set' in wanted) delete expected.value, delete expected.writable;
      const change = {
        kind: 'prop' as const,
        target: raw,
        key,
        before,
        after: expected as PropertyDescriptor | undefined,
        length: Array.isArray(raw) && isIndexKey(key) && Number(key) >= raw.length ? raw.length : undefined,
      };
      graph.mutate(raw, change, () => {
        Object.defineProperty(raw, key, wanted); // the engine's error when it cannot be defined
        change.after = Reflect.getOwnPropertyDescriptor(raw, key);
        if (target !== raw) Object.defineProperty(target, key, outDescriptor(graph, change.after!));
      });
      noteArrayProperty(raw, key, change.after);
      return true;
    },
    getOwnPropertyDescriptor(target, key) {
      const raw = graph.real(target);
      const d = Reflect.getOwnPropertyDescriptor(raw, key);
      if (!d) return undefined;
      if (target !== raw && !d.configurable) return Reflect.getOwnPropertyDescriptor(target, key);
      return outDescriptor(graph, d);
    },
    setPrototypeOf(target, proto) {
      const raw = graph.real(target);
      const before = Object.getPrototypeOf(raw) as object | null;
      const after = rawOf(proto);
      if (before === after) return true;
      graph.mutate(raw, { kind: 'proto', target: raw, before, after }, () => Object.setPrototypeOf(raw, after));
      return true;
    },
    preventExtensions(target) {
      const raw = graph.real(target);
      if (!Object.isExtensible(raw)) return Reflect.preventExtensions(target);
      if (graph.current && !graph.isQuiet && graph.isMember(raw)) {
        throw graph.refuse(
          new DurabilityRefusal(
            'DUR3005',
            'Freezing, sealing or preventing extensions of state during a request cannot be undone if the request fails. Freeze a value before storing it in state (a copy, if it is already there).',
          ),
        );
      }
      Object.preventExtensions(raw);
      if (Array.isArray(raw)) noteArrayAttributes(raw);
      return Reflect.preventExtensions(target);
    },
    ownKeys: (target) => Reflect.ownKeys(graph.real(target)),
    has: (target, key) => Reflect.has(graph.real(target), key),
    getPrototypeOf: (target) => Reflect.getPrototypeOf(graph.real(target)),
    isExtensible: (target) => Reflect.isExtensible(graph.real(target)),
  };

  const get = (target: object, key: string | symbol, receiver: object, kind: Kind): unknown => {
    const raw = graph.real(target);
    if (kind === 'map' || kind === 'set' || kind === 'date') return collectionMember(raw, kind, key);
    const value = Reflect.get(raw, key, receiver) as unknown;
    if (typeof value === 'function') {
      if (kind === 'array' && typeof key === 'string' && value === ArrayProto[key]) {
        if (ARRAY_SPLICES.has(key))
          return cache(
            raw,
            key,
            () =>
              (...args: unknown[]) =>
                graph.spliceArray(raw as unknown[], key, args),
          );
        if (ARRAY_REWRITES.has(key))
          return cache(
            raw,
            key,
            () =>
              (...args: unknown[]) =>
                rewrite(raw as unknown[], key, args, receiver),
          );
        if (ARRAY_SEARCHES.has(key)) {
          // Elements are compared by identity: look for the object behind a proxy.
          return cache(
            raw,
            key,
            () =>
              (needle: unknown, ...rest: unknown[]) =>
                (value as (...a: unknown[]) => unknown).call(raw, rawOf(needle), ...rest),
          );
        }
      }
      if (graph.isRoot(raw) !== undefined && value !== ObjectProto[key]) return graph.rootMethod(raw, key, value as (...a: unknown[]) => unknown, receiver);
      return value;
    }
    if (target !== raw) {
      const own = Reflect.getOwnPropertyDescriptor(target, key);
      // A frozen property: its stand-in's value. A typed array is that very object, handed out raw, so
      // the graph must still see it read (its bytes are compared later, and a snapshot keeps them first).
      if (own && !own.configurable && !own.writable && 'value' in own) return ArrayBuffer.isView(own.value) ? graph.out(own.value) : own.value;
    }
    return graph.out(value);
  };

  const rewrite = (raw: unknown[], key: string, args: unknown[], receiver: object) => {
    if (isIrregularArray(raw)) return ArrayProto[key]!.apply(receiver, args); // step by step through the traps (values.ts)
    let rawArgs = args;
    if (key === 'fill') rawArgs = [rawOf(args[0]), ...args.slice(1)];
    if (key === 'sort' && typeof args[0] === 'function') {
      const compare = args[0] as (a: unknown, b: unknown) => number;
      rawArgs = [(a: unknown, b: unknown) => compare(graph.out(a), graph.out(b))];
    }
    graph.rewriteArray(raw, () => ArrayProto[key]!.apply(raw, rawArgs));
    return receiver;
  };

  return {
    object: { ...common, get: (t, k, r) => get(t, k, r, 'object') },
    array: { ...common, get: (t, k, r) => get(t, k, r, 'array') },
    // Only a frozen or sealed Map, Set or Date is behind a proxy (see collections.ts).
    map: { ...common, get: (t, k, r) => get(t, k, r, 'map') },
    set: { ...common, get: (t, k, r) => get(t, k, r, 'set') },
    date: { ...common, get: (t, k, r) => get(t, k, r, 'date') },
  };
}

/** Sets a data property on a graph object through the graph (the engine's own assignment applies it). */
function setProperty(graph: StateGraph, raw: object, key: string | symbol, value: unknown, target: object): void {
  const v = rawOf(value);
  if (Array.isArray(raw) && key === 'length') {
    const length = Number(v);
    if (Number.isInteger(length) && length >= 0 && length < raw.length) {
      graph.spliceArray(raw, 'length', [length]);
      return;
    }
  }
  const before = Reflect.getOwnPropertyDescriptor(raw, key);
  const change = {
    kind: 'prop' as const,
    target: raw,
    key,
    before,
    // What the assignment will make (its new value is counted into the graph before it is made); read
    // back from the object once made.
    after: (before ? { ...before, value: v } : { value: v, writable: true, enumerable: true, configurable: true }) as PropertyDescriptor | undefined,
    length: Array.isArray(raw) && isIndexKey(key) && Number(key) >= raw.length ? raw.length : undefined,
  };
  graph.mutate(raw, change, () => {
    (raw as Record<string | symbol, unknown>)[key] = v; // throws the engine's TypeError when read-only or not extensible
    change.after = Reflect.getOwnPropertyDescriptor(raw, key);
    if (target !== raw && before && !before.configurable) Object.defineProperty(target, key, outDescriptor(graph, change.after!));
  });
}

/** Whether the engine would accept this definition (a refusal is for what would succeed, not what throws anyway). */
function wouldDefine(raw: object, key: string | symbol, before: PropertyDescriptor | undefined, wanted: PropertyDescriptor): boolean {
  if (!before) return Object.isExtensible(raw);
  const probe = Object.defineProperty(Array.isArray(raw) && key === 'length' ? [] : {}, key, before);
  return Reflect.defineProperty(probe, key, wanted);
}

/** Whether a set of `key` on `raw` runs a setter (own or inherited) rather than writing a data property. */
function hasAccessor(raw: object, key: string | symbol): boolean {
  for (let o: object | null = raw; o; o = Object.getPrototypeOf(o) as object | null) {
    const d = Reflect.getOwnPropertyDescriptor(o, key);
    if (d) return !('value' in d);
  }
  return false;
}

function outDescriptor(graph: StateGraph, d: PropertyDescriptor): PropertyDescriptor {
  return 'value' in d ? { ...d, value: graph.out(d.value) } : d;
}

/**
 * A frozen, sealed or non-extensible object, or one with read-only non-configurable properties, cannot
 * stand behind a Proxy that hands out its children behind proxies (the language requires such properties
 * to read as they are on the target). Its proxy gets a stand-in target instead: same kind, same
 * prototype, the same properties holding proxies of the children, the same integrity (filled by
 * fillShadow once the proxy exists: a child may be the object itself). Undefined when none is needed.
 */
export function shadowTargetFor(raw: object, kind: Kind): object | undefined {
  if (kind === 'map' || kind === 'set' || kind === 'date') {
    // A stand-in of the same kind keeps `instanceof` and the integrity checks right.
    const stand = kind === 'map' ? new Map() : kind === 'set' ? new Set() : new Date(0);
    Object.setPrototypeOf(stand, Object.getPrototypeOf(raw) as object | null);
    return stand;
  }
  const needed =
    !Object.isExtensible(raw) ||
    Reflect.ownKeys(raw).some((k) => {
      const d = Reflect.getOwnPropertyDescriptor(raw, k)!;
      return !d.configurable && (!('value' in d) || !d.writable);
    });
  if (!needed) return undefined;
  return Array.isArray(raw) ? [] : Object.create(Object.getPrototypeOf(raw) as object | null);
}

/** The stand-in gets the real object's properties (children behind their proxies) and integrity. */
export function fillShadow(raw: object, shadow: object, graph: StateGraph): void {
  for (const key of Reflect.ownKeys(raw)) {
    const d = Reflect.getOwnPropertyDescriptor(raw, key)!;
    const copy = 'value' in d && typeof d.value === 'object' && d.value !== null ? { ...d, value: graph.proxyFor(rawOf(d.value)) } : d;
    Object.defineProperty(shadow, key, copy);
  }
  applyIntegrityLevel(shadow, integrityLevel(raw));
}

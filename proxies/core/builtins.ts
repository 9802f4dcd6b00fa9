// Built-ins that cannot see through a Proxy, in versions that can. `durable compile` imports these
// into the build's copy of a service's sources wherever they name the global one, so that the service
// behaves as it did before its state sat behind durability proxies.
import { types } from 'node:util';
import { isStateProxy, rawOf } from './raw.js';

type CloneOptions = Parameters<typeof globalThis.structuredClone>[1];

const nativeStructuredClone = globalThis.structuredClone;

/**
 * The global `structuredClone`, seeing through durability proxies at any depth: the same result (shared
 * references and cycles kept), the same errors (DataCloneError for functions, symbols, other proxies),
 * the same `transfer` option. The global throws DataCloneError on any Proxy, and state is read through
 * proxies.
 */
export function structuredClone<T>(value: T, options?: CloneOptions): T {
  // The global's own errors for a missing value or bad options, from the global itself.
  if (arguments.length === 0) return (nativeStructuredClone as () => T)();
  if (!reachesProxy(value, new Set())) return arguments.length === 1 ? nativeStructuredClone(value) : nativeStructuredClone(value, options);
  const seen = withoutProxies(value, new Map()) as T;
  return arguments.length === 1 ? nativeStructuredClone(seen) : nativeStructuredClone(seen, transferSeenThrough(options));
}

/**
 * How the global's serializer treats an object: `leaf` when it holds no values of the graph the clone
 * could reach (a Date, a buffer, a function, a host object such as a Blob, a Proxy that is not ours,
 * which the global refuses), else the shape it copies.
 */
function kindOf(value: object): 'array' | 'map' | 'set' | 'error' | 'object' | 'leaf' {
  if (typeof value === 'function' || types.isProxy(value)) return 'leaf';
  if (Array.isArray(value)) return 'array';
  if (types.isMap(value)) return 'map';
  if (types.isSet(value)) return 'set';
  if (types.isNativeError(value)) return 'error';
  if (types.isDate(value) || types.isRegExp(value) || types.isAnyArrayBuffer(value) || ArrayBuffer.isView(value) || types.isBoxedPrimitive(value)) return 'leaf';
  // Host objects (Blob, KeyObject, MessagePort…) announce themselves with a tag; the global clones or
  // refuses them by what they are, so they are left to it as they are.
  if (Symbol.toStringTag in value) return 'leaf';
  return 'object';
}

/** Whether a durability proxy is reachable from `value` (the objects behind them never hold one). */
function reachesProxy(value: unknown, visited: Set<object>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (isStateProxy(value)) return true;
  if (visited.has(value)) return false;
  visited.add(value);
  switch (kindOf(value)) {
    case 'leaf':
      return false;
    case 'map':
      for (const [k, v] of value as Map<unknown, unknown>) if (reachesProxy(k, visited) || reachesProxy(v, visited)) return true;
      return false;
    case 'set':
      for (const v of value as Set<unknown>) if (reachesProxy(v, visited)) return true;
      return false;
    case 'error':
      return Object.hasOwn(value, 'cause') && reachesProxy((value as Error).cause, visited);
    default:
      for (const key of Object.keys(value)) if (reachesProxy((value as Record<string, unknown>)[key], visited)) return true;
      return false;
  }
}

/**
 * A copy of the graph in which every durability proxy is the object behind it, with the shape the
 * global's serializer reads (own enumerable string-keyed properties, entries, an error's cause), so that
 * cloning it gives what cloning the original would, were its proxies the objects themselves. Each object
 * is copied once, so shared references and cycles stay as they were.
 */
function withoutProxies(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isStateProxy(value)) return rawOf(value);
  if (copies.has(value)) return copies.get(value);
  const kind = kindOf(value);
  if (kind === 'leaf') return value;
  if (kind === 'map') {
    const copy = new Map<unknown, unknown>();
    copies.set(value, copy);
    for (const [k, v] of value as Map<unknown, unknown>) copy.set(withoutProxies(k, copies), withoutProxies(v, copies));
    return copy;
  }
  if (kind === 'set') {
    const copy = new Set<unknown>();
    copies.set(value, copy);
    for (const v of value as Set<unknown>) copy.add(withoutProxies(v, copies));
    return copy;
  }
  if (kind === 'error') {
    const error = value as Error;
    // A real error (the serializer asks for the internal slot), with the original's prototype for its
    // name, and its own message, stack and cause.
    const copy = Object.setPrototypeOf(new Error(), Object.getPrototypeOf(error) as object) as Error;
    copies.set(value, copy);
    for (const key of ['message', 'stack', 'cause'] as const) {
      if (Object.hasOwn(error, key)) Object.defineProperty(copy, key, { value: withoutProxies(error[key], copies), writable: true, configurable: true, enumerable: false });
      else delete copy[key];
    }
    return copy;
  }
  const copy: object = kind === 'array' ? new Array((value as unknown[]).length) : {};
  copies.set(value, copy);
  // Defined, not assigned: a key such as '__proto__' stays a property, and holes in arrays stay holes.
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, { value: withoutProxies((value as Record<string, unknown>)[key], copies), writable: true, enumerable: true, configurable: true });
  }
  return copy;
}

/** The options with any durability proxy in the transfer list replaced by the buffer behind it. */
function transferSeenThrough(options: CloneOptions): CloneOptions {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.transfer) || !options.transfer.some(isStateProxy)) return options;
  return { ...options, transfer: options.transfer.map(rawOf) };
}

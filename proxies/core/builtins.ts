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
// biome-ignore-start lint/complexity/noArguments: the global's behaviour depends on how many arguments it was given, not on their values
export function structuredClone<T>(value: T, options?: CloneOptions): T {
  // The global's own errors for a missing value or bad options, from the global itself.
  if (arguments.length === 0) return (nativeStructuredClone as () => T)();
  const graph = readGraph(value);
  if (graph.reachingProxies.size === 0 && !isStateProxy(value)) return arguments.length === 1 ? nativeStructuredClone(value) : nativeStructuredClone(value, options);
  const seen = withoutProxies(value, graph, new Map()) as T;
  return arguments.length === 1 ? nativeStructuredClone(seen) : nativeStructuredClone(seen, transferSeenThrough(options));
}
// biome-ignore-end lint/complexity/noArguments: as above

type Kind = 'array' | 'map' | 'set' | 'error' | 'object' | 'leaf';

/**
 * How the global's serializer treats an object: `leaf` when it holds no values of the graph the clone
 * could reach (a Date, a buffer, a function, a host object such as a Blob, a Proxy that is not ours,
 * which the global refuses), else the shape it copies.
 */
function kindOf(value: object): Kind {
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

/** What the serializer would read of each container: properties by key, a Map's pairs, a Set's values. */
interface Container {
  kind: Exclude<Kind, 'leaf'>;
  entries: [key: unknown, value: unknown][];
}

interface Graph {
  containers: Map<object, Container>;
  /** The containers from which a durability proxy is reachable: those the copy replaces. */
  reachingProxies: Set<object>;
}

/** Reads the graph once (a getter runs once, as under the global), through proxies, stopping at leaves. */
function readGraph(value: unknown): Graph {
  const containers = new Map<object, Container>();
  const parents = new Map<object, object[]>();
  const holdingProxies: object[] = [];
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    // A proxy stands for the object behind it, which is read like any other: an object a request made
    // and stored may hold proxies until the request ends, a frozen one for good.
    const next = rawOf(pending.pop());
    if (typeof next !== 'object' || next === null || containers.has(next)) continue;
    const kind = kindOf(next);
    if (kind === 'leaf') continue;
    const entries = entriesOf(next, kind);
    containers.set(next, { kind, entries });
    for (const child of entries.flat()) {
      if (typeof child !== 'object' || child === null) continue;
      if (isStateProxy(child)) holdingProxies.push(next);
      const raw = rawOf(child);
      const known = parents.get(raw);
      if (known) known.push(next);
      else parents.set(raw, [next]);
      pending.push(raw);
    }
  }
  const reachingProxies = new Set<object>();
  const up = [...holdingProxies];
  while (up.length > 0) {
    const container = up.pop()!;
    if (reachingProxies.has(container)) continue;
    reachingProxies.add(container);
    up.push(...(parents.get(container) ?? []));
  }
  return { containers, reachingProxies };
}

function entriesOf(value: object, kind: Exclude<Kind, 'leaf'>): [unknown, unknown][] {
  switch (kind) {
    case 'map':
      return [...(value as Map<unknown, unknown>)];
    case 'set':
      return [...(value as Set<unknown>)].map((v) => [undefined, v]);
    case 'error':
      return Object.hasOwn(value, 'cause') ? [['cause', (value as Error).cause]] : [];
    default:
      return Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]]);
  }
}

/**
 * The value with every durability proxy replaced by the object behind it, and every container that
 * reaches one replaced by a copy of the shape the global's serializer reads (own enumerable string-keyed
 * properties, entries, an error's message, stack and cause). Everything else is itself, so an object
 * reached both through a proxy and directly stays one object, and shared references and cycles stay.
 */
function withoutProxies(input: unknown, graph: Graph, copies: Map<object, unknown>): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const value: object = rawOf(input);
  if (!graph.reachingProxies.has(value)) return value;
  if (copies.has(value)) return copies.get(value);
  const { kind, entries } = graph.containers.get(value)!;
  const inner = (v: unknown) => withoutProxies(v, graph, copies);
  if (kind === 'map') {
    const copy = new Map<unknown, unknown>();
    copies.set(value, copy);
    for (const [k, v] of entries) copy.set(inner(k), inner(v));
    return copy;
  }
  if (kind === 'set') {
    const copy = new Set<unknown>();
    copies.set(value, copy);
    for (const [, v] of entries) copy.add(inner(v));
    return copy;
  }
  if (kind === 'error') {
    const error = value as Error;
    // A real error (the serializer asks for the internal slot), with the original's prototype for its
    // name, and its own message, stack and cause.
    const copy = Object.setPrototypeOf(new Error(), Object.getPrototypeOf(error) as object) as Error;
    copies.set(value, copy);
    for (const key of ['message', 'stack'] as const) {
      if (Object.hasOwn(error, key)) Object.defineProperty(copy, key, { value: error[key], writable: true, configurable: true, enumerable: false });
      else delete copy[key];
    }
    for (const [, cause] of entries) Object.defineProperty(copy, 'cause', { value: inner(cause), writable: true, configurable: true, enumerable: false });
    return copy;
  }
  const copy: object = kind === 'array' ? new Array((value as unknown[]).length) : {};
  copies.set(value, copy);
  // Defined, not assigned: a key such as '__proto__' stays a property, and holes in arrays stay holes.
  for (const [key, v] of entries) Object.defineProperty(copy, key as string, { value: inner(v), writable: true, enumerable: true, configurable: true });
  return copy;
}

/** The options with any durability proxy in the transfer list replaced by the buffer behind it. */
function transferSeenThrough(options: CloneOptions): CloneOptions {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.transfer) || !options.transfer.some(isStateProxy)) return options;
  return { ...options, transfer: options.transfer.map(rawOf) };
}

// Values on the wire: the arguments of a repeated call, the new values of recorded changes, replies and
// snapshots. JSON with tags for what JSON loses (undefined, NaN, ±Infinity, -0, bigint, Date, Map, Set,
// instances of the service's own classes) and, inside a state object's graph, object identities: each
// object carries the id both replicas know it by, and an object already in the graph is sent as a
// reference to that id, so a change that moves an object moves it on the backup too.
import { ObjectIds } from './object-ids.js';

/** A JSON value, as sent. */
export type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

/** Classes whose instances may appear in state, by name; both replicas are built from the same source. */
export type ClassRegistry = ReadonlyMap<string, new (...args: never[]) => object>;

export class EncodingError extends Error {}

const TAG = '$';

export interface EncodeOptions {
  /** Encode inside a state object's graph: objects get (or keep) ids; objects replicas know become references. */
  ids?: ObjectIds;
  /** Collects every object sent in full (with `ids`). */
  sent?: Set<object>;
  /** Send every object in full once, keeping its id: a snapshot for a replica that knows nothing yet. */
  full?: boolean;
  /** Maps a membrane's proxy to the object behind it. */
  unwrap?: (value: unknown) => unknown;
}

/**
 * Encodes `value`. Without `ids` the value is copied as a plain tree (arguments, replies): an object met
 * twice is copied twice, and only a cycle is refused.
 */
export function encode(value: unknown, classes: ClassRegistry, options: EncodeOptions = {}): Encoded {
  const { ids, sent, full = false, unwrap } = options;
  const path = new Set<object>();
  const walk = (value: unknown): Encoded => {
    const v = unwrap ? unwrap(value) : value;
    switch (typeof v) {
      case 'undefined':
        return { [TAG]: 'u' };
      case 'boolean':
      case 'string':
        return v;
      case 'number':
        if (Number.isNaN(v)) return { [TAG]: 'n', v: 'NaN' };
        if (!Number.isFinite(v)) return { [TAG]: 'n', v: v > 0 ? 'Infinity' : '-Infinity' };
        if (Object.is(v, -0)) return { [TAG]: 'n', v: '-0' };
        return v;
      case 'bigint':
        return { [TAG]: 'b', v: v.toString() };
      case 'object': {
        if (v === null) return null;
        if (v instanceof Date && !ids) return { [TAG]: 'd', v: v.getTime() };
        if (ids) {
          const known = ids.idOf(v);
          if (known !== undefined && (full ? inFull.has(v) : ids.isKnownToReplicas(v))) return { [TAG]: 'r', id: known };
          inFull.add(v);
        } else if (path.has(v)) {
          throw new EncodingError('A value refers to itself; only state objects may contain cycles.');
        }
        const id = ids ? ids.assign(v) : undefined;
        if (ids) {
          ids.markSent(v);
          sent?.add(v);
        }
        path.add(v);
        try {
          return encodeObject(v, id);
        } finally {
          path.delete(v);
        }
      }
      default:
        throw new EncodingError(`Cannot send a ${typeof v} (${String(v).slice(0, 40)}); state and arguments must be data.`);
    }
  };
  const inFull = new Set<object>();
  const encodeObject = (v: object, id: number | undefined): Encoded => {
    const withId = (body: Record<string, Encoded>): Encoded => (id === undefined ? body : { ...body, id });
    if (v instanceof Date) return withId({ [TAG]: 'd', v: v.getTime() });
    // Array.from visits holes as undefined: sparse arrays arrive dense.
    if (Array.isArray(v)) return withId({ [TAG]: 'a', v: Array.from(v, walk) });
    if (v instanceof Map) return withId({ [TAG]: 'm', v: [...v].map(([k, x]) => [walk(k), walk(x)]) });
    if (v instanceof Set) return withId({ [TAG]: 's', v: [...v].map(walk) });
    const proto = Object.getPrototypeOf(v);
    const fields: Record<string, Encoded> = Object.create(null);
    for (const key of Object.keys(v)) defineField(fields, key, walk((v as Record<string, unknown>)[key]));
    if (proto === Object.prototype || proto === null) return withId({ [TAG]: 'o', v: fields });
    const name = (proto.constructor as { name?: string } | undefined)?.name;
    if (!name || classes.get(name) !== proto.constructor) {
      throw new EncodingError(`Cannot send an instance of ${name ?? 'an anonymous class'}: it is not one of the service's state classes. Keep state in plain objects, arrays, Maps, Sets, Dates or classes of the service's source.`);
    }
    return withId({ [TAG]: 'c', c: name, v: fields });
  };
  return walk(value);
}

/** Decodes what `encode` produced; with `ids`, registers every object under the id it was sent with. */
export function decode(encoded: Encoded, classes: ClassRegistry, ids?: ObjectIds): unknown {
  const walk = (e: Encoded): unknown => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      if (Array.isArray(e)) throw new EncodingError('Malformed encoding: a bare array.');
      return e;
    }
    const tag = e[TAG];
    const id = typeof e.id === 'number' ? e.id : undefined;
    const register = <T extends object>(o: T): T => {
      if (ids && id !== undefined) ids.register(o, id);
      return o;
    };
    switch (tag) {
      case 'u':
        return undefined;
      case 'n':
        return Number(e.v);
      case 'b':
        return BigInt(e.v as string);
      case 'd':
        return register(new Date(e.v as number));
      case 'r': {
        const target = ids?.objectOf(e.id as number);
        if (target === undefined) throw new EncodingError(`Malformed update: object #${String(e.id)} is unknown here.`);
        return target;
      }
      case 'a': {
        const out = register([] as unknown[]);
        for (const x of e.v as Encoded[]) out.push(walk(x));
        return out;
      }
      case 'm': {
        const out = register(new Map<unknown, unknown>());
        for (const [k, x] of e.v as [Encoded, Encoded][]) out.set(walk(k), walk(x));
        return out;
      }
      case 's': {
        const out = register(new Set<unknown>());
        for (const x of e.v as Encoded[]) out.add(walk(x));
        return out;
      }
      case 'o':
      case 'c': {
        let out: Record<string, unknown>;
        if (tag === 'c') {
          const cls = classes.get(e.c as string);
          if (!cls) throw new EncodingError(`Malformed update: class '${String(e.c)}' is not a state class of this service.`);
          out = Object.create(cls.prototype) as Record<string, unknown>;
        } else out = {};
        register(out);
        for (const [key, x] of Object.entries(e.v as Record<string, Encoded>)) defineField(out, key, walk(x));
        return out;
      }
      default:
        throw new EncodingError(`Malformed encoding: unknown tag ${JSON.stringify(tag)}.`);
    }
  };
  return walk(encoded);
}

/** An own data property, even for a key like `__proto__` that plain assignment would treat specially. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

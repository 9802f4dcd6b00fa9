// Values on the wire: the arguments of a repeated call, the new values of recorded changes, replies and
// snapshots. JSON with tags for what JSON loses, so that a replica holds exactly what the primary holds:
// undefined, NaN, ±Infinity, -0, bigint, Date, Map, Set, typed arrays, holes in arrays, null-prototype
// objects, instances of the service's classes, property attributes (non-enumerable, read-only),
// registered-symbol keys (what the build makes of `#private` members), frozen and sealed objects, and
// identity: inside a state object's graph each object carries the id every replica knows it by, and
// one already there travels as a reference; outside it (arguments, replies) an object met twice is sent
// once and referred back to, so shared references and cycles survive too.
import type { ObjectIds } from './object-ids.js';
import { rawOf } from './raw.js';
import { applyIntegrityLevel, descriptorFor, extraKeys, flagsOf, integrityLevel, isIndexKey, isIrregularArray, isPlainElement, trackedKind, type TrackedKind } from './values.js';

/** A JSON value, as sent. */
export type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

/** Classes whose instances may appear in state, by name; both replicas are built from the same source. */
export type ClassRegistry = ReadonlyMap<string, new (...args: never[]) => object>;

export class EncodingError extends Error {}

const TAG = '$';
const HOLE: Encoded = { [TAG]: 'h' };

/** Typed array constructors by name, Buffer included (it is a Uint8Array with its own prototype). */
const TYPED: Record<string, { from(bytes: Uint8Array, length: number): ArrayBufferView }> = {};
for (const ctor of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]) {
  TYPED[ctor.name] = {
    from: (bytes, length) => {
      const out = new ctor(length);
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes.subarray(0, out.byteLength));
      return out;
    },
  };
}
TYPED.Buffer = { from: (bytes) => Buffer.from(bytes) };

export interface EncodeOptions {
  /** Encode inside a state object's graph: objects get (or keep) ids; objects replicas know become references. */
  ids?: ObjectIds;
  /** Collects every object sent in full (with `ids`). */
  sent?: Set<object>;
  /** Send every object in full once, keeping its id: a snapshot for a replica that knows nothing yet. */
  full?: boolean;
  /** Encode without assigning ids or marking anything sent (to compare an object with what was sent). */
  peek?: boolean;
  /** This object is encoded in full even if the replicas know it (its content, to send or compare). */
  contentOf?: object;
  /**
   * A reply: JSON's leniency where state must be exact (functions and symbols dropped, instances of
   * classes outside the service as plain objects, `toJSON` honoured for those, accessors read).
   */
  lenient?: boolean;
  /**
   * A streamed snapshot (replication/snapshot.ts): every object but `contentOf` that holds others is a
   * reference naming its kind (the replica makes an empty one to fill when its own record comes), and is
   * handed to this callback to be sent later. Dates and typed arrays, which hold no objects, go in full
   * the first time (see `emitted`).
   */
  shallow?: (object: object) => void;
  /** With `shallow`: leaves already sent in full in this snapshot (kept across records). */
  emitted?: Set<object>;
  /** With `shallow`: the object's content as it was when the snapshot was taken, if it changed since. */
  imageOf?: (object: object) => object | undefined;
}

/** Encodes `value`; what cannot be sent faithfully throws EncodingError (unless `lenient`). */
export function encode(value: unknown, classes: ClassRegistry, options: EncodeOptions = {}): Encoded {
  return new Encoder(classes, options).walk(value);
}

export class Encoder {
  /** Outside a graph: objects already encoded, by order of appearance (for back-references). */
  private readonly local = new Map<object, number>();
  /** In a `full` graph encoding: objects already sent in full in this value. */
  private readonly inFull = new Set<object>();

  constructor(
    private readonly classes: ClassRegistry,
    private readonly options: EncodeOptions,
  ) {}

  /** Encodes the content of `v`, which replicas know as `as` (a snapshot's image of it): its own record. */
  record(v: object, as: object = v): { [key: string]: Encoded } {
    const body = this.body(v);
    body.id = this.options.ids!.assign(as);
    const integrity = integrityOf(v);
    if (integrity) body.i = integrity;
    return body;
  }

  walk(input: unknown): Encoded {
    const v = rawOf(input);
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
      case 'object':
        return v === null ? null : this.object(v);
      default:
        if (this.options.lenient) return { [TAG]: 'u' };
        throw new EncodingError(`Cannot send a ${typeof v} (${describe(v)}): state and arguments must be data.`);
    }
  }

  private object(v: object): Encoded {
    if (this.options.shallow) return this.streamed(v);
    const { ids, full, peek, contentOf } = this.options;
    let id: number | undefined;
    if (ids) {
      const known = ids.idOf(v);
      const fullHere = v === contentOf && !this.inFull.has(v);
      if (known !== undefined && !fullHere && (this.inFull.has(v) || (!full && ids.isKnownToReplicas(v)))) return { [TAG]: 'r', id: known };
      this.inFull.add(v);
      if (peek) id = known;
      else {
        id = ids.assign(v);
        ids.markSent(v);
        this.options.sent?.add(v);
      }
    } else {
      const seen = this.local.get(v);
      if (seen !== undefined) return { [TAG]: 'l', i: seen };
      this.local.set(v, this.local.size);
    }
    const body = this.body(v);
    if (id !== undefined) body.id = id;
    const integrity = integrityOf(v);
    if (integrity) body.i = integrity;
    return body;
  }

  /** In a streamed snapshot: a reference to an object sent in its own record, or a leaf in full once. */
  private streamed(v: object): Encoded {
    const { ids, shallow, emitted, imageOf } = this.options;
    const id = ids!.assign(v);
    const content = imageOf?.(v) ?? v;
    const kind = trackedKind(content);
    if (kind === 'array' || kind === 'map' || kind === 'set' || kind === 'object') {
      shallow!(v);
      if (kind !== 'object') return { [TAG]: 'r', id, k: kind[0]! };
      const proto = Object.getPrototypeOf(content) as object | null;
      if (proto === null) return { [TAG]: 'r', id, k: 'z' };
      if (proto === Object.prototype) return { [TAG]: 'r', id, k: 'o' };
      const name = (proto as { constructor?: { name?: string } }).constructor?.name;
      if (name === undefined || this.classes.get(name)?.prototype !== proto) this.plainOrInstance(content); // throws why
      return { [TAG]: 'r', id, k: 'c', c: name! };
    }
    if (emitted!.has(v)) return { [TAG]: 'r', id };
    emitted!.add(v);
    return this.record(content, v);
  }

  private body(v: object): { [key: string]: Encoded } {
    const kind = trackedKind(v);
    switch (kind) {
      case 'date':
        return this.withExtras({ [TAG]: 'd', v: timeOf(v as Date) }, v, kind);
      case 'array':
        return this.array(v as unknown[]);
      case 'map': {
        const entries: Encoded[] = [];
        for (const [k, x] of Map.prototype.entries.call(v as Map<unknown, unknown>)) entries.push([this.walk(k), this.walk(x)]);
        return this.withExtras({ [TAG]: 'm', v: entries }, v, kind);
      }
      case 'set': {
        const members: Encoded[] = [];
        for (const x of Set.prototype.values.call(v as Set<unknown>)) members.push(this.walk(x));
        return this.withExtras({ [TAG]: 's', v: members }, v, kind);
      }
      case 'typed':
        return this.typed(v as ArrayBufferView);
      case 'object':
        return this.plainOrInstance(v);
      default:
        return this.unsupported(v);
    }
  }

  private array(a: unknown[]): { [key: string]: Encoded } {
    const length = a.length;
    // Elements with attributes of their own (an irregular array, values.ts) go with the other properties,
    // attributes and all, and are holes among the elements; so does a read-only length.
    const special = new Set<string>();
    if (isIrregularArray(a)) {
      for (const key of Reflect.ownKeys(a)) {
        const d = Reflect.getOwnPropertyDescriptor(a, key)!;
        if (key === 'length' ? !d.writable : isIndexKey(key) && !isPlainElement(d)) special.add(key as string);
      }
    }
    const has = (i: number) => i in a && (special.size === 0 || !special.has(String(i)));
    let present = 0;
    for (let i = 0; i < length; i++) if (has(i)) present++;
    let body: { [key: string]: Encoded };
    if (present === length) {
      const out: Encoded[] = new Array(length);
      for (let i = 0; i < length; i++) out[i] = this.walk(a[i]);
      body = { [TAG]: 'a', v: out };
    } else if (present * 2 >= length) {
      const out: Encoded[] = new Array(length);
      for (let i = 0; i < length; i++) out[i] = has(i) ? this.walk(a[i]) : HOLE;
      body = { [TAG]: 'a', v: out };
    } else {
      // Mostly holes: index/value pairs and the length.
      const pairs: Encoded[] = [];
      for (const key of Object.keys(a)) if (isIndexKey(key) && has(Number(key))) pairs.push([Number(key), this.walk(a[Number(key)])]);
      body = { [TAG]: 'a', e: pairs, n: length };
    }
    const extras = this.properties(
      a,
      Reflect.ownKeys(a).filter((k) => special.has(k as string) || (k !== 'length' && !isIndexKey(k))),
    );
    if (extras) body.p = extras;
    return body;
  }

  private typed(view: ArrayBufferView): { [key: string]: Encoded } {
    const name = view instanceof Buffer ? 'Buffer' : view.constructor.name;
    if (!TYPED[name]) return this.unsupported(view);
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
    const length = (view as unknown as { length: number }).length;
    return this.withExtras({ [TAG]: 't', c: name, v: bytes, n: length }, view, 'typed');
  }

  private plainOrInstance(v: object): { [key: string]: Encoded } {
    const proto = Object.getPrototypeOf(v) as object | null;
    if (this.options.lenient && (proto === Object.prototype || proto === null)) {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return { [TAG]: 'j', v: this.walk(toJSON.call(v, '')) };
    }
    if (proto === Object.prototype || proto === null) {
      const body = this.fields(v);
      if (proto === null) body.z = 1;
      return body;
    }
    const ctor = (proto as { constructor?: unknown }).constructor as (new () => object) | undefined;
    const name = typeof ctor === 'function' ? ctor.name : undefined;
    if (name && ctor && this.classes.get(name) === ctor && ctor.prototype === proto) return { ...this.fields(v), [TAG]: 'c', c: name };
    if (this.options.lenient) {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return { [TAG]: 'j', v: this.walk(toJSON.call(v, '')) };
      return this.fields(v);
    }
    throw new EncodingError(
      `Cannot send an instance of ${name ?? 'an anonymous class'}: it is not one of the service's classes. Keep state in plain objects, arrays, Maps, Sets, Dates, typed arrays or classes of the service's own source.`,
    );
  }

  /** Own properties in order: a JSON object when they are all ordinary, else a list with attributes. */
  private fields(v: object): { [key: string]: Encoded } {
    const keys = Reflect.ownKeys(v);
    let ordinary = true;
    for (const key of keys) {
      const d = Reflect.getOwnPropertyDescriptor(v, key)!;
      if (typeof key === 'symbol' || !('value' in d) || flagsOf(d) !== 0) {
        ordinary = false;
        break;
      }
    }
    if (ordinary) {
      const fields: { [key: string]: Encoded } = Object.create(null) as { [key: string]: Encoded };
      for (const key of keys as string[]) defineField(fields, key, this.walk((v as Record<string, unknown>)[key]));
      return { [TAG]: 'o', v: fields };
    }
    return { [TAG]: 'o', l: this.properties(v, keys) ?? [] };
  }

  /** `[key, value, flags?]` for each of `keys`; undefined when there are none. */
  private properties(v: object, keys: (string | symbol)[]): Encoded[] | undefined {
    const out: Encoded[] = [];
    for (const key of keys) {
      const d = Reflect.getOwnPropertyDescriptor(v, key);
      const encoded = d && this.property(key, d, v);
      if (encoded !== undefined) out.push(encoded);
    }
    return out.length > 0 ? out : undefined;
  }

  /** One property as a list entry, `[key, value, flags?]`; undefined for one a lenient reply leaves out. */
  property(key: string | symbol, d: PropertyDescriptor, of?: object): Encoded | undefined {
    const encodedKey = this.key(key);
    if (encodedKey === undefined) return undefined;
    if (!('value' in d)) {
      if (this.options.lenient) return d.enumerable && of ? [encodedKey, this.walk(Reflect.get(of, key))] : undefined;
      throw new EncodingError(
        `Cannot send the accessor property '${String(key)}' (a getter or setter defined on the object itself, not on its class): a replica cannot receive functions. Define it on a class of the service, or keep a data property.`,
      );
    }
    const flags = flagsOf(d);
    return flags === 0 ? [encodedKey, this.walk(d.value)] : [encodedKey, this.walk(d.value), flags];
  }

  private key(key: string | symbol): Encoded | undefined {
    if (typeof key === 'string') return key;
    const registered = Symbol.keyFor(key);
    if (registered !== undefined) return { y: registered };
    const wellKnown = wellKnownName(key);
    if (wellKnown) return { w: wellKnown };
    if (this.options.lenient) return undefined;
    throw new EncodingError(
      `Cannot send a property keyed by ${String(key)}: a symbol made with Symbol() is unique to this process, so a replica could not name it. Use Symbol.for('…') (a registered symbol) or a string key.`,
    );
  }

  private withExtras(body: { [key: string]: Encoded }, v: object, kind: TrackedKind): { [key: string]: Encoded } {
    const extras = this.properties(v, extraKeys(v, kind));
    if (extras) body.p = extras;
    return body;
  }

  private unsupported(v: object): { [key: string]: Encoded } {
    if (this.options.lenient) {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return { [TAG]: 'j', v: this.walk(toJSON.call(v, '')) };
      if (v instanceof Number || v instanceof String || v instanceof Boolean) return { [TAG]: 'j', v: this.walk(v.valueOf()) };
      return this.fields(v);
    }
    throw new EncodingError(
      `Cannot send ${describe(v)}: it is not data a replica can rebuild (state holds plain objects, arrays, Maps, Sets, Dates, typed arrays and instances of the service's classes).`,
    );
  }
}

/**
 * Decodes what `encode` produced; with `ids`, registers every object under the id it was sent with, but
 * `keep`: that id stays with the object that has it (a reset decodes an object's new content into a
 * stand-in, then copies it over: references to the object inside that content must find the object).
 */
export function decode(encoded: Encoded, classes: ClassRegistry, ids?: ObjectIds, keep?: number, stream?: SnapshotDecoding): unknown {
  const local: object[] = [];
  /** Objects sent in full that this replica already holds under their id: content to copy into those. */
  let resentAs: Map<object, object> | undefined;
  /** The object a snapshot record fills (made empty when first referred to), for the top level only. */
  let into = stream?.into;
  const fresh = <T extends object>(make: () => T): T => {
    const given = into as T | undefined;
    into = undefined;
    return given ?? make();
  };
  const walk = (e: Encoded): unknown => {
    if (e === null || typeof e !== 'object') return e;
    if (Array.isArray(e)) throw new EncodingError('Malformed encoding: a bare array.');
    const tag = e[TAG];
    const id = typeof e.id === 'number' ? e.id : undefined;
    const created = <T extends object>(o: T): T => {
      if (ids && id !== undefined && id >= 0 && id !== keep) {
        const prior = ids.resent ? ids.objectOf(id) : undefined;
        if (prior !== undefined) (resentAs ??= new Map()).set(o, prior);
        else ids.register(o, id);
      } else if (!ids) local.push(o);
      return o;
    };
    const finish = <T extends object>(o: T): T => {
      if (Array.isArray(e.p)) defineProperties(o, e.p as Encoded[], walk);
      if (typeof e.i === 'string') applyIntegrity(o, e.i);
      const prior = resentAs?.get(o);
      if (prior === undefined) return o;
      // One object per id on a replica: the one it holds takes the content sent (see ObjectIds.resent).
      ids!.resent!(prior, o);
      return prior as T;
    };
    switch (tag) {
      case 'u':
        return undefined;
      case 'n':
        return Number(e.v);
      case 'b':
        return BigInt(e.v as string);
      case 'j':
        return walk(e.v as Encoded);
      case 'r': {
        const target = stream ? stream.resolve(e.id as number, e) : ids?.objectOf(e.id as number);
        if (target === undefined) throw new EncodingError(`Malformed update: object #${String(e.id)} is unknown here.`);
        return target;
      }
      case 'l': {
        const target = local[e.i as number];
        if (target === undefined) throw new EncodingError(`Malformed encoding: back-reference ${String(e.i)} to nothing.`);
        return target;
      }
      case 'd':
        return finish(created(new Date(e.v === 'NaN' ? NaN : (e.v as number))));
      case 'a': {
        const out = created(fresh(() => [] as unknown[]));
        if (Array.isArray(e.e)) {
          out.length = e.n as number;
          for (const [i, x] of e.e as [number, Encoded][]) out[i] = walk(x);
        } else {
          const items = e.v as Encoded[];
          out.length = items.length;
          for (let i = 0; i < items.length; i++) {
            const x = items[i]!;
            if (!isHole(x)) out[i] = walk(x);
          }
        }
        return finish(out);
      }
      case 'm': {
        const out = created(fresh(() => new Map<unknown, unknown>()));
        for (const [k, x] of e.v as [Encoded, Encoded][]) out.set(walk(k), walk(x));
        return finish(out);
      }
      case 's': {
        const out = created(fresh(() => new Set<unknown>()));
        for (const x of e.v as Encoded[]) out.add(walk(x));
        return finish(out);
      }
      case 't': {
        const kind = TYPED[e.c as string];
        if (!kind) throw new EncodingError(`Malformed encoding: unknown typed array ${JSON.stringify(e.c)}.`);
        return finish(created(kind.from(Buffer.from(e.v as string, 'base64'), e.n as number)));
      }
      case 'o':
      case 'c': {
        const out = fresh(() => {
          if (tag !== 'c') return e.z === 1 ? (Object.create(null) as object) : {};
          const cls = classes.get(e.c as string);
          if (!cls) throw new EncodingError(`Malformed update: class '${String(e.c)}' is not a class of this service.`);
          return Object.create(cls.prototype as object) as object;
        });
        created(out);
        if (Array.isArray(e.l)) defineProperties(out, e.l as Encoded[], walk);
        else if (tag === 'c') for (const [key, x] of Object.entries(e.v as Record<string, Encoded>)) defineOwn(out, key, walk(x));
        else for (const [key, x] of Object.entries(e.v as Record<string, Encoded>)) defineField(out as Record<string, unknown>, key, walk(x));
        return finish(out);
      }
      default:
        throw new EncodingError(`Malformed encoding: unknown tag ${JSON.stringify(tag)}.`);
    }
  };
  return walk(encoded);
}

/** How a streamed snapshot's records are decoded (replication/snapshot-reader.ts). */
export interface SnapshotDecoding {
  /** The object a reference names: one already made, or an empty one of the kind the reference says. */
  resolve(id: number, reference: { [key: string]: Encoded }): object | undefined;
  /** The object the record's top level fills (made when it was first referred to). */
  into?: object;
}

/** Whether an encoded array element is a hole. */
export function isHole(e: Encoded): boolean {
  return typeof e === 'object' && e !== null && !Array.isArray(e) && e[TAG] === 'h' && Object.keys(e).length === 1;
}

export const ENCODED_HOLE = HOLE;

/** A property key as encoded: a string, a registered symbol, or a well-known symbol. */
export function decodeKey(key: Encoded): string | symbol {
  if (typeof key === 'string') return key;
  const k = key as { y?: string; w?: string };
  if (typeof k?.y === 'string') return Symbol.for(k.y);
  if (typeof k?.w === 'string' && typeof (Symbol as unknown as Record<string, unknown>)[k.w] === 'symbol') return (Symbol as unknown as Record<string, symbol>)[k.w]!;
  throw new EncodingError(`Malformed encoding: a property key ${JSON.stringify(key)}.`);
}

/** A property key for the wire (throws EncodingError for a symbol no replica could name). */
export function encodeKey(key: string | symbol): Encoded {
  if (typeof key === 'string') return key;
  const registered = Symbol.keyFor(key);
  if (registered !== undefined) return { y: registered };
  const wellKnown = wellKnownName(key);
  if (wellKnown) return { w: wellKnown };
  throw new EncodingError(
    `Cannot send a property keyed by ${String(key)}: a symbol made with Symbol() is unique to this process, so a replica could not name it. Use Symbol.for('…') (a registered symbol) or a string key.`,
  );
}

function defineProperties(target: object, list: Encoded[], walk: (e: Encoded) => unknown): void {
  for (const entry of list) {
    const [key, value, flags] = entry as [Encoded, Encoded, number | undefined];
    Object.defineProperty(target, decodeKey(key), descriptorFor(walk(value), flags ?? 0));
  }
}

function defineOwn(target: object, key: string | symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** An own data property, even for a key like `__proto__` that plain assignment would treat specially. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') defineOwn(target, key, value);
  else target[key] = value;
}

/** A Date's time for JSON: an invalid Date's NaN as 'NaN' (JSON would make it null, which is time 0). */
function timeOf(date: Date): Encoded {
  const time = Date.prototype.getTime.call(date);
  return Number.isNaN(time) ? 'NaN' : time;
}

function integrityOf(v: object): Encoded | undefined {
  return integrityLevel(v);
}

function applyIntegrity(o: object, level: string): void {
  applyIntegrityLevel(o, level === 'f' || level === 's' ? level : 'n');
}

const WELL_KNOWN = new Map<symbol, string>(
  Object.getOwnPropertyNames(Symbol)
    .filter((name) => typeof (Symbol as unknown as Record<string, unknown>)[name] === 'symbol')
    .map((name) => [(Symbol as unknown as Record<string, symbol>)[name]!, name]),
);

function wellKnownName(key: symbol): string | undefined {
  return WELL_KNOWN.get(key);
}

function describe(v: unknown): string {
  if (typeof v === 'function') return `the function ${v.name || '(anonymous)'}`;
  if (typeof v === 'symbol') return String(v);
  if (typeof v === 'object' && v !== null) {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return `a ${name ?? 'value'}`;
  }
  return String(v).slice(0, 40);
}

// A joining backup's starting state, streamed: the replicated objects as they were at one point of the
// commit stream (sequence number `seq`), sent in parts of bounded size while the primary goes on serving.
// No part holds the whole state and no slice of work holds the event loop for more than a few
// milliseconds, whatever the state's size (PostgreSQL's base backup plus WAL, and Redis's RDB plus
// backlog, are the model: the updates made meanwhile follow the snapshot on the same connection).
//
// The primary keeps the state it had at `seq` by copy-on-write: the graph tells the writer before any
// object changes (StateGraph.watchWrites), and an object the writer has not sent yet is copied first, as
// it was. A large Map, Set, array or object is sent in slices, and is not copied whole on a write: for a
// Map or Set the writer keeps the old value of each key changed and skips keys added since; only a
// deletion (which would lose the key's place in the order) or a write to a large array copies what is left
// to send, once. Each object is one record (shallow: the objects it holds are references naming their
// kind), so the backup makes an empty object on the first reference and fills it when its record comes
// (snapshot-reader.ts).
import type { Change, TypedArray } from '../core/changes.js';
import { Encoder, ENCODED_HOLE, type ClassRegistry, type Encoded } from '../core/encoding.js';
import type { StateGraph } from '../core/graph.js';
import { copyContent, descriptorFor, extraKeys, integrityLevel, isIndexKey, isIrregularArray, trackedKind } from '../core/values.js';

/** Where the stream starts: the backup applies every record after `seq` on top of the snapshot. */
export interface SnapshotHeader {
  epoch: number;
  seq: number;
  /** The primary's next object id at `seq`. */
  nextId: number;
  /** Each replicated state object's root, by id. */
  roots: Record<string, number>;
}

/** A part: records in order (an object's record, or `{c: id, …}` continuing a large one), then replies. */
export interface SnapshotPart {
  records: Encoded[];
  replies?: [string, string][];
}

/** Tunables; the tests lower them so that small states take the large-object paths too. */
export const SNAPSHOT_LIMITS = {
  /** A Map, Set, array or object with more entries than this is sent in slices and copied by key. */
  splitAbove: 2048,
  /** Entries per slice of a large object. */
  sliceEntries: 512,
};

type Big = {
  kind: 'map' | 'set' | 'array' | 'object';
  /** An empty object of the same kind, prototype and extra properties as it was: its first record. */
  header: object;
  integrity: 'f' | 's' | 'n' | undefined;
  /** Keys (Map, object) or members (Set) added since the snapshot: not in it. */
  added: Set<unknown>;
  /** The value a key had at the snapshot, for keys changed since (Map, object). */
  before: Map<unknown, unknown>;
  /**
   * What is left to send, copied at a write the above cannot describe: keys (Map, object), members or
   * elements, from `restAt` to `restEnd`; with the values (Map) or descriptors (object) alongside.
   */
  rest?: unknown[];
  restValues?: unknown[];
  restAt: number;
  restEnd: number;
  /** Once its first record has gone: the live iteration. */
  started: boolean;
  keys?: Iterator<unknown>;
  index: number;
  length: number;
  /** An object's own keys, taken once: its iteration. */
  ownKeys?: (string | symbol)[];
};

/** The primary's side: what to send next, with the state kept as it was at the snapshot's point. */
export class SnapshotWriter {
  readonly header: SnapshotHeader;
  private readonly queue: object[] = [];
  private head = 0;
  /**
   * Per object id (every object of the snapshot was numbered before it began): queued, or all sent. An
   * array, not a Set: a Set of a million objects stalls the event loop each time it grows.
   */
  private marks: Uint8Array;
  /** Small objects changed before they were sent: their content as it was. */
  private readonly images = new Map<object, object>();
  private readonly bigs = new Map<object, Big>();
  private current: { object: object; big: Big } | undefined;
  private readonly encoder: Encoder;
  private repliesAt = 0;
  private closed = false;
  private readonly stopWatching: () => void;

  constructor(
    private readonly graph: StateGraph,
    classes: ClassRegistry,
    roots: ReadonlyMap<string, object>,
    meta: { epoch: number; seq: number },
    private readonly replies: [string, string][],
  ) {
    const ids = graph.ids;
    this.encoder = new Encoder(classes, { ids, emitted: new Set(), shallow: (o) => this.enqueue(o), imageOf: (o) => this.images.get(o) ?? this.bigs.get(o)?.header });
    const rootIds: Record<string, number> = {};
    for (const [name, root] of roots) rootIds[name] = ids.assign(root);
    this.header = { epoch: meta.epoch, seq: meta.seq, nextId: ids.next, roots: rootIds };
    this.firstNewId = ids.next;
    this.marks = new Uint8Array(ids.next);
    for (const root of roots.values()) this.enqueue(root);
    this.stopWatching = graph.watchWrites((target, change) => this.beforeWrite(target, change));
  }

  /** Objects numbered after the snapshot joined the state after it: not in it, and never copied. */
  private readonly firstNewId: number;

  get finished(): boolean {
    return this.closed || (this.current === undefined && this.head >= this.queue.length && this.repliesAt >= this.replies.length);
  }

  /** Stops watching writes (the transfer ended or was abandoned): the copies kept are let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    this.images.clear();
    this.bigs.clear();
    this.marks = new Uint8Array(0);
    this.queue.length = 0;
  }

  /**
   * The next part: at least one record, at most about `maxBytes` of JSON or `budgetMs` of work (the
   * caller yields to the event loop between parts). Undefined once everything has been produced.
   */
  next(maxBytes: number, budgetMs: number, now: () => number = () => performance.now()): { part: string; bytes: number } | undefined {
    if (this.finished) return undefined;
    const start = now();
    const records: string[] = [];
    let bytes = 0;
    const full = () => bytes >= maxBytes || now() - start >= budgetMs;
    while (!full()) {
      const record = this.current ? this.continueBig() : this.visitNext();
      if (record === undefined) break;
      const text = JSON.stringify(record);
      records.push(text);
      bytes += text.length + 1;
    }
    let replies = '';
    if (this.current === undefined && this.head >= this.queue.length) {
      const from = this.repliesAt;
      while (this.repliesAt < this.replies.length && bytes < maxBytes) {
        const [key, reply] = this.replies[this.repliesAt++]!;
        bytes += key.length + reply.length + 8;
      }
      if (this.repliesAt > from) replies = `,"replies":${JSON.stringify(this.replies.slice(from, this.repliesAt))}`;
      if (this.repliesAt >= this.replies.length) this.close();
    }
    return { part: `{"records":[${records.join(',')}]${replies}}`, bytes };
  }

  private enqueue(object: object): void {
    const id = this.graph.ids.idOf(object)!;
    if (id < this.marks.length && this.marks[id] !== 0) return;
    if (id >= this.marks.length) throw new Error(`object #${id} was numbered after the snapshot began, yet is part of it; this is a bug in the snapshot writer`);
    this.marks[id] = QUEUED;
    this.queue.push(object);
  }

  private visitNext(): Encoded | undefined {
    if (this.head >= this.queue.length) return undefined;
    const object = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as object; // let it go once sent
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    const big = this.bigs.get(object) ?? (this.images.has(object) ? undefined : this.bigOf(object));
    if (big) {
      this.bigs.set(object, big);
      big.started = true;
      this.current = { object, big };
      const record = this.encoder.record(big.header, object);
      delete record.i;
      record.more = 1;
      return record;
    }
    const image = this.images.get(object);
    this.images.delete(object);
    this.marks[this.graph.ids.idOf(object)!] = SENT; // later writes to it need no copy
    return this.encoder.record(image ?? object, object);
  }

  /** The next slice of the large object being sent. */
  private continueBig(): Encoded {
    const { object, big } = this.current!;
    const walk = (v: unknown) => this.encoder.walk(v);
    const slice: Encoded[] = [];
    const n = SNAPSHOT_LIMITS.sliceEntries;
    let done = false;
    if (big.rest) {
      const { rest, restValues } = big;
      const end = Math.min(big.restEnd, big.restAt + n);
      for (let i = big.restAt; i < end; i++) {
        if (big.kind === 'map') slice.push([walk(rest[i]), walk(restValues![i])]);
        else if (big.kind === 'object') slice.push(this.encoder.property(rest[i] as string | symbol, restValues![i] as PropertyDescriptor)!);
        else if (big.kind === 'array') slice.push(i in rest ? walk(rest[i]) : ENCODED_HOLE);
        else slice.push(walk(rest[i]));
      }
      big.restAt = end;
      done = end >= big.restEnd;
    } else if (big.kind === 'array') {
      const array = object as unknown[];
      const end = Math.min(big.length, big.index + n);
      for (let i = big.index; i < end; i++) slice.push(i in array ? walk(array[i]) : ENCODED_HOLE);
      big.index = end;
      done = end >= big.length;
    } else if (big.kind === 'object') {
      const keys = big.ownKeys!;
      const end = Math.min(keys.length, big.index + n);
      for (let i = big.index; i < end; i++) {
        const key = keys[i]!;
        if (big.added.has(key)) continue;
        const d = big.before.has(key) ? descriptorFor(big.before.get(key), 0) : Reflect.getOwnPropertyDescriptor(object, key);
        if (d) slice.push(this.encoder.property(key, d)!);
      }
      big.index = end;
      done = end >= keys.length;
    } else {
      // A Map's or Set's entries at the snapshot are the first `length` in its order: what was added
      // since comes after them, and nothing was deleted (a deletion copies what is left first).
      big.keys ??= big.kind === 'map' ? MAP_KEYS.call(object) : SET_VALUES.call(object);
      const end = Math.min(big.length, big.index + n);
      for (; big.index < end; big.index++) {
        const key = big.keys.next().value;
        if (big.kind === 'set') slice.push(walk(key));
        else slice.push([walk(key), walk(big.before.has(key) ? big.before.get(key) : MAP_GET.call(object, key))]);
      }
      done = big.index >= big.length;
    }
    const record: Record<string, Encoded> = { c: this.graph.ids.idOf(object)!, [{ map: 'm', set: 's', array: 'a', object: 'l' }[big.kind]]: slice };
    if (!done) record.more = 1;
    else {
      if (big.integrity) record.i = big.integrity;
      this.current = undefined;
      this.bigs.delete(object);
      this.marks[this.graph.ids.idOf(object)!] = SENT; // later writes to it need no copy
    }
    return record;
  }

  /** A large object to send in slices, or undefined for one sent in one record. */
  private bigOf(object: object): Big | undefined {
    const kind = trackedKind(object);
    const limit = SNAPSHOT_LIMITS.splitAbove;
    let length: number;
    let ownKeys: (string | symbol)[] | undefined;
    if (kind === 'map') length = MAP_SIZE.call(object) as number;
    else if (kind === 'set') length = SET_SIZE.call(object) as number;
    else if (kind === 'array') {
      const array = object as unknown[];
      length = array.length;
      // Mostly holes (or absurdly long): the sparse encoding, in one record.
      if (length <= limit || length > 1 << 26 || isIrregularArray(array)) return undefined;
      let present = 0;
      for (let i = 0; i < length && present * 2 < length; i++) if (i in array) present++;
      if (present * 2 < length) return undefined;
    } else if (kind === 'object') {
      ownKeys = Reflect.ownKeys(object);
      length = ownKeys.length;
    } else return undefined;
    if (length <= limit) return undefined;
    return { kind, header: emptyLike(object, kind), integrity: integrityLevel(object), added: new Set(), before: new Map(), restAt: 0, restEnd: 0, started: false, index: 0, length, ownKeys };
  }

  /**
   * An object of the state is about to change: keep what the snapshot needs of it first. Objects
   * numbered since the snapshot and objects already sent need nothing.
   */
  private beforeWrite(target: object, change: Change | undefined): void {
    if (this.closed) return;
    const id = this.graph.ids.idOf(target);
    if (id === undefined || id >= this.firstNewId || this.marks[id] === SENT || this.images.has(target)) return;
    let big = this.bigs.get(target);
    if (!big) {
      big = this.bigOf(target);
      if (!big) {
        this.images.set(target, imageOf(target));
        return;
      }
      this.bigs.set(target, big);
    }
    if (big.rest) return;
    // The header (prototype, extra properties) as it was, if this write could change it.
    const kind = change?.kind;
    const key = change && 'key' in change ? change.key : change && 'value' in change ? change.value : undefined;
    if (big.kind === 'map' && (kind === 'mapSet' || kind === 'mapDelete')) {
      if (big.added.has(key)) return; // not in the snapshot, and after its entries in the order
      const had = Map.prototype.has.call(target as Map<unknown, unknown>, key);
      if (kind === 'mapSet') {
        if (!had) big.added.add(key);
        else if (!big.before.has(key)) big.before.set(key, MAP_GET.call(target, key));
        return;
      }
      if (!had) return;
    } else if (big.kind === 'set' && (kind === 'setAdd' || kind === 'setDelete')) {
      if (big.added.has(key)) return;
      const had = Set.prototype.has.call(target as Set<unknown>, key);
      if (kind === 'setAdd') return had ? undefined : void big.added.add(key);
      if (!had) return;
    } else if (big.kind === 'object' && change?.kind === 'prop' && change.after && 'value' in change.after && flagsPlain(change.after)) {
      if (big.added.has(key) || big.before.has(key)) return;
      const d = Reflect.getOwnPropertyDescriptor(target, key as string);
      if (d === undefined) return void big.added.add(key);
      if ('value' in d && flagsPlain(d)) return void big.before.set(key, d.value);
    }
    // Anything else (a deletion, which loses the key's place; a write to an array; a change of
    // prototype or attributes): copy what is left to send, as it is now (that is, as it was).
    // Its prototype or extra properties may change: the first record needs them as they were.
    if (!big.started && (kind === 'proto' || (kind === 'prop' && (big.kind !== 'array' || !isIndexKey(key as string | symbol))))) big.header = emptyLike(target, big.kind);
    this.materialize(target, big);
  }

  /** What is left to send of a large object, copied now (keys added since are not in it; old values are). */
  private materialize(object: object, big: Big): void {
    const from = big.started ? big.index : 0;
    big.restAt = 0;
    if (big.kind === 'array') {
      big.rest = Array.prototype.slice.call(object, from, big.length) as unknown[];
    } else if (big.kind === 'object') {
      const keys: unknown[] = [];
      const descriptors: unknown[] = [];
      for (const key of big.ownKeys!.slice(from)) {
        if (big.added.has(key)) continue;
        const d = big.before.has(key) ? descriptorFor(big.before.get(key), 0) : Reflect.getOwnPropertyDescriptor(object, key);
        if (d) keys.push(key), descriptors.push(d);
      }
      big.rest = keys;
      big.restValues = descriptors;
    } else {
      // The entries at the snapshot are the first `length` (see continueBig): taken whole, then the ones sent skipped.
      big.rest = Array.from(big.kind === 'map' ? MAP_KEYS.call(object) : SET_VALUES.call(object));
      big.restAt = from;
      big.restEnd = big.length;
      if (big.kind === 'map') {
        const values = Array.from(MAP_VALUES.call(object));
        if (big.before.size > 0) for (let i = from; i < big.length; i++) if (big.before.has(big.rest[i])) values[i] = big.before.get(big.rest[i]);
        big.restValues = values;
      }
      return;
    }
    big.restEnd = big.rest.length;
  }
}

const MAP_GET = Map.prototype.get as (this: object, key: unknown) => unknown;
const MAP_KEYS = Map.prototype.keys as (this: object) => IterableIterator<unknown>;
const MAP_VALUES = Map.prototype.values as (this: object) => IterableIterator<unknown>;
const SET_VALUES = Set.prototype.values as (this: object) => IterableIterator<unknown>;

const QUEUED = 1;
const SENT = 2;

const MAP_SIZE = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
const SET_SIZE = Object.getOwnPropertyDescriptor(Set.prototype, 'size')!.get!;

function flagsPlain(d: PropertyDescriptor): boolean {
  return d.writable === true && d.enumerable === true && d.configurable === true;
}

/** An empty object of the same kind and prototype, with the same extra properties (not the entries). */
function emptyLike(object: object, kind: Big['kind']): object {
  const empty: object = kind === 'map' ? new Map() : kind === 'set' ? new Set() : kind === 'array' ? [] : (Object.create(Object.getPrototypeOf(object) as object | null) as object);
  if (kind === 'object') return empty;
  if (Object.getPrototypeOf(empty) !== Object.getPrototypeOf(object)) Object.setPrototypeOf(empty, Object.getPrototypeOf(object) as object | null);
  const keys = kind === 'array' ? Reflect.ownKeys(object).filter((k) => k !== 'length' && !isIndexKey(k)) : extraKeys(object, kind);
  for (const key of keys) Object.defineProperty(empty, key, Reflect.getOwnPropertyDescriptor(object, key)!);
  return empty;
}

/** A small object's content as it is now, in an object of its own (what the snapshot sends for it). */
function imageOf(object: object): object {
  const kind = trackedKind(object);
  let copy: object;
  switch (kind) {
    case 'map':
      copy = new Map();
      break;
    case 'set':
      copy = new Set();
      break;
    case 'array':
      copy = [];
      break;
    case 'date':
      copy = new Date(NaN);
      break;
    case 'typed': {
      // Zeroed, of the same kind and length: its bytes, extra properties and lock are copied below.
      const typed = object as TypedArray;
      copy = Buffer.isBuffer(typed) ? Buffer.alloc(typed.length) : new (typed.constructor as new (length: number) => TypedArray)(typed.length);
      break;
    }
    default:
      copy = Object.create(Object.getPrototypeOf(object) as object | null) as object;
  }
  copyContent(copy, object);
  return copy;
}

/** Runs a writer to its end at once (tests, and a runtime asked for a whole snapshot): header and every part. */
export function wholeSnapshot(writer: SnapshotWriter): { header: SnapshotHeader; parts: SnapshotPart[] } {
  const parts: SnapshotPart[] = [];
  for (let next = writer.next(Infinity, Infinity); next; next = writer.next(Infinity, Infinity)) parts.push(JSON.parse(next.part) as SnapshotPart);
  writer.close();
  return { header: writer.header, parts };
}

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
// kind), so the backup makes an empty object on the first reference and fills it when its record comes.
import { copyTyped, type Change, type TypedArray } from '../core/changes.js';
import { decode, Encoder, EncodingError, ENCODED_HOLE, type ClassRegistry, type Encoded } from '../core/encoding.js';
import type { StateGraph } from '../core/graph.js';
import { ObjectIds } from '../core/object-ids.js';
import { applyIntegrityLevel, copyContent, extraKeys, integrityLevel, isIndexKey, isIrregularArray, trackedKind } from '../core/values.js';

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
  /** What is left to send, copied at a write that the above cannot describe: pairs, or members/elements. */
  rest?: unknown[];
  restAt: number;
  /** Once its first record has gone: the live iteration. */
  started: boolean;
  keys?: Iterator<unknown>;
  index: number;
  length: number;
};

/** The primary's side: what to send next, with the state kept as it was at the snapshot's point. */
export class SnapshotWriter {
  readonly header: SnapshotHeader;
  private readonly queue: object[] = [];
  private head = 0;
  private readonly queued = new Set<object>();
  /** Objects whose records have all been produced: later writes to them need no copy. */
  private readonly sent = new WeakSet<object>();
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
    for (const [name, root] of roots) {
      rootIds[name] = ids.assign(root);
      this.enqueue(root);
    }
    this.header = { epoch: meta.epoch, seq: meta.seq, nextId: ids.next, roots: rootIds };
    this.firstNewId = ids.next;
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
    this.queued.clear();
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
    if (this.queued.has(object)) return;
    this.queued.add(object);
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
    this.sent.add(object);
    return this.encoder.record(image ?? object, object);
  }

  /** The next slice of the large object being sent. */
  private continueBig(): Encoded {
    const { object, big } = this.current!;
    const slice: Encoded[] = [];
    const fields: Record<string, Encoded> = Object.create(null) as Record<string, Encoded>;
    const walk = (v: unknown) => this.encoder.walk(v);
    let more = true;
    for (let n = 0; n < SNAPSHOT_LIMITS.sliceEntries; n++) {
      const next = this.nextEntry(object, big);
      if (next === undefined) {
        more = false;
        break;
      }
      if (big.kind === 'map') slice.push([walk(next[0]), walk(next[1])]);
      else if (big.kind === 'object') Object.defineProperty(fields, next[0] as string, { value: walk(next[1]), enumerable: true, writable: true, configurable: true });
      else slice.push(next.length === 0 ? ENCODED_HOLE : walk(next[1]));
    }
    if (more && this.peekDone(object, big)) more = false;
    const key = { map: 'm', set: 's', array: 'a', object: 'f' }[big.kind];
    const record: Record<string, Encoded> = { c: this.graph.ids.idOf(object)!, [key]: big.kind === 'object' ? fields : slice };
    if (more) record.more = 1;
    else {
      if (big.integrity) record.i = big.integrity;
      this.current = undefined;
      this.bigs.delete(object);
      this.sent.add(object);
    }
    return record;
  }

  /** Whether nothing is left of the large object (so its last slice says so). */
  private peekDone(object: object, big: Big): boolean {
    if (big.rest) return big.restAt >= big.rest.length;
    if (big.kind === 'array') return big.index >= big.length;
    return false;
  }

  /** The next entry as it was at the snapshot: [key, value], [index, element], [] for a hole; undefined at the end. */
  private nextEntry(object: object, big: Big): unknown[] | undefined {
    if (big.rest) {
      if (big.restAt >= big.rest.length) return undefined;
      const at = big.restAt++;
      if (big.kind === 'array') return at in big.rest ? [at, big.rest[at]] : [];
      if (big.kind === 'set') return [undefined, big.rest[at]];
      return big.rest[at] as unknown[];
    }
    if (big.kind === 'array') {
      if (big.index >= big.length) return undefined;
      const i = big.index++;
      return i in object ? [i, (object as unknown[])[i]] : [];
    }
    big.keys ??= this.keysOf(object, big.kind);
    for (;;) {
      const step = big.keys.next();
      if (step.done) return undefined;
      const key = step.value;
      if (big.added.has(key)) continue;
      if (big.kind === 'set') return [undefined, key];
      return [key, big.before.has(key) ? big.before.get(key) : big.kind === 'map' ? Map.prototype.get.call(object, key) : (object as Record<string, unknown>)[key as string]];
    }
  }

  private keysOf(object: object, kind: Big['kind']): Iterator<unknown> {
    if (kind === 'map') return Map.prototype.keys.call(object as Map<unknown, unknown>);
    if (kind === 'set') return Set.prototype.values.call(object as Set<unknown>);
    return Object.keys(object)[Symbol.iterator]();
  }

  /** A large object to send in slices, or undefined for one sent in one record. */
  private bigOf(object: object): Big | undefined {
    const kind = trackedKind(object);
    const limit = SNAPSHOT_LIMITS.splitAbove;
    let length = 0;
    if (kind === 'map') length = MAP_SIZE.call(object) as number;
    else if (kind === 'set') length = SET_SIZE.call(object) as number;
    else if (kind === 'array') {
      const array = object as unknown[];
      if (array.length <= limit || isIrregularArray(array)) return undefined;
      length = array.length;
      let present = 0;
      for (const key in array) if (isIndexKey(key) && ++present * 2 >= length) break;
      if (present * 2 < length) return undefined; // mostly holes: the sparse encoding, in one record
    } else if (kind === 'object') {
      if (!isOrdinary(object, limit)) return undefined;
      length = limit + 1;
    } else return undefined;
    if (length <= limit) return undefined;
    return { kind, header: emptyLike(object, kind), integrity: integrityLevel(object), added: new Set(), before: new Map(), restAt: 0, started: false, index: 0, length };
  }

  /**
   * An object of the state is about to change: keep what the snapshot needs of it first. Objects
   * numbered since the snapshot and objects already sent need nothing.
   */
  private beforeWrite(target: object, change: Change | undefined): void {
    if (this.closed || this.sent.has(target) || this.images.has(target)) return;
    const id = this.graph.ids.idOf(target);
    if (id === undefined || id >= this.firstNewId) return;
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
      if (big.added.has(key) || big.before.has(key)) return;
      const had = Map.prototype.has.call(target as Map<unknown, unknown>, key);
      if (kind === 'mapSet') return had ? void big.before.set(key, Map.prototype.get.call(target as Map<unknown, unknown>, key)) : void big.added.add(key);
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
    if (!big.started) big.header = emptyLike(target, big.kind);
    big.rest = this.remaining(target, big);
  }

  private remaining(object: object, big: Big): unknown[] {
    if (big.kind === 'array') {
      const from = big.started ? big.index : 0;
      big.index = 0;
      return Array.prototype.slice.call(object, from, big.length) as unknown[];
    }
    const out: unknown[] = [];
    for (let entry = this.nextEntry(object, big); entry !== undefined; entry = this.nextEntry(object, big)) out.push(big.kind === 'set' ? entry[1] : entry);
    return out;
  }
}

const MAP_SIZE = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
const SET_SIZE = Object.getOwnPropertyDescriptor(Set.prototype, 'size')!.get!;

function flagsPlain(d: PropertyDescriptor): boolean {
  return d.writable === true && d.enumerable === true && d.configurable === true;
}

/** Whether an object's own properties are all plain string-keyed fields, and more than `limit`. */
function isOrdinary(object: object, limit: number): boolean {
  const keys = Reflect.ownKeys(object);
  if (keys.length <= limit) return false;
  for (const key of keys) {
    if (typeof key === 'symbol') return false;
    const d = Reflect.getOwnPropertyDescriptor(object, key)!;
    if (!('value' in d) || !flagsPlain(d)) return false;
  }
  return true;
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
    case 'typed':
      return withExtras(copyTyped(object as TypedArray), object);
    default:
      copy = Object.create(Object.getPrototypeOf(object) as object | null) as object;
  }
  copyContent(copy, object);
  return copy;
}

function withExtras(copy: object, source: object): object {
  for (const key of Reflect.ownKeys(source)) if (!isIndexKey(key)) Object.defineProperty(copy, key, Reflect.getOwnPropertyDescriptor(source, key)!);
  applyIntegrityLevel(copy, integrityLevel(source));
  return copy;
}

/** The joining backup's side: objects made and filled as records arrive, numbered as the primary numbers them. */
export class SnapshotReader {
  readonly ids = new ObjectIds(true);
  /** Objects referenced before their record came: made empty, filled by it. */
  private readonly shells = new Set<number>();
  /** Large objects whose last slice has not come yet, with the integrity to give them then. */
  private readonly open = new Map<number, string | undefined>();
  readonly replies: [string, string][] = [];
  private readonly shell = (id: number, reference: { [key: string]: Encoded }): object | undefined => {
    const made = makeEmpty(reference, this.classes);
    if (!made) return undefined;
    this.ids.register(made, id);
    this.shells.add(id);
    return made;
  };

  constructor(
    readonly header: SnapshotHeader,
    private readonly classes: ClassRegistry,
  ) {
    if (typeof header?.roots !== 'object' || header.roots === null || !Number.isSafeInteger(header.seq)) throw new EncodingError('Malformed snapshot: no roots or sequence number.');
  }

  part(part: SnapshotPart): void {
    if (!Array.isArray(part?.records)) throw new EncodingError('Malformed snapshot part: no records.');
    for (const record of part.records) this.record(record);
    if (Array.isArray(part.replies)) for (const entry of part.replies) if (Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'string') this.replies.push([entry[0], entry[1]]);
  }

  private record(encoded: Encoded): void {
    if (typeof encoded !== 'object' || encoded === null || Array.isArray(encoded)) throw new EncodingError('Malformed snapshot record.');
    const record = encoded as Record<string, Encoded>;
    if (typeof record.c === 'number') return this.continuation(record);
    const id = record.id;
    if (typeof id !== 'number') throw new EncodingError('Malformed snapshot record: no id.');
    const more = record.more === 1;
    const integrity = typeof record.i === 'string' ? record.i : undefined;
    const body = { ...record };
    delete body.more;
    if (more) delete body.i;
    if (this.shells.delete(id)) {
      const content = decode(body, this.classes, this.ids, id, this.shell) as object;
      const shell = this.ids.objectOf(id)!;
      if (trackedKind(shell) !== trackedKind(content)) throw new EncodingError(`Malformed snapshot: object #${id} was referred to as another kind.`);
      copyContent(shell, content);
    } else if (this.ids.objectOf(id) !== undefined) {
      throw new EncodingError(`Malformed snapshot: object #${id} sent twice.`);
    } else decode(body, this.classes, this.ids, undefined, this.shell);
    if (more) this.open.set(id, integrity);
  }

  private continuation(record: Record<string, Encoded>): void {
    const id = record.c as number;
    if (!this.open.has(id)) throw new EncodingError(`Malformed snapshot: a slice of object #${id}, which is not being sent.`);
    const target = this.ids.objectOf(id)!;
    const part = (tag: string, v: Encoded) => decode({ $: tag, v }, this.classes, this.ids, undefined, this.shell);
    if (Array.isArray(record.m)) for (const [k, v] of part('m', record.m) as Map<unknown, unknown>) Map.prototype.set.call(target as Map<unknown, unknown>, k, v);
    else if (Array.isArray(record.s)) for (const v of part('s', record.s) as Set<unknown>) Set.prototype.add.call(target as Set<unknown>, v);
    else if (Array.isArray(record.a)) {
      const items = part('a', record.a) as unknown[];
      const array = target as unknown[];
      const base = array.length;
      array.length = base + items.length;
      for (let i = 0; i < items.length; i++) if (i in items) array[base + i] = items[i];
    } else if (typeof record.f === 'object' && record.f !== null) {
      const fields = part('o', record.f) as Record<string, unknown>;
      for (const key of Object.keys(fields)) Object.defineProperty(target, key, { value: fields[key], writable: true, enumerable: true, configurable: true });
    } else throw new EncodingError('Malformed snapshot: a slice with nothing in it.');
    if (record.more === 1) return;
    const integrity = this.open.get(id);
    this.open.delete(id);
    if (integrity) applyIntegrityLevel(target, integrity === 'f' || integrity === 's' ? integrity : 'n');
  }

  /** Every record has come: the roots, by state object name. Throws if anything referred to never came. */
  finish(): Map<string, object> {
    if (this.shells.size > 0 || this.open.size > 0) throw new EncodingError(`Malformed snapshot: ${this.shells.size + this.open.size} object(s) referred to but never (fully) sent.`);
    const roots = new Map<string, object>();
    for (const [name, id] of Object.entries(this.header.roots)) {
      const root = this.ids.objectOf(id);
      if (!root) throw new EncodingError(`Malformed snapshot: the root of '${name}' (#${id}) never came.`);
      roots.set(name, root);
    }
    this.ids.next = Math.max(this.ids.next, this.header.nextId);
    return roots;
  }
}

function makeEmpty(reference: { [key: string]: Encoded }, classes: ClassRegistry): object | undefined {
  switch (reference.k) {
    case 'a':
      return [];
    case 'm':
      return new Map();
    case 's':
      return new Set();
    case 'o':
      return {};
    case 'z':
      return Object.create(null) as object;
    case 'c': {
      const cls = classes.get(reference.c as string);
      if (!cls) throw new EncodingError(`Malformed snapshot: class '${String(reference.c)}' is not a class of this service.`);
      return Object.create(cls.prototype as object) as object;
    }
    default:
      return undefined;
  }
}

/** Runs a writer to its end at once (tests, and a runtime asked for a whole snapshot): header and every part. */
export function wholeSnapshot(writer: SnapshotWriter): { header: SnapshotHeader; parts: SnapshotPart[] } {
  const parts: SnapshotPart[] = [];
  for (let next = writer.next(Infinity, Infinity); next; next = writer.next(Infinity, Infinity)) parts.push(JSON.parse(next.part) as SnapshotPart);
  writer.close();
  return { header: writer.header, parts };
}

/** Loads a whole snapshot into a reader (the other half of wholeSnapshot). */
export function readWhole(snapshot: { header: SnapshotHeader; parts: SnapshotPart[] }, classes: ClassRegistry): SnapshotReader {
  const reader = new SnapshotReader(snapshot.header, classes);
  for (const part of snapshot.parts) reader.part(part);
  return reader;
}

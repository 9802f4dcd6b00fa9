// The joining backup's side of a streamed snapshot (snapshot.ts): objects made and filled as records
// arrive, numbered as the primary numbers them. A reference to an object whose record has not come yet
// names its kind, so an empty one of that kind is made at once and filled when its record comes; a large
// object's slices are appended in order, and its lock (frozen, sealed) applied after the last.
import { decode, EncodingError, type ClassRegistry, type Encoded, type SnapshotDecoding } from '../core/encoding.js';
import { ObjectIds } from '../core/object-ids.js';
import { applyIntegrityLevel, trackedKind } from '../core/values.js';
import type { SnapshotHeader, SnapshotPart } from './snapshot.js';

export class SnapshotReader {
  readonly ids = new ObjectIds(true);
  /** Every object of the snapshot so far, by id, held until it is installed (cheaper than `ids`' weak lookups). */
  private readonly made = new Map<number, object>();
  /** Objects referenced before their record came: made empty, filled by it. */
  private readonly shells = new Map<number, object>();
  /** Large objects whose last slice has not come yet, with the integrity to give them then. */
  private readonly open = new Map<number, string | undefined>();
  readonly replies: [string, string][] = [];
  private readonly decoding: SnapshotDecoding = {
    resolve: (id, reference) => {
      const known = this.made.get(id) ?? this.ids.objectOf(id);
      if (known !== undefined) return known;
      const made = makeEmpty(reference, this.classes);
      if (!made) return undefined;
      this.ids.register(made, id);
      this.made.set(id, made);
      this.shells.set(id, made);
      return made;
    },
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
    if (Array.isArray(part.replies))
      for (const entry of part.replies) if (Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'string') this.replies.push([entry[0], entry[1]]);
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
    const shell = this.shells.get(id);
    if (shell) {
      // Made when first referred to: the record fills it in place (the references to it stay right).
      this.shells.delete(id);
      if (KIND_OF_TAG[body.$ as string] !== trackedKind(shell)) throw new EncodingError(`Malformed snapshot: object #${id} was referred to as another kind.`);
      decode(body, this.classes, this.ids, id, { ...this.decoding, into: shell });
    } else if (this.made.has(id) || this.ids.objectOf(id) !== undefined) {
      throw new EncodingError(`Malformed snapshot: object #${id} sent twice.`);
    } else this.made.set(id, decode(body, this.classes, this.ids, undefined, this.decoding) as object);
    if (more) this.open.set(id, integrity);
  }

  private continuation(record: Record<string, Encoded>): void {
    const id = record.c as number;
    if (!this.open.has(id)) throw new EncodingError(`Malformed snapshot: a slice of object #${id}, which is not being sent.`);
    const target = this.made.get(id)!;
    // Entries and properties are decoded straight into the object (appended, in order); elements via a list.
    const into = (encoded: Encoded) => decode(encoded, this.classes, this.ids, undefined, { ...this.decoding, into: target });
    if (Array.isArray(record.m)) into({ $: 'm', v: record.m });
    else if (Array.isArray(record.s)) into({ $: 's', v: record.s });
    else if (Array.isArray(record.a)) {
      const items = decode({ $: 'a', v: record.a }, this.classes, this.ids, undefined, this.decoding) as unknown[];
      const array = target as unknown[];
      const base = array.length;
      array.length = base + items.length;
      for (let i = 0; i < items.length; i++) if (i in items) array[base + i] = items[i];
    } else if (Array.isArray(record.l)) into({ $: 'o', l: record.l });
    else throw new EncodingError('Malformed snapshot: a slice with nothing in it.');
    if (record.more === 1) return;
    // The last slice says how locked the object was (the first record's level would stop the slices).
    const integrity = typeof record.i === 'string' ? record.i : this.open.get(id);
    this.open.delete(id);
    if (integrity) applyIntegrityLevel(target, integrity === 'f' || integrity === 's' ? integrity : 'n');
  }

  /** Every record has come: the roots, by state object name. Throws if anything referred to never came. */
  finish(): Map<string, object> {
    if (this.shells.size > 0 || this.open.size > 0) throw new EncodingError(`Malformed snapshot: ${this.shells.size + this.open.size} object(s) referred to but never (fully) sent.`);
    const roots = new Map<string, object>();
    for (const [name, id] of Object.entries(this.header.roots)) {
      const root = this.made.get(id) ?? this.ids.objectOf(id);
      if (!root) throw new EncodingError(`Malformed snapshot: the root of '${name}' (#${id}) never came.`);
      roots.set(name, root);
    }
    this.ids.next = Math.max(this.ids.next, this.header.nextId);
    this.made.clear(); // the state holds them now
    return roots;
  }
}

/** The kind of object a record's tag makes: a record filling an object made earlier must agree. */
const KIND_OF_TAG: Record<string, string> = { a: 'array', m: 'map', s: 'set', o: 'object', c: 'object' };

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

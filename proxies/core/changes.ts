// A change to an object of a state graph, as recorded when it is made: what changed, and enough of what
// was there before to undo it exactly (a property's whole descriptor, an array's holes, a prototype).
// One array splice is one change, whatever it moves. Changes that lose order (a delete from a Map, a Set
// or a keyed object) are preceded by an 'order' change keeping the target's previous order, once per
// target per action (or per request inside a transaction), so that undo puts entries back where they
// were: a replica whose iteration order drifts answers differently.
import type { ClassRegistry, Encoded } from './encoding.js';
import { decode, decodeKey, encode, encodeKey, EncodingError, ENCODED_HOLE, isHole } from './encoding.js';
import type { ObjectIds } from './object-ids.js';
import { flagsOf, noteArrayProperty, restoreArray, spliceKeepingHoles } from './values.js';

type TypedArray = Exclude<ArrayBufferView, DataView> & { [index: number]: number | bigint; length: number; set(source: ArrayLike<number | bigint>): void };

interface Shipping {
  /** Whether replicas must receive it: the target was in a replicated graph when it changed. */
  ship?: boolean;
}

export type Change = Shipping &
  (
    | { kind: 'prop'; target: object; key: string | symbol; before?: PropertyDescriptor; after?: PropertyDescriptor; length?: number }
    | { kind: 'splice'; target: unknown[]; start: number; removed: unknown[]; inserted: unknown[] }
    | { kind: 'replace'; target: unknown[]; previous: unknown[]; value: unknown[] }
    | { kind: 'mapSet'; target: Map<unknown, unknown>; key: unknown; value: unknown; had: boolean; previous: unknown }
    | { kind: 'mapDelete'; target: Map<unknown, unknown>; key: unknown; value: unknown }
    | { kind: 'mapClear'; target: Map<unknown, unknown>; previous: [unknown, unknown][] }
    | { kind: 'setAdd'; target: Set<unknown>; value: unknown }
    | { kind: 'setDelete'; target: Set<unknown>; value: unknown }
    | { kind: 'setClear'; target: Set<unknown>; previous: unknown[] }
    | { kind: 'date'; target: Date; previous: number; value: number }
    | { kind: 'proto'; target: object; before: object | null; after: object | null }
    | { kind: 'tset'; target: TypedArray; index: number; previous: number | bigint; value: number | bigint }
    | { kind: 'tcopy'; target: TypedArray; previous: TypedArray; value: TypedArray }
    /** The target's entries (with their descriptors, for objects), in order, before an order-losing change. */
    | { kind: 'order'; target: object; entries: unknown[] }
  );

const mapSet = Map.prototype.set;
const mapDelete = Map.prototype.delete;
const mapClear = Map.prototype.clear;
const mapEntries = Map.prototype.entries;
const setAdd = Set.prototype.add;
const setDelete = Set.prototype.delete;
const setClear = Set.prototype.clear;
const setValues = Set.prototype.values;
const dateSetTime = Date.prototype.setTime;

/** Puts the graph back as it was before `changes` (which must be the newest changes), newest first. */
export function undoChange(c: Change): void {
  switch (c.kind) {
    case 'prop':
      if (c.before) Object.defineProperty(c.target, c.key, c.before);
      else Reflect.deleteProperty(c.target, c.key);
      if (c.length !== undefined) (c.target as unknown[]).length = c.length;
      noteArrayProperty(c.target, c.key, c.before); // an element put back with its attributes (values.ts)
      return;
    case 'splice':
      spliceKeepingHoles(c.target, c.start, c.inserted.length, c.removed);
      return;
    case 'replace':
      restoreArray(c.target, c.previous);
      return;
    case 'mapSet':
      if (c.had) mapSet.call(c.target, c.key, c.previous);
      else mapDelete.call(c.target, c.key);
      return;
    case 'mapDelete':
      mapSet.call(c.target, c.key, c.value); // at the end; the 'order' change before it puts it in its place
      return;
    case 'mapClear':
      for (const [k, v] of c.previous) mapSet.call(c.target, k, v);
      return;
    case 'setAdd':
      setDelete.call(c.target, c.value);
      return;
    case 'setDelete':
      setAdd.call(c.target, c.value);
      return;
    case 'setClear':
      for (const v of c.previous) setAdd.call(c.target, v);
      return;
    case 'date':
      dateSetTime.call(c.target, c.previous);
      return;
    case 'proto':
      Object.setPrototypeOf(c.target, c.before);
      return;
    case 'tset':
      c.target[c.index] = c.previous;
      return;
    case 'tcopy':
      c.target.set(c.previous as unknown as ArrayLike<number>);
      return;
    case 'order':
      restoreOrder(c.target, c.entries);
      return;
  }
}

/** Objects a change put into its target (they join the graph), and objects it took out (they may leave). */
export function valuesAdded(c: Change): unknown[] {
  switch (c.kind) {
    case 'prop':
      return c.after && 'value' in c.after ? [c.after.value] : [];
    case 'splice':
      return present(c.inserted);
    case 'replace':
      return present(c.value);
    case 'mapSet':
      return c.had ? [c.value] : [c.key, c.value];
    case 'setAdd':
      return [c.value];
    default:
      return [];
  }
}

export function valuesRemoved(c: Change): unknown[] {
  switch (c.kind) {
    case 'prop':
      return c.before && 'value' in c.before ? [c.before.value] : [];
    case 'splice':
      return present(c.removed);
    case 'replace':
      return present(c.previous);
    case 'mapSet':
      return c.had ? [c.previous] : [];
    case 'mapDelete':
      return [c.key, c.value];
    case 'mapClear':
      return c.previous.flat();
    case 'setDelete':
      return [c.value];
    case 'setClear':
      return c.previous;
    default:
      return [];
  }
}

function present(items: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) if (i in items) out.push(items[i]);
  return out;
}

/** The entries of a Map, Set or keyed object, in iteration order: what 'order' keeps. */
export function orderedEntries(target: object): unknown[] {
  if (target instanceof Map) return [...mapEntries.call(target)];
  if (target instanceof Set) return [...setValues.call(target)];
  return Reflect.ownKeys(target).map((k) => [k, Reflect.getOwnPropertyDescriptor(target, k)]);
}

function restoreOrder(target: object, entries: unknown[]): void {
  if (target instanceof Map) {
    mapClear.call(target);
    for (const [k, v] of entries as [unknown, unknown][]) mapSet.call(target, k, v);
  } else if (target instanceof Set) {
    setClear.call(target);
    for (const v of entries) setAdd.call(target, v);
  } else {
    for (const k of Reflect.ownKeys(target)) {
      if (Reflect.getOwnPropertyDescriptor(target, k)?.configurable) Reflect.deleteProperty(target, k);
    }
    for (const [k, d] of entries as [string | symbol, PropertyDescriptor][]) {
      if (!Object.hasOwn(target, k)) Object.defineProperty(target, k, d);
    }
  }
}

/** A change as sent to the backups: targets by object id, new values encoded (known objects by id). */
export type WireChange =
  | { t: 'p'; o: number; k: Encoded; v?: Encoded; f?: number }
  | { t: 'splice'; o: number; s: number; d: number; v: Encoded[] }
  | { t: 'replace'; o: number; v: Encoded[] }
  | { t: 'mapSet'; o: number; k: Encoded; v: Encoded }
  | { t: 'mapDelete'; o: number; k: Encoded }
  | { t: 'mapClear'; o: number }
  | { t: 'setAdd'; o: number; v: Encoded }
  | { t: 'setDelete'; o: number; v: Encoded }
  | { t: 'setClear'; o: number }
  | { t: 'date'; o: number; v: number | 'NaN' }
  | { t: 'proto'; o: number; c: string | null }
  | { t: 'tset'; o: number; i: number; v: Encoded }
  | { t: 'tcopy'; o: number; v: Encoded }
  /** The object's whole content, replaced in place (it changed where no trap saw it). */
  | { t: 'reset'; o: number; v: Encoded };

/**
 * Encodes the shippable changes of one action, in order. A change to an object that this encoding also
 * sends in full (it joined during the action) is dropped: the full value, encoded now, holds its effect.
 */
export function encodeChange(c: Change, classes: ClassRegistry, ids: ObjectIds, sentInFull: Set<object>): WireChange | undefined {
  if (c.kind === 'order' || !c.ship || sentInFull.has(c.target)) return undefined;
  const o = ids.idOf(c.target);
  if (o === undefined) throw new Error('A state change targets an object outside the state graph; this is a bug in the replication proxy.');
  const value = (v: unknown) => encode(v, classes, { ids, sent: sentInFull });
  // What a change takes out was on every replica before it: named by id even if it has left the graph
  // since (and so is no longer counted as known to them).
  const removed = (v: unknown) => {
    const id = typeof v === 'object' && v !== null ? ids.idOf(v) : undefined;
    return id !== undefined ? ({ $: 'r', id } as Encoded) : value(v);
  };
  const elements = (items: readonly unknown[]) => Array.from({ length: items.length }, (_, i) => (i in items ? value(items[i]) : ENCODED_HOLE));
  switch (c.kind) {
    case 'prop': {
      if (!c.after) return { t: 'p', o, k: encodeKey(c.key) };
      if (!('value' in c.after)) {
        throw new EncodingError(
          `Cannot send the accessor property '${String(c.key)}' defined on state: a replica cannot receive functions. Define it on a class of the service, or keep a data property.`,
        );
      }
      const flags = flagsOf(c.after);
      return flags === 0 ? { t: 'p', o, k: encodeKey(c.key), v: value(c.after.value) } : { t: 'p', o, k: encodeKey(c.key), v: value(c.after.value), f: flags };
    }
    case 'splice':
      return { t: 'splice', o, s: c.start, d: c.removed.length, v: elements(c.inserted) };
    case 'replace':
      return { t: 'replace', o, v: elements(c.value) };
    case 'mapSet':
      return { t: 'mapSet', o, k: value(c.key), v: value(c.value) };
    case 'mapDelete':
      return { t: 'mapDelete', o, k: removed(c.key) };
    case 'mapClear':
      return { t: 'mapClear', o };
    case 'setAdd':
      return { t: 'setAdd', o, v: value(c.value) };
    case 'setDelete':
      return { t: 'setDelete', o, v: removed(c.value) };
    case 'setClear':
      return { t: 'setClear', o };
    case 'date':
      return { t: 'date', o, v: Number.isNaN(c.value) ? 'NaN' : c.value };
    case 'proto':
      return { t: 'proto', o, c: prototypeName(c.after, classes) };
    case 'tset':
      return { t: 'tset', o, i: c.index, v: value(c.value) };
    case 'tcopy':
      return { t: 'tcopy', o, v: value(c.value) };
  }
}

/** How a prototype travels: a class of the service by name, 'Object', 'Array', or null. */
function prototypeName(proto: object | null, classes: ClassRegistry): string | null {
  if (proto === null) return null;
  if (proto === Object.prototype) return 'Object';
  if (proto === Array.prototype) return 'Array';
  const ctor = (proto as { constructor?: { name?: string } }).constructor;
  if (ctor?.name && (classes.get(ctor.name) as unknown) === ctor && (ctor as { prototype?: unknown }).prototype === proto) return ctor.name;
  throw new EncodingError(`Cannot send a change of prototype to ${ctor?.name ?? 'an object'}: only the service's classes, Object and Array travel by name.`);
}

function prototypeFromName(name: string | null, classes: ClassRegistry): object | null {
  if (name === null) return null;
  if (name === 'Object') return Object.prototype;
  if (name === 'Array') return Array.prototype;
  const cls = classes.get(name);
  if (!cls) throw new EncodingError(`Malformed update: class '${name}' is not a class of this service.`);
  return cls.prototype as object;
}

/**
 * What a wire change does on a replica, as a Change on its own objects (the replica applies it through its
 * graph, so that membership and ids stay as on the primary). The values it removes are read here, before
 * it is applied.
 */
export function changeFromWire(c: WireChange, classes: ClassRegistry, ids: ObjectIds): Change {
  const target = ids.objectOf(c.o);
  if (target === undefined) throw new Error(`Malformed update: object #${c.o} is unknown on this replica.`);
  const value = (v: Encoded) => decode(v, classes, ids);
  const elements = (items: Encoded[]) => {
    const out: unknown[] = new Array(items.length);
    items.forEach((e, i) => {
      if (!isHole(e)) out[i] = value(e);
    });
    return out;
  };
  switch (c.t) {
    case 'p': {
      const key = decodeKey(c.k);
      const before = Reflect.getOwnPropertyDescriptor(target, key);
      const after = c.v === undefined ? undefined : { value: value(c.v), writable: !(c.f! & 1), enumerable: !(c.f! & 2), configurable: !(c.f! & 4) };
      const length = Array.isArray(target) ? target.length : undefined;
      return { kind: 'prop', target, key, before, after, length };
    }
    case 'splice': {
      const array = target as unknown[];
      return { kind: 'splice', target: array, start: c.s, removed: Array.prototype.slice.call(array, c.s, c.s + c.d) as unknown[], inserted: elements(c.v) };
    }
    case 'replace':
      return { kind: 'replace', target: target as unknown[], previous: Array.prototype.slice.call(target) as unknown[], value: elements(c.v) };
    case 'mapSet': {
      const map = target as Map<unknown, unknown>;
      const key = value(c.k);
      const had = Map.prototype.has.call(map, key);
      return { kind: 'mapSet', target: map, key, value: value(c.v), had, previous: had ? Map.prototype.get.call(map, key) : undefined };
    }
    case 'mapDelete': {
      const map = target as Map<unknown, unknown>;
      const key = value(c.k);
      return { kind: 'mapDelete', target: map, key, value: Map.prototype.get.call(map, key) };
    }
    case 'mapClear':
      return { kind: 'mapClear', target: target as Map<unknown, unknown>, previous: [...mapEntries.call(target as Map<unknown, unknown>)] };
    case 'setAdd':
      return { kind: 'setAdd', target: target as Set<unknown>, value: value(c.v) };
    case 'setDelete':
      return { kind: 'setDelete', target: target as Set<unknown>, value: value(c.v) };
    case 'setClear':
      return { kind: 'setClear', target: target as Set<unknown>, previous: [...setValues.call(target as Set<unknown>)] };
    case 'date':
      return { kind: 'date', target: target as Date, previous: Date.prototype.getTime.call(target), value: c.v === 'NaN' ? NaN : c.v };
    case 'proto':
      return { kind: 'proto', target, before: Object.getPrototypeOf(target) as object | null, after: prototypeFromName(c.c, classes) };
    case 'tset': {
      const typed = target as TypedArray;
      return { kind: 'tset', target: typed, index: c.i, previous: typed[c.i]!, value: value(c.v) as number | bigint };
    }
    case 'tcopy': {
      const typed = target as TypedArray;
      return { kind: 'tcopy', target: typed, previous: copyTyped(typed), value: value(c.v) as TypedArray };
    }
    case 'reset':
      throw new Error("A reset is applied by the graph (it replaces an object's content), not as a change.");
  }
}

/** Applies a change (one decoded from the wire, or redone): the forward direction of undoChange. */
export function applyChange(c: Change): void {
  switch (c.kind) {
    case 'prop':
      if (c.after) Object.defineProperty(c.target, c.key, c.after);
      else Reflect.deleteProperty(c.target, c.key);
      noteArrayProperty(c.target, c.key, c.after);
      return;
    case 'splice':
      spliceKeepingHoles(c.target, c.start, c.removed.length, c.inserted);
      return;
    case 'replace':
      restoreArray(c.target, c.value);
      return;
    case 'mapSet':
      mapSet.call(c.target, c.key, c.value);
      return;
    case 'mapDelete':
      mapDelete.call(c.target, c.key);
      return;
    case 'mapClear':
      mapClear.call(c.target);
      return;
    case 'setAdd':
      setAdd.call(c.target, c.value);
      return;
    case 'setDelete':
      setDelete.call(c.target, c.value);
      return;
    case 'setClear':
      setClear.call(c.target);
      return;
    case 'date':
      dateSetTime.call(c.target, c.value);
      return;
    case 'proto':
      Object.setPrototypeOf(c.target, c.after);
      return;
    case 'tset':
      c.target[c.index] = c.value;
      return;
    case 'tcopy':
      c.target.set(c.value as unknown as ArrayLike<number>);
      return;
    case 'order':
      return;
  }
}

export function copyTyped(typed: TypedArray): TypedArray {
  return (typed.constructor as new (source: TypedArray) => TypedArray) === (Buffer as unknown)
    ? (Buffer.from(typed as unknown as Uint8Array) as unknown as TypedArray)
    : new (typed.constructor as new (source: TypedArray) => TypedArray)(typed);
}

export type { TypedArray };

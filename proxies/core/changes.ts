// A change to a state object's graph, as recorded at the Proxy trap: what was changed, and enough of
// what was there before to undo it. One array splice is one change, whatever it moves; only changes
// that lose order (a delete from a Map, a Set or a keyed object) also keep the target's previous order,
// once per target per action, so that undo puts it back exactly: a replica whose iteration order
// drifts would answer differently.
import type { ClassRegistry, Encoded } from './encoding.js';
import { decode, encode } from './encoding.js';
import type { ObjectIds } from './object-ids.js';

export type Change =
  | { kind: 'set'; target: Record<PropertyKey, unknown>; key: string; value: unknown; had: boolean; previous: unknown; previousLength?: number }
  | { kind: 'delete'; target: Record<PropertyKey, unknown>; key: string; previous: unknown }
  | { kind: 'splice'; target: unknown[]; start: number; removed: unknown[]; inserted: unknown[] }
  | { kind: 'replace'; target: unknown[]; previous: unknown[]; value: unknown[] }
  | { kind: 'mapSet'; target: Map<unknown, unknown>; key: unknown; value: unknown; had: boolean; previous: unknown }
  | { kind: 'mapDelete'; target: Map<unknown, unknown>; key: unknown }
  | { kind: 'mapClear'; target: Map<unknown, unknown>; previous: [unknown, unknown][] }
  | { kind: 'setAdd'; target: Set<unknown>; value: unknown }
  | { kind: 'setDelete'; target: Set<unknown>; value: unknown }
  | { kind: 'setClear'; target: Set<unknown>; previous: unknown[] }
  | { kind: 'date'; target: Date; previous: number; value: number }
  /** The target's entries, in order, before the first order-losing change of this action. */
  | { kind: 'order'; target: object; entries: unknown[] };

/** Puts the graph back as it was before `changes`, newest first. */
export function undo(changes: readonly Change[]): void {
  for (let i = changes.length - 1; i >= 0; i--) undoOne(changes[i]!);
}

function undoOne(c: Change): void {
  switch (c.kind) {
    case 'set':
      if (c.had) c.target[c.key] = c.previous;
      else delete c.target[c.key];
      if (c.previousLength !== undefined) (c.target as unknown as unknown[]).length = c.previousLength;
      return;
    case 'delete':
      c.target[c.key] = c.previous;
      return;
    case 'splice':
      spliceInto(c.target, c.start, c.inserted.length, c.removed);
      return;
    case 'replace':
      spliceInto(c.target, 0, c.target.length, c.previous);
      return;
    case 'mapSet':
      if (c.had) c.target.set(c.key, c.previous);
      else c.target.delete(c.key);
      return;
    case 'mapClear':
      for (const [k, v] of c.previous) c.target.set(k, v);
      return;
    case 'setAdd':
      c.target.delete(c.value);
      return;
    case 'mapDelete':
    case 'setDelete':
      return; // the 'order' change recorded before it restores the entry in its place
    case 'setClear':
      for (const v of c.previous) c.target.add(v);
      return;
    case 'date':
      c.target.setTime(c.previous);
      return;
    case 'order':
      restoreOrder(c.target, c.entries);
      return;
  }
}

/** The entries of a Map, Set or keyed object, in iteration order: what 'order' keeps. */
export function orderedEntries(target: object): unknown[] {
  if (target instanceof Map) return [...target];
  if (target instanceof Set) return [...target];
  return Object.keys(target).map((k) => [k, (target as Record<string, unknown>)[k]]);
}

function restoreOrder(target: object, entries: unknown[]): void {
  if (target instanceof Map) {
    target.clear();
    for (const [k, v] of entries as [unknown, unknown][]) target.set(k, v);
  } else if (target instanceof Set) {
    target.clear();
    for (const v of entries) target.add(v);
  } else {
    const record = target as Record<string, unknown>;
    for (const k of Object.keys(record)) delete record[k];
    for (const [k, v] of entries as [string, unknown][]) record[k] = v;
  }
}

/** `array.splice(start, deleteCount, ...items)` without spreading, which overflows the stack on big arrays. */
export function spliceInto(array: unknown[], start: number, deleteCount: number, items: readonly unknown[]): unknown[] {
  if (items.length < 10_000) return array.splice(start, deleteCount, ...items);
  const tail = array.splice(start + deleteCount);
  const removed = array.splice(start);
  for (const item of items) array.push(item);
  for (const item of tail) array.push(item);
  return removed;
}

/** A change as sent to the backups: targets by object id, new values encoded (known objects by id). */
export type WireChange =
  | { t: 'set'; o: number; k: string; v: Encoded }
  | { t: 'delete'; o: number; k: string }
  | { t: 'splice'; o: number; s: number; d: number; v: Encoded[] }
  | { t: 'replace'; o: number; v: Encoded[] }
  | { t: 'mapSet'; o: number; k: Encoded; v: Encoded }
  | { t: 'mapDelete'; o: number; k: Encoded }
  | { t: 'mapClear'; o: number }
  | { t: 'setAdd'; o: number; v: Encoded }
  | { t: 'setDelete'; o: number; v: Encoded }
  | { t: 'setClear'; o: number }
  | { t: 'date'; o: number; v: number };

/**
 * Encodes the shippable changes of one action, in order. A change to an object that this action also
 * sends in full (it was attached during the action) is dropped: the full value, encoded now, already
 * holds its effect.
 */
export function encodeChanges(changes: readonly Change[], classes: ClassRegistry, ids: ObjectIds, sentByAction?: Set<object>): WireChange[] {
  const sentInFull = new Set<object>();
  const out: WireChange[] = [];
  const value = (v: unknown) => encode(v, classes, { ids, sent: sentInFull });
  for (const c of changes) {
    if (c.kind === 'order' || sentInFull.has(c.target)) continue;
    const o = ids.idOf(c.target);
    if (o === undefined) throw new Error('A state change targets an object outside the state graph; this is a bug in the replication proxy.');
    switch (c.kind) {
      case 'set':
        out.push({ t: 'set', o, k: c.key, v: value(c.value) });
        break;
      case 'delete':
        out.push({ t: 'delete', o, k: c.key });
        break;
      case 'splice':
        out.push({ t: 'splice', o, s: c.start, d: c.removed.length, v: Array.from(c.inserted, value) });
        break;
      case 'replace':
        out.push({ t: 'replace', o, v: Array.from(c.value, value) }); // holes as undefined
        break;
      case 'mapSet':
        out.push({ t: 'mapSet', o, k: value(c.key), v: value(c.value) });
        break;
      case 'mapDelete':
        out.push({ t: 'mapDelete', o, k: value(c.key) });
        break;
      case 'mapClear':
        out.push({ t: 'mapClear', o });
        break;
      case 'setAdd':
        out.push({ t: 'setAdd', o, v: value(c.value) });
        break;
      case 'setDelete':
        out.push({ t: 'setDelete', o, v: value(c.value) });
        break;
      case 'setClear':
        out.push({ t: 'setClear', o });
        break;
      case 'date':
        out.push({ t: 'date', o, v: c.value });
        break;
    }
  }
  for (const object of sentInFull) sentByAction?.add(object);
  return out;
}

/** Applies changes received from the primary to a backup's replica of the graph. */
export function applyWireChanges(changes: readonly WireChange[], classes: ClassRegistry, ids: ObjectIds): void {
  for (const c of changes) {
    const target = ids.objectOf(c.o);
    if (target === undefined) throw new Error(`Malformed update: object #${c.o} is unknown on this replica.`);
    const value = (v: Encoded) => decode(v, classes, ids);
    switch (c.t) {
      case 'set':
        (target as Record<string, unknown>)[c.k] = value(c.v);
        break;
      case 'delete':
        delete (target as Record<string, unknown>)[c.k];
        break;
      case 'splice':
        spliceInto(target as unknown[], c.s, c.d, c.v.map(value));
        break;
      case 'replace':
        spliceInto(target as unknown[], 0, (target as unknown[]).length, c.v.map(value));
        break;
      case 'mapSet':
        (target as Map<unknown, unknown>).set(value(c.k), value(c.v));
        break;
      case 'mapDelete':
        (target as Map<unknown, unknown>).delete(value(c.k));
        break;
      case 'mapClear':
        (target as Map<unknown, unknown>).clear();
        break;
      case 'setAdd':
        (target as Set<unknown>).add(value(c.v));
        break;
      case 'setDelete':
        (target as Set<unknown>).delete(value(c.v));
        break;
      case 'setClear':
        (target as Set<unknown>).clear();
        break;
      case 'date':
        (target as Date).setTime(c.v);
        break;
    }
  }
}

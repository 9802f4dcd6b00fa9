// What a step acts on: the objects reachable from a state object, breadth-first, each once by identity,
// with the shortest path to it written as code. The walk reads the way service code does (property
// reads, Map and Set iteration), so on the run-time it goes through the membrane and sees what a
// service would see; it never runs a getter. Targets are chosen by index into this list, modulo its
// length, so a step always applies whatever state the sequence produced (and survives shrinking).
import { childPath, show } from '../compare.js';
import { Item } from './item.js';

export interface Reached {
  value: object;
  /** The shortest path from the state object, as code: `store.list[2].get('k')`. */
  path: string;
}

/**
 * `keyed`: an object that holds its data in properties (plain, null-prototype, class instance, array),
 * not in internal slots; `record`: the same without arrays.
 */
export type TargetKind = 'any' | 'keyed' | 'record' | 'array' | 'map' | 'set' | 'date' | 'collection' | 'item';

/** Enough for any sequence the generators make; a runaway graph is cut here, alike on both sides. */
const LIMIT = 400;

export function reach(root: object, rootName: string): Reached[] {
  const seen = new Set<object>();
  const out: Reached[] = [];
  const queue: Reached[] = [{ value: root, path: rootName }];
  while (queue.length > 0 && out.length < LIMIT) {
    const next = queue.shift()!;
    if (seen.has(next.value)) continue;
    seen.add(next.value);
    out.push(next);
    queue.push(...children(next.value, next.path));
  }
  return out;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function children(x: object, path: string): Reached[] {
  const found: Reached[] = [];
  if (x instanceof Map) {
    let i = 0;
    for (const [k, v] of x) {
      if (isObject(k)) found.push({ value: k, path: `[...${path}.keys()][${i}]` });
      if (isObject(v)) found.push({ value: v, path: `${path}.get(${isObject(k) ? `[...${path}.keys()][${i}]` : show(k)})` });
      i++;
    }
  } else if (x instanceof Set) {
    let i = 0;
    for (const v of x) {
      if (isObject(v)) found.push({ value: v, path: `[...${path}][${i}]` });
      i++;
    }
  }
  if (ArrayBuffer.isView(x)) return found;
  for (const key of Reflect.ownKeys(x)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(x, key);
    if (!descriptor || !('value' in descriptor)) continue;
    const value = (x as Record<PropertyKey, unknown>)[key];
    if (isObject(value)) found.push({ value, path: childPath(path, key, Array.isArray(x)) });
  }
  return found;
}

export function isKind(value: object, kind: TargetKind): boolean {
  switch (kind) {
    case 'any':
      return true;
    case 'keyed':
      return !(value instanceof Map || value instanceof Set || value instanceof Date || ArrayBuffer.isView(value));
    case 'record':
      return isKind(value, 'keyed') && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'map':
      return value instanceof Map;
    case 'set':
      return value instanceof Set;
    case 'collection':
      return value instanceof Map || value instanceof Set;
    case 'date':
      return value instanceof Date;
    case 'item':
      return value instanceof Item;
  }
}

/** The `at`-th reachable object of `kind` (modulo how many there are), or undefined when there is none. */
export function pick(reached: readonly Reached[], kind: TargetKind, at: number): Reached | undefined {
  const candidates = reached.filter((r) => isKind(r.value, kind));
  return candidates.length === 0 ? undefined : candidates[at % candidates.length];
}

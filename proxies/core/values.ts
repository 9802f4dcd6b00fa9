// What kind of value something in state is, and the facts about its properties that the membrane, the
// encoding and undo must all agree on: which objects the run-time tracks (and how: behind a Proxy or
// watched in place), which objects sit directly inside another, and a property's attributes as flags.

/** How the run-time follows an object's changes. */
export type TrackedKind =
  /** Plain objects and instances of the service's classes, behind a Proxy. */
  | 'object'
  | 'array'
  /** Typed arrays, behind a Proxy that records index writes and whole-content mutators. */
  | 'typed'
  /** Map, Set and Date are watched in place (their methods), so built-ins still see the real object. */
  | 'map'
  | 'set'
  | 'date';

/** The kind of a value the run-time tracks, or undefined (primitives, functions, and what it cannot follow). */
export function trackedKind(value: unknown): TrackedKind | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) return 'array';
  if (value instanceof Map) return 'map';
  if (value instanceof Set) return 'set';
  if (value instanceof Date) return 'date';
  if (ArrayBuffer.isView(value)) return value instanceof DataView ? undefined : 'typed';
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof Promise || value instanceof RegExp || value instanceof ArrayBuffer) return undefined;
  if (typeof WeakRef !== 'undefined' && value instanceof WeakRef) return undefined;
  return 'object';
}

/** Values a state object cannot hold durably: a WeakMap cannot be enumerated, a Promise is not data. */
export function untrackableReason(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (value instanceof WeakMap || value instanceof WeakSet) return 'a WeakMap or WeakSet (its entries cannot be enumerated, so they cannot be undone or shipped)';
  if (typeof WeakRef !== 'undefined' && value instanceof WeakRef) return 'a WeakRef';
  if (value instanceof Promise) return 'a Promise (await it and store its result)';
  if (value instanceof ArrayBuffer || value instanceof DataView) return 'an ArrayBuffer or DataView (hold the bytes in a typed array such as Uint8Array)';
  return undefined;
}

/** Non-default attributes of a data property, as bits: 0 is writable, enumerable and configurable. */
const NOT_WRITABLE = 1;
const NOT_ENUMERABLE = 2;
const NOT_CONFIGURABLE = 4;

export function flagsOf(descriptor: PropertyDescriptor): number {
  return (descriptor.writable === false ? NOT_WRITABLE : 0) | (descriptor.enumerable === false ? NOT_ENUMERABLE : 0) | (descriptor.configurable === false ? NOT_CONFIGURABLE : 0);
}

export function descriptorFor(value: unknown, flags: number): PropertyDescriptor {
  return { value, writable: (flags & NOT_WRITABLE) === 0, enumerable: (flags & NOT_ENUMERABLE) === 0, configurable: (flags & NOT_CONFIGURABLE) === 0 };
}

/**
 * Arrays with an element that is not a plain data property (read-only, hidden, non-configurable or an
 * accessor), a read-only length, or that cannot be extended. The engine's splice, shift, sort… keep
 * attributes with the index, not with the value, and may stop half-way on such an array: the run-time's
 * array shortcuts (one splice or one before-image per operation) could not undo or replay that, so these
 * arrays take the slow path, each step through the proxy's traps.
 *
 * The set holds every array that may be irregular (whatever can make one so notes it), and a note is
 * checked against the array when it is used: the path an operation takes then depends on the array alone,
 * never on its history, so a backup re-running the code (update="repeat") takes the same path as its
 * primary even when the primary noted an array in a request that was then undone.
 */
const maybeIrregular = new WeakSet<object>();

export function isIrregularArray(array: object): boolean {
  if (!maybeIrregular.has(array)) return false;
  if (hasIrregularAttributes(array as unknown[])) return true;
  maybeIrregular.delete(array);
  return false;
}

/** A writable, enumerable, configurable data property: what an array element is unless made otherwise. */
export function isPlainElement(d: PropertyDescriptor): boolean {
  return d.writable === true && d.enumerable === true && d.configurable === true;
}

function hasIrregularAttributes(array: unknown[]): boolean {
  if (Reflect.getOwnPropertyDescriptor(array, 'length')!.writable === false || !Object.isExtensible(array)) return true;
  for (let i = 0; i < array.length; i++) {
    const d = Reflect.getOwnPropertyDescriptor(array, i);
    if (d && !isPlainElement(d)) return true;
  }
  return false;
}

/** Notes an array as maybe irregular if a property of `key` described by `d` makes it so. */
export function noteArrayProperty(array: object, key: string | symbol, d: PropertyDescriptor | undefined): void {
  if (!d || !Array.isArray(array)) return;
  if (key === 'length' ? d.writable === false : isIndexKey(key) && !isPlainElement(d)) maybeIrregular.add(array);
}

/** Looks at every element of `array` (one that may have changed unseen) and notes it if irregular. */
export function noteArrayAttributes(array: unknown[]): void {
  if (!maybeIrregular.has(array) && hasIrregularAttributes(array)) maybeIrregular.add(array);
}

/** An array index key ('0', '17'): what arrays keep apart from their other properties. */
export function isIndexKey(key: string | symbol): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 10) return false;
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < 4294967295 && String(n) === key;
}

/**
 * The objects directly inside a value, in a fixed order (own property values and accessors' absence
 * for objects, elements for arrays, keys then values for Maps, members for Sets). Membership and object
 * ids walk graphs in this order on every replica, so it must not depend on anything but the value.
 */
export function childrenOf(value: object, kind: TrackedKind | undefined = trackedKind(value)): unknown[] {
  switch (kind) {
    case 'date':
    case 'typed':
      return extraPropertyValues(value, kind);
    case 'map': {
      const out: unknown[] = [];
      for (const [k, v] of Map.prototype.entries.call(value as Map<unknown, unknown>)) out.push(k, v);
      return out.concat(extraPropertyValues(value, kind));
    }
    case 'set':
      return [...Set.prototype.values.call(value as Set<unknown>)].concat(extraPropertyValues(value, kind));
    case 'array': {
      // Elements first (holes have none), then any property besides them and length.
      const array = value as unknown[];
      const out: unknown[] = [];
      let present = 0;
      for (let i = 0; i < array.length; i++) {
        if (!(i in array)) continue;
        present++;
        const element = array[i];
        if (typeof element === 'object' && element !== null) out.push(element);
      }
      const keys = Reflect.ownKeys(array);
      if (keys.length !== present + 1) {
        for (const key of keys) {
          if (key === 'length' || isIndexKey(key)) continue;
          const d = Reflect.getOwnPropertyDescriptor(array, key);
          if (d && 'value' in d && typeof d.value === 'object' && d.value !== null) out.push(d.value);
        }
      }
      return out;
    }
    default: {
      const out: unknown[] = [];
      for (const key of Reflect.ownKeys(value)) {
        const d = Reflect.getOwnPropertyDescriptor(value, key);
        if (d && 'value' in d && typeof d.value === 'object' && d.value !== null) out.push(d.value);
      }
      return out;
    }
  }
}

/** Own data properties of a Map, Set, Date or typed array beyond what the kind itself holds. */
function extraPropertyValues(value: object, kind: TrackedKind): unknown[] {
  const out: unknown[] = [];
  for (const key of extraKeys(value, kind)) {
    const d = Reflect.getOwnPropertyDescriptor(value, key);
    if (d && 'value' in d && typeof d.value === 'object' && d.value !== null) out.push(d.value);
  }
  return out;
}

/** Keys the run-time itself puts on objects it watches in place (see collections.ts): not the user's. */
export const instrumentationKeys = new WeakMap<object, ReadonlySet<string | symbol>>();

/** Own keys of a Map, Set, Date or typed array that are the user's (the run-time's own left out). */
export function extraKeys(value: object, kind: TrackedKind): (string | symbol)[] {
  const mine = instrumentationKeys.get(value);
  return Reflect.ownKeys(value).filter((k) => !mine?.has(k) && !(kind === 'typed' && isIndexKey(k)));
}

/** A copy of an array that keeps its holes (slice does), for undo and for comparing. */
export function sparseCopy<T>(array: readonly T[]): T[] {
  return Array.prototype.slice.call(array) as T[];
}

/** Writes `items` (holes kept as holes) into `target` at `start`, replacing `deleteCount` elements. */
export function spliceKeepingHoles(target: unknown[], start: number, deleteCount: number, items: readonly unknown[]): void {
  const tail = Array.prototype.slice.call(target, start + deleteCount) as unknown[];
  target.length = start;
  for (let i = 0; i < items.length; i++) if (i in items) target[start + i] = items[i];
  const from = start + items.length;
  target.length = from;
  for (let i = 0; i < tail.length; i++) if (i in tail) target[from + i] = tail[i];
  target.length = from + tail.length;
}

/** Puts an array's content back to `content` (holes kept), also its length. */
export function restoreArray(target: unknown[], content: readonly unknown[]): void {
  const length = content.length;
  if (target.length > length) target.length = length;
  for (let i = 0; i < length; i++) {
    if (i in content) {
      if (!(i in target) || !Object.is(target[i], content[i])) target[i] = content[i];
    } else delete target[i];
  }
  if (target.length !== length) target.length = length; // (a frozen array that already holds it stays untouched)
}

/** Makes `target` hold exactly what `source` holds (both of one kind): prototype, content, attributes. */
export function copyContent(target: object, source: object): void {
  const kind = trackedKind(source);
  if (Object.getPrototypeOf(target) !== Object.getPrototypeOf(source)) Object.setPrototypeOf(target, Object.getPrototypeOf(source) as object | null);
  const userKeys = (o: object) => (kind === 'object' ? Reflect.ownKeys(o) : kind === 'array' ? Reflect.ownKeys(o).filter((k) => k !== 'length' && !isIndexKey(k)) : extraKeys(o, kind!));
  switch (kind) {
    case 'array':
      restoreArray(target as unknown[], sparseCopy(source as unknown[]));
      if (hasIrregularAttributes(source as unknown[])) {
        for (const key of Reflect.ownKeys(source)) {
          const d = Reflect.getOwnPropertyDescriptor(source, key)!;
          if (isIndexKey(key) && !isPlainElement(d)) Object.defineProperty(target, key, d);
        }
        if (!Reflect.getOwnPropertyDescriptor(source, 'length')!.writable) Object.defineProperty(target, 'length', { writable: false });
        maybeIrregular.add(target);
      }
      break;
    case 'map':
      Map.prototype.clear.call(target);
      for (const [k, v] of Map.prototype.entries.call(source as Map<unknown, unknown>)) Map.prototype.set.call(target, k, v);
      break;
    case 'set':
      Set.prototype.clear.call(target);
      for (const v of Set.prototype.values.call(source as Set<unknown>)) Set.prototype.add.call(target, v);
      break;
    case 'date':
      Date.prototype.setTime.call(target, (source as Date).getTime());
      break;
    case 'typed':
      (target as unknown as { set(s: ArrayLike<number>): void }).set(source as unknown as ArrayLike<number>);
      break;
  }
  for (const key of userKeys(target)) if (Reflect.getOwnPropertyDescriptor(target, key)?.configurable) Reflect.deleteProperty(target, key);
  for (const key of userKeys(source)) Object.defineProperty(target, key, Reflect.getOwnPropertyDescriptor(source, key)!);
  applyIntegrityLevel(target, integrityLevel(source));
}

/**
 * How far an object is locked: 'f' frozen, 's' sealed, 'n' not extensible, undefined otherwise. By the
 * language's definition (every property non-configurable, and for frozen every data property read-only);
 * V8's Object.isFrozen says an empty sealed array is frozen although its length is writable.
 */
export function integrityLevel(object: object): 'f' | 's' | 'n' | undefined {
  if (Object.isExtensible(object)) return undefined;
  let sealed = true;
  let frozen = true;
  for (const key of Reflect.ownKeys(object)) {
    const d = Reflect.getOwnPropertyDescriptor(object, key)!;
    if (d.configurable) sealed = frozen = false;
    if ('value' in d && d.writable) frozen = false;
    if (!sealed) break;
  }
  return frozen ? 'f' : sealed ? 's' : 'n';
}

/** Locks `object` as `level` says (see integrityLevel). */
export function applyIntegrityLevel(object: object, level: 'f' | 's' | 'n' | undefined): void {
  if (level === 'f') Object.freeze(object);
  else if (level === 's') Object.seal(object);
  else if (level === 'n') Object.preventExtensions(object);
}

// The JS Proxy every state object sits behind. Reads pass through (nested objects come back wrapped, so
// that a change anywhere below the state object is seen); every write is applied to the real object and
// recorded as a Change with what it replaced. Calls on the state object itself are reported to the
// owner (the durability proxy) so it can ship a call instead of its changes (`update="repeat"`).
// Changes outside an action are refused: a state object that escaped its request and is changed later
// would change without durability.
import { orderedEntries, spliceInto, type Change } from './changes.js';
import type { ObjectIds } from './object-ids.js';
import { registerProxy } from './raw.js';

export interface MembraneOwner {
  /** The current action's change log, or undefined outside an action (changes are then refused). */
  changeLog(): Change[] | undefined;
  /** Wraps a call of a method of the state object made from outside it (not by its own methods). */
  aroundCall(method: string, args: unknown[], run: () => unknown): unknown;
  /** Name for messages: the service field. */
  readonly name: string;
}

const ARRAY_MUTATORS = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin']);
const ARRAY_SEARCHES = new Set(['indexOf', 'lastIndexOf', 'includes']);
const MAP_MUTATORS = new Set(['set', 'delete', 'clear']);
const SET_MUTATORS = new Set(['add', 'delete', 'clear']);
const READERS = new Set(['get', 'has', 'values', 'entries', 'forEach', Symbol.iterator as PropertyKey, 'keys']);

export class StateOutsideActionError extends Error {}

export class Membrane {
  private readonly proxies = new WeakMap<object, object>();
  private readonly raws = new WeakMap<object, object>();
  /** Where in the current log each target's order was saved (see Change 'order'). */
  private orderSaved = new WeakMap<object, number>();
  private savedFor: Change[] | undefined;
  private depth = 0;

  /**
   * @param tracksIdentity Whether replicas mirror this graph by object id (replication). Then attached
   *   values are numbered and unwrapped all the way down, and changes to objects outside the graph (a
   *   getter's fresh result, say) are not recorded: they are not state.
   */
  constructor(
    private readonly owner: MembraneOwner,
    private readonly ids: ObjectIds,
    private readonly tracksIdentity = false,
  ) {}

  /** The proxy for `root`, the state object itself. */
  wrapRoot<T extends object>(root: T): T {
    return this.wrap(root, true) as T;
  }

  /** The real object behind a proxy this membrane made (or the value itself). */
  unwrap<T>(value: T): T {
    return (typeof value === 'object' && value !== null ? (this.raws.get(value) as T | undefined) : undefined) ?? value;
  }

  private wrap(target: object, isRoot = false): object {
    const existing = this.proxies.get(target);
    if (existing) return existing;
    const proxy = new Proxy(target, this.handler(isRoot));
    this.proxies.set(target, proxy);
    this.raws.set(proxy, target);
    registerProxy(proxy, target);
    return proxy;
  }

  /** What a read returns: nested data wrapped, everything else as it is. */
  private out(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (this.raws.has(value)) return value;
    if (ArrayBuffer.isView(value) || value instanceof RegExp || value instanceof Promise) return value;
    return this.wrap(value);
  }

  private log(): Change[] {
    const log = this.owner.changeLog();
    if (!log) {
      throw new StateOutsideActionError(
        `State object '${this.owner.name}' was changed outside a request. A reference to it (or to something inside it) escaped a service method and was used later; change state only inside service methods.`,
      );
    }
    if (log !== this.savedFor) {
      this.savedFor = log;
      this.orderSaved = new WeakMap();
    }
    return log;
  }

  private record(change: Change): void {
    if (this.tracksIdentity && change.kind !== 'order' && this.ids.idOf(change.target) === undefined) return;
    this.log().push(change);
  }

  /** Before the first order-losing change to `target` in this action, keep its order. */
  private saveOrder(target: object): void {
    const log = this.log();
    // Still saved only if that entry survived: a rolled-back request truncates the log.
    const at = this.orderSaved.get(target);
    if (at !== undefined && at < log.length && log[at]!.kind === 'order' && (log[at] as { target: object }).target === target) return;
    this.orderSaved.set(target, log.length);
    log.push({ kind: 'order', target, entries: orderedEntries(target) });
  }

  /** A value about to be stored: the real object, numbered as part of the graph. */
  private attach(value: unknown): unknown {
    const raw = this.unwrap(value);
    if (!this.tracksIdentity) return raw;
    this.unwrapInside(raw, new Set());
    this.ids.assignTree(raw);
    return raw;
  }

  /**
   * A new value built from state (`this.items.filter(…)`, `{ best: this.items[0] }`) holds proxies:
   * replaced by the objects behind them, so the graph holds each object once, by identity.
   */
  private unwrapInside(value: unknown, seen: Set<object>): void {
    if (typeof value !== 'object' || value === null || seen.has(value) || this.ids.idOf(value) !== undefined) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const raw = this.unwrap(value[i]);
        if (raw !== value[i]) value[i] = raw;
        this.unwrapInside(raw, seen);
      }
    } else if (value instanceof Map || value instanceof Set) {
      const entries = [...value] as unknown[];
      const flat = value instanceof Map ? (entries as [unknown, unknown][]).flat() : entries;
      if (flat.some((v) => this.unwrap(v) !== v)) {
        value.clear();
        for (const e of entries) {
          if (value instanceof Map) value.set(this.unwrap((e as [unknown, unknown])[0]), this.unwrap((e as [unknown, unknown])[1]));
          else value.add(this.unwrap(e));
        }
      }
      for (const v of value instanceof Map ? [...value].flat() : [...value]) this.unwrapInside(v, seen);
    } else if (!(value instanceof Date)) {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const raw = this.unwrap(record[key]);
        if (raw !== record[key]) record[key] = raw;
        this.unwrapInside(raw, seen);
      }
    }
  }

  private handler(isRoot: boolean): ProxyHandler<object> {
    return {
      get: (target, key, receiver) => {
        if (target instanceof Map || target instanceof Set) return this.collectionMember(target, key);
        if (target instanceof Date) return this.dateMember(target, key);
        const value = Reflect.get(target, key, receiver);
        if (typeof value === 'function') {
          if (Array.isArray(target) && ARRAY_MUTATORS.has(key as string)) return this.arrayMutator(target, key as string, receiver);
          if (Array.isArray(target) && ARRAY_SEARCHES.has(key as string)) {
            // Searching for an element compares identities: look for the object behind a proxy.
            return (needle: unknown, ...rest: unknown[]) => (value as (...a: unknown[]) => unknown).call(target, this.unwrap(needle), ...rest);
          }
          if (isRoot && typeof key === 'string' && key !== 'constructor') return this.rootMethod(key, value as (...a: unknown[]) => unknown, receiver);
          return value;
        }
        const own = Reflect.getOwnPropertyDescriptor(target, key);
        if (own && !own.configurable && !own.writable) return value; // a Proxy must return frozen values as they are
        return this.out(value);
      },
      set: (target, key, value, receiver) => {
        if (key === '__proto__') throw refusePrototypeChange(this.owner.name);
        if (typeof key === 'symbol' || hasSetter(target, key)) return Reflect.set(target, key, value, receiver);
        const raw = this.attach(value);
        const record = target as Record<string, unknown>;
        if (Array.isArray(target) && key === 'length') {
          const length = Number(raw);
          if (length < target.length) {
            this.record({ kind: 'splice', target, start: length, removed: target.slice(length), inserted: [] });
          } else {
            this.record({ kind: 'set', target: record, key, value: raw, had: true, previous: target.length });
          }
          target.length = length;
          return true;
        }
        const had = Object.prototype.hasOwnProperty.call(target, key);
        const previousLength = Array.isArray(target) ? target.length : undefined;
        this.record({ kind: 'set', target: record, key, value: raw, had, previous: record[key], previousLength });
        record[key] = raw;
        return true;
      },
      deleteProperty: (target, key) => {
        if (typeof key === 'symbol' || !Object.prototype.hasOwnProperty.call(target, key)) return Reflect.deleteProperty(target, key);
        const record = target as Record<string, unknown>;
        this.saveOrder(target);
        this.record({ kind: 'delete', target: record, key, previous: record[key] });
        return delete record[key];
      },
      setPrototypeOf: () => {
        throw refusePrototypeChange(this.owner.name);
      },
      defineProperty: (target, key, descriptor) => {
        if (typeof key === 'symbol') return Reflect.defineProperty(target, key, descriptor);
        if (!('value' in descriptor)) {
          throw new Error(`State object '${this.owner.name}': defining the accessor '${key}' on state is not supported (it could not be undone or replicated); keep data in data properties.`);
        }
        const record = target as Record<string, unknown>;
        const had = Object.prototype.hasOwnProperty.call(target, key);
        const raw = this.attach(descriptor.value);
        this.record({ kind: 'set', target: record, key, value: raw, had, previous: record[key] });
        return Reflect.defineProperty(target, key, { ...descriptor, value: raw });
      },
    };
  }

  /** A method of the state object called from outside it: the owner decides what to record. */
  private rootMethod(name: string, method: (...a: unknown[]) => unknown, receiver: object) {
    return (...args: unknown[]) => {
      if (this.depth > 0) return method.apply(receiver, args);
      this.depth++;
      let settled = true;
      try {
        const result = this.owner.aroundCall(name, args, () => method.apply(receiver, args));
        if (isThenable(result)) {
          settled = false;
          return Promise.resolve(result).finally(() => this.depth--);
        }
        return result;
      } finally {
        if (settled) this.depth--;
      }
    };
  }

  private arrayMutator(target: unknown[], name: string, receiver: object) {
    return (...args: unknown[]) => {
      const before = target.length;
      switch (name) {
        case 'push':
        case 'unshift': {
          const items = args.map((a) => this.attach(a));
          this.record({ kind: 'splice', target, start: name === 'push' ? before : 0, removed: [], inserted: items });
          return name === 'push' ? target.push(...items) : target.unshift(...items);
        }
        case 'pop':
        case 'shift': {
          if (before === 0) return undefined;
          const start = name === 'pop' ? before - 1 : 0;
          const [removed] = spliceInto(target, start, 1, []);
          this.record({ kind: 'splice', target, start, removed: [removed], inserted: [] });
          return this.out(removed);
        }
        case 'splice': {
          const start = normalizeIndex(args[0] as number | undefined, before);
          const deleteCount = args.length < 2 ? before - start : Math.max(0, Math.min(Math.trunc(Number(args[1]) || 0), before - start));
          const items = args.slice(2).map((a) => this.attach(a));
          const removed = spliceInto(target, start, deleteCount, items);
          this.record({ kind: 'splice', target, start, removed, inserted: items });
          return removed.map((r) => this.out(r));
        }
        default: {
          // sort, reverse, fill, copyWithin: reorder in place; recorded as the whole new content.
          const previous = target.slice();
          const rawArgs = name === 'fill' ? [this.attach(args[0]), ...args.slice(1)] : args;
          if (name === 'sort' && typeof args[0] === 'function') {
            const compare = args[0] as (a: unknown, b: unknown) => number;
            target.sort((a, b) => compare(this.out(a), this.out(b)));
          } else {
            (target as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.apply(target, rawArgs);
          }
          this.record({ kind: 'replace', target, previous, value: target.slice() });
          return receiver;
        }
      }
    };
  }

  /** A Date in state: its setters are changes like any other (one 'date' change with the old time). */
  private dateMember(date: Date, key: PropertyKey): unknown {
    const native = Reflect.get(date, key, date) as unknown;
    if (typeof native !== 'function') return native;
    if (typeof key === 'string' && key.startsWith('set')) {
      return (...args: unknown[]) => {
        const previous = date.getTime();
        const result = (native as (...a: unknown[]) => unknown).apply(date, args);
        this.record({ kind: 'date', target: date, previous, value: date.getTime() });
        return result;
      };
    }
    return (native as (...a: unknown[]) => unknown).bind(date);
  }

  private collectionMember(target: Map<unknown, unknown> | Set<unknown>, key: PropertyKey): unknown {
    if (key === 'size') return target.size;
    const native = Reflect.get(target, key, target) as unknown;
    if (typeof native !== 'function') return native;
    const isMap = target instanceof Map;
    if ((isMap ? MAP_MUTATORS : SET_MUTATORS).has(key as string)) {
      return isMap ? this.mapMutator(target, key as string) : this.setMutator(target as Set<unknown>, key as string);
    }
    if (READERS.has(key)) return this.collectionReader(target, key);
    return (native as (...a: unknown[]) => unknown).bind(target);
  }

  private mapMutator(map: Map<unknown, unknown>, name: string) {
    const proxy = this.proxies.get(map)!;
    return (...args: unknown[]) => {
      const key = this.unwrap(args[0]);
      if (name === 'set') {
        const value = this.attach(args[1]);
        this.ids.assignTree(key);
        const had = map.has(key);
        this.record({ kind: 'mapSet', target: map, key, value, had, previous: map.get(key) });
        map.set(key, value);
        return proxy;
      }
      if (name === 'delete') {
        if (!map.has(key)) return false;
        this.saveOrder(map);
        this.record({ kind: 'mapDelete', target: map, key });
        return map.delete(key);
      }
      if (map.size > 0) {
        this.record({ kind: 'mapClear', target: map, previous: [...map] });
        map.clear();
      }
      return undefined;
    };
  }

  private setMutator(set: Set<unknown>, name: string) {
    const proxy = this.proxies.get(set)!;
    return (...args: unknown[]) => {
      const value = this.unwrap(args[0]);
      if (name === 'add') {
        if (!set.has(value)) {
          this.ids.assignTree(value);
          this.record({ kind: 'setAdd', target: set, value });
          set.add(value);
        }
        return proxy;
      }
      if (name === 'delete') {
        if (!set.has(value)) return false;
        this.saveOrder(set);
        this.record({ kind: 'setDelete', target: set, value });
        return set.delete(value);
      }
      if (set.size > 0) {
        this.record({ kind: 'setClear', target: set, previous: [...set] });
        set.clear();
      }
      return undefined;
    };
  }

  /** get/has-style reads and iteration hand out wrapped values, so changes below them are seen too. */
  private collectionReader(target: Map<unknown, unknown> | Set<unknown>, key: PropertyKey) {
    const out = (v: unknown) => this.out(v);
    const proxy = this.proxies.get(target)!;
    const isMap = target instanceof Map;
    const pairs = function* (it: Iterable<[unknown, unknown]>) {
      for (const [k, v] of it) yield [out(k), out(v)];
    };
    const singles = function* (it: Iterable<unknown>) {
      for (const v of it) yield out(v);
    };
    switch (key) {
      case 'get':
        return (k: unknown) => out((target as Map<unknown, unknown>).get(this.unwrap(k)));
      case 'has':
        return (k: unknown) => target.has(this.unwrap(k));
      case 'forEach':
        return (fn: (v: unknown, k: unknown, c: unknown) => void, thisArg?: unknown) =>
          target.forEach((v: unknown, k: unknown) => fn.call(thisArg, out(v), out(k), proxy));
      case 'keys':
        return () => (isMap ? singles((target as Map<unknown, unknown>).keys()) : singles(target.values()));
      case 'values':
        return () => singles(target.values());
      default: // entries and Symbol.iterator
        if (isMap) return () => pairs((target as Map<unknown, unknown>).entries());
        return key === 'entries' ? () => pairs((target as Set<unknown>).entries() as Iterable<[unknown, unknown]>) : () => singles(target.values());
    }
  }
}

function refusePrototypeChange(name: string): Error {
  return new Error(`State object '${name}': changing the prototype of state (through __proto__ or Object.setPrototypeOf) is not supported.`);
}

function hasSetter(target: object, key: string): boolean {
  for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d.set !== undefined || (d.get !== undefined && !('value' in d));
  }
  return false;
}

function normalizeIndex(index: number | undefined, length: number): number {
  const i = Math.trunc(Number(index) || 0);
  return i < 0 ? Math.max(length + i, 0) : Math.min(i, length);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

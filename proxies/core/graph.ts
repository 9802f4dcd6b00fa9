// The state graph of one service: every object reachable from its state objects, behind one membrane,
// so that an object held by two state objects is one object with one proxy. For each object it knows
// which state objects hold it (by reference counting, kept exact by every change), which decides what
// a change to it means: nothing outside the graph, a change a replica must receive, a change a
// database mapping must describe. Every write to a graph object, from a Proxy trap, a watched Map, Set
// or Date, undo, or a backup applying its primary's update, goes through `mutate`.
import { isStateProxy, rawOf, registerProxy } from './raw.js';
import { copyTyped, orderedEntries, undoChange, valuesAdded, valuesRemoved, type Change, type TypedArray } from './changes.js';
import type { ActionContext } from './context.js';
import { ObjectIds } from './object-ids.js';
import { DurabilityRefusal, StateOutsideActionError } from './refusals.js';
import { childrenOf, copyContent, isIrregularArray, noteArrayAttributes, restoreArray, sparseCopy, trackedKind, untrackableReason, type TrackedKind } from './values.js';
import { instrument, watchedInPlace, watchThroughProxy } from './collections.js';
import { fillShadow, proxyHandlers, shadowTargetFor } from './membrane.js';

/** What the graph asks of the durability proxy of each state object. */
export interface StateOwner {
  /** The state object's name (the service field), for messages. */
  readonly name: string;
  /** Whether replicas mirror its objects by id. */
  readonly replicated: boolean;
  /** How it survives failures (a database object's objects are rebuilt from rows: they cannot be shared). */
  readonly mechanism: string;
  /**
   * A change is about to be made to one of its objects during `context`: join the action and check the
   * mechanism can make it durable. To refuse, set `context.refusal` and throw it.
   */
  beforeChange(context: ActionContext): void;
  /** A method of the state object was called from outside it: the owner decides what to record. */
  aroundCall(method: string, args: unknown[], run: () => unknown): unknown;
}

export class StateGraph {
  ids = new ObjectIds();
  private readonly owners: StateOwner[] = [];
  /** The root object of each state object, by its index. */
  private readonly roots = new WeakMap<object, number>();
  /** Per object: how many references from inside each state object's graph reach it (see countOf). */
  private readonly counts = new WeakMap<object, number | Map<number, number>>();
  private readonly proxies = new WeakMap<object, object>();
  /** A frozen object's proxy has a stand-in target (Proxy invariants): stand-in → real object. */
  readonly shadowed = new WeakMap<object, object>();
  /** Wrappers of root methods, so that `state.method === state.method` as in plain JavaScript. */
  private readonly methodWrappers = new WeakMap<object, Map<string | symbol, (...args: unknown[]) => unknown>>();
  /** The action whose code is running, if any. */
  current: ActionContext | undefined;
  private quiet = 0;
  /** Set while an action is undone (see inc). */
  private undoing = false;
  private readonly handlers = proxyHandlers(this);
  /** Snapshots being streamed (replication/snapshot.ts): told before any graph object changes. */
  private readonly writeWatchers = new Set<(target: object, change: Change | undefined) => void>();

  /** Calls `watch` before every change to a graph object until the returned function is called. */
  watchWrites(watch: (target: object, change: Change | undefined) => void): () => void {
    this.writeWatchers.add(watch);
    return () => this.writeWatchers.delete(watch);
  }

  private beforeWrite(target: object, change?: Change): void {
    if (this.writeWatchers.size === 0) return;
    for (const watch of this.writeWatchers) watch(target, change);
  }

  addState(owner: StateOwner): number {
    if (this.owners.length >= 64) throw new Error('A service may have at most 64 state objects.');
    this.owners.push(owner);
    return this.owners.length - 1;
  }

  owner(index: number): StateOwner {
    return this.owners[index]!;
  }

  /** Makes `root` the state object `index`: every object below it joins that graph. Returns its proxy. */
  adopt(root: object, index: number): object {
    this.roots.set(root, index);
    this.quietly(() => this.inc(root, index, []));
    return this.proxyFor(root);
  }

  /** The state object is replaced wholesale (recovery, a snapshot): its old objects leave its graph. */
  release(root: object, index: number): void {
    this.quietly(() => this.dec(root, index));
    this.roots.delete(root);
  }

  isRoot(raw: object): number | undefined {
    return this.roots.get(raw);
  }

  /** Runs `fn` as the run-time's own maintenance (recovery, replay, undo): nothing is recorded or refused. */
  quietly<R>(fn: () => R): R {
    this.quiet++;
    try {
      return fn();
    } finally {
      this.quiet--;
    }
  }

  get isQuiet(): boolean {
    return this.quiet > 0;
  }

  // ---- reading: what the code sees ----

  /** What a read hands out: objects of the graph behind their proxy; a fresh object as it is. */
  out(value: unknown): unknown {
    if (typeof value !== 'object' || value === null || isStateProxy(value)) return value;
    const kind = trackedKind(value);
    if (kind === undefined) return value;
    if (kind === 'typed') return this.image(value as TypedArray);
    if ((kind === 'map' || kind === 'set' || kind === 'date') && (watchedInPlace(value) || !this.isMember(value))) return value;
    if (this.current?.isFresh.has(value)) return value;
    return this.proxyFor(value, kind);
  }

  /**
   * A typed array of state, handed out as it is (built-ins must see the real thing: ArrayBuffer.isView,
   * TextDecoder, a hash's update). Its bytes as first read in the request are kept, and what changed since
   * is found by comparing (settleImages): at the end of the request, around calls that must see it.
   */
  private image(typed: TypedArray): TypedArray {
    // Its code may write it raw from here on: a snapshot being streamed keeps its bytes first.
    if (this.writeWatchers.size > 0 && this.isMember(typed)) this.beforeWrite(typed);
    const context = this.current;
    if (context && !this.isQuiet && this.isMember(typed) && !context.images.has(typed)) context.images.set(typed, copyTyped(typed));
    return typed;
  }

  /**
   * Typed arrays read in this request whose bytes differ from their image: each change is made a
   * change of the log (checked by the mechanisms that hold it, as any change is), and the image renewed.
   */
  settleImages(): void {
    const context = this.current;
    if (!context || this.isQuiet) return;
    for (const [typed, image] of context.images) {
      if (sameBytes(image, typed)) continue;
      const members = this.membersOf(typed);
      for (const s of members) this.owners[s]!.beforeChange(context);
      const value = copyTyped(typed);
      this.log(context, { kind: 'tcopy', target: typed, previous: image, value }, members);
      context.images.set(typed, copyTyped(typed));
    }
  }

  /** The proxy of a graph object (made once: one identity per object). */
  proxyFor(raw: object, kind: TrackedKind | undefined = trackedKind(raw)): object {
    const existing = this.proxies.get(raw);
    if (existing) return existing;
    if (kind === undefined || kind === 'typed' || ((kind === 'map' || kind === 'set' || kind === 'date') && watchedInPlace(raw))) return raw;
    const shadow = shadowTargetFor(raw, kind);
    const proxy = new Proxy(shadow ?? raw, this.handlers[kind]);
    if (shadow) this.shadowed.set(shadow, raw);
    this.proxies.set(raw, proxy);
    registerProxy(proxy, raw);
    if (shadow) fillShadow(raw, shadow, this);
    return proxy;
  }

  /** The real object behind a proxy target (itself, or the object a stand-in target stands for). */
  real(target: object): object {
    return this.shadowed.get(target) ?? target;
  }

  // ---- membership ----

  /** The state objects whose graphs hold `object` (do not change the array: it may be shared). */
  membersOf(object: object): number[] {
    const entry = this.counts.get(object);
    if (entry === undefined) return NONE;
    if (typeof entry === 'number') return entry >= 64 ? ONE[entry % 64]! : NONE;
    return [...entry.keys()];
  }

  isMember(object: object): boolean {
    const entry = this.counts.get(object);
    return typeof entry === 'number' ? entry >= 64 : entry !== undefined && entry.size > 0;
  }

  private countOf(object: object, state: number): number {
    const entry = this.counts.get(object);
    if (entry === undefined) return 0;
    if (typeof entry === 'number') return entry % 64 === state ? Math.floor(entry / 64) : 0;
    return entry.get(state) ?? 0;
  }

  private setCount(object: object, state: number, count: number): void {
    const entry = this.counts.get(object);
    if (entry === undefined || (typeof entry === 'number' && (entry < 64 || entry % 64 === state))) {
      this.counts.set(object, count * 64 + state);
      return;
    }
    const map = typeof entry === 'number' ? new Map([[entry % 64, Math.floor(entry / 64)]]) : entry;
    if (count > 0) map.set(state, count);
    else map.delete(state);
    this.counts.set(object, map.size === 1 && count > 0 && map.has(state) ? count * 64 + state : map);
  }

  /**
   * `value` is now referenced once more from inside state `state`'s graph; objects that join the graph
   * join with everything below them (depth first, children in order: every replica numbers alike).
   * `journal` collects what was counted, so a change that then fails can be taken back exactly.
   */
  private inc(value: unknown, state: number, journal: object[]): void {
    const stack: unknown[] = [value];
    const replicated = this.owners[state]!.replicated;
    while (stack.length > 0) {
      const v = rawOf(stack.pop());
      if (typeof v === 'function' && replicated && !this.isQuiet)
        throw this.refuse(
          new DurabilityRefusal(
            'DUR3004',
            `Replicated state object '${this.owners[state]!.name}' cannot hold a function (${v.name || 'anonymous'}): a backup cannot be sent one. Keep functions out of replicated state (DUR2022).`,
          ),
        );
      if (typeof v !== 'object' || v === null) continue;
      const kind = trackedKind(v);
      if (kind === undefined) {
        const why = untrackableReason(v);
        if (why && !this.isQuiet) throw this.refuse(new DurabilityRefusal('DUR3004', `State object '${this.owners[state]!.name}' cannot hold ${why}.`));
        continue;
      }
      const everMember = this.counts.has(v);
      const count = this.countOf(v, state);
      this.setCount(v, state, count + 1);
      journal.push(v);
      if (count > 0) continue;
      if ((kind === 'map' || kind === 'set' || kind === 'date') && !instrument(this, v, kind)) watchThroughProxy(this, v);
      if (replicated) {
        // Undo puts back what the aborted action took out: every replica still holds it.
        if (this.undoing && !this.membersOf(v).some((s) => s !== state && this.owners[s]!.replicated)) this.ids.markSent(v);
        if (!this.isQuiet) {
          const why = this.unsendable(v, kind);
          if (why) throw this.refuse(new DurabilityRefusal('DUR3004', `Replicated state object '${this.owners[state]!.name}' cannot hold ${why}.`));
        }
        this.ids.assign(v);
      }
      if (this.current && !this.isQuiet && this.membersOf(v).length > 1) this.current.shared.push(v);
      const children = childrenOf(v, kind);
      if (!everMember && this.current && !this.isQuiet) this.current.markFresh(v, children.map(rawOf));
      // A fresh array is looked at again when reconciled: its code may give it attributes raw meanwhile.
      if (!everMember && kind === 'array') noteArrayAttributes(v as unknown[]);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }

  /** The classes of the service (a replicated object may hold instances of these, by name). */
  classes: ReadonlyMap<string, unknown> | undefined;

  /**
   * Why an object cannot join a replicated graph (every replica must be able to rebuild it from what is
   * sent), or undefined: a Symbol() key, a getter or setter of its own, an instance of a class outside
   * the service.
   */
  private unsendable(v: object, kind: TrackedKind): string | undefined {
    if (kind === 'array' || kind === 'typed') {
      // Elements are data; only properties besides them could be keyed or made otherwise.
      const keys = Reflect.ownKeys(v);
      if (keys.every((k) => typeof k === 'string')) return undefined;
    }
    for (const key of Reflect.ownKeys(v)) {
      if (typeof key === 'symbol' && Symbol.keyFor(key) === undefined && !WELL_KNOWN_SYMBOLS.has(key)) {
        return `a property keyed by ${String(key)} (a symbol made with Symbol() is unique to its process: a replica could not name it; use Symbol.for('…') or a string)`;
      }
      const d = Reflect.getOwnPropertyDescriptor(v, key);
      if (d && !('value' in d) && !(kind === 'map' || kind === 'set' || kind === 'date')) {
        return `an object with a getter or setter of its own ('${String(key)}': a replica cannot be sent functions; define it on a class of the service)`;
      }
    }
    if (kind === 'object' && this.classes) {
      const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
      if (proto !== null && proto !== Object.prototype) {
        const ctor = proto.constructor;
        if (!ctor?.name || this.classes.get(ctor.name) !== ctor) return `an instance of ${ctor?.name ?? 'an anonymous class'}, which is not one of the service's classes`;
      }
    }
    return undefined;
  }

  /** A property a replicated object is given must be one a replica can be sent (see unsendable). */
  private checkSendableProperty(key: string | symbol, after: PropertyDescriptor | undefined, members: number[]): void {
    const replicated = members.find((s) => this.owners[s]!.replicated);
    if (replicated === undefined) return;
    const name = this.owners[replicated]!.name;
    if (typeof key === 'symbol' && Symbol.keyFor(key) === undefined && !WELL_KNOWN_SYMBOLS.has(key)) {
      throw this.refuse(
        new DurabilityRefusal(
          'DUR3004',
          `Replicated state object '${name}' cannot hold a property keyed by ${String(key)}: a symbol made with Symbol() is unique to its process, so a replica could not name it. Use Symbol.for('…') (a registered symbol) or a string key.`,
        ),
      );
    }
    if (after && !('value' in after)) {
      throw this.refuse(
        new DurabilityRefusal(
          'DUR3004',
          `Replicated state object '${name}' cannot hold the getter or setter '${String(key)}' defined on an object itself: a replica cannot be sent functions. Define it on a class of the service.`,
        ),
      );
    }
  }

  /** Takes back what `inc` counted (a change that failed after its values were counted). */
  private uncount(journal: object[], state: number): void {
    for (const v of journal) this.setCount(v, state, Math.max(0, this.countOf(v, state) - 1));
  }

  /** `value` is referenced once less from inside state `state`; objects no longer reached leave it. */
  private dec(value: unknown, state: number): void {
    const stack: unknown[] = [value];
    while (stack.length > 0) {
      const v = rawOf(stack.pop());
      if (typeof v !== 'object' || v === null) continue;
      const count = this.countOf(v, state);
      if (count === 0) continue;
      this.setCount(v, state, count - 1);
      if (count > 1) continue;
      if (this.owners[state]!.replicated && !this.membersOf(v).some((s) => this.owners[s]!.replicated)) this.ids.markUnsent(v);
      const children = this.current?.counted.get(v) ?? childrenOf(v);
      for (const child of children) stack.push(child);
    }
  }

  // ---- writing ----

  /**
   * Makes `change` to `target` by running `apply`: refused outside an action when the target is state;
   * in an action, checked by the mechanisms of the state objects that hold it, then its new values
   * counted in, applied, its old values counted out, and logged for undo and shipping.
   */
  mutate<R>(target: object, change: Change, apply: () => R): R {
    this.beforeWrite(target, change);
    const members = this.membersOf(target);
    if (this.isQuiet) {
      const result = apply();
      this.account(members, valuesAdded(change), valuesRemoved(change));
      return result;
    }
    const context = this.admit(target, members);
    if (!context) return apply();
    if (change.kind === 'prop') this.checkSendableProperty(change.key, change.after, members);
    const added = valuesAdded(change);
    const journals: [number, object[]][] = [];
    let result: R;
    try {
      for (const s of members) {
        const journal: object[] = [];
        journals.push([s, journal]);
        for (const v of added) this.inc(v, s, journal);
      }
      result = apply();
    } catch (error) {
      for (const [s, journal] of journals) this.uncount(journal, s);
      throw error;
    }
    for (const s of members) for (const v of valuesRemoved(change)) this.dec(v, s);
    this.log(context, change, members);
    return result;
  }

  /**
   * Runs `apply`, an operation on a regular array whose effect is known only once it ran (a sort, a
   * fill), and records the effect as the array's whole content before and after. An exception is
   * rethrown after recording.
   */
  rewriteArray<R>(target: unknown[], apply: () => R): R {
    this.beforeWrite(target);
    const members = this.membersOf(target);
    const context = this.isQuiet ? undefined : this.admit(target, members);
    if (!context && !this.isQuiet) return apply();
    const previous = sparseCopy(target);
    let result: R | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = apply();
    } catch (error) {
      failure = { error };
    }
    const value = sparseCopy(target);
    if (!sameElements(previous, value)) {
      const change: Change = { kind: 'replace', target, previous, value };
      const journals: [number, object[]][] = [];
      try {
        for (const s of members) {
          const journal: object[] = [];
          journals.push([s, journal]);
          for (const v of valuesAdded(change)) this.inc(v, s, journal);
        }
      } catch (error) {
        for (const [s, journal] of journals) this.uncount(journal, s);
        restoreArray(target, previous);
        throw error;
      }
      for (const s of members) for (const v of valuesRemoved(change)) this.dec(v, s);
      if (context) this.log(context, change, members);
    }
    if (failure) throw failure.error;
    return result as R;
  }

  /** push, pop, shift, unshift, splice (and `length =` shrinking): one splice change, applied by the engine. */
  spliceArray(target: unknown[], name: string, args: unknown[]): unknown {
    this.beforeWrite(target);
    if (isIrregularArray(target)) return this.spliceThroughTraps(target, name, args);
    const length = target.length;
    let start: number;
    let deleteCount: number;
    let items: unknown[] = [];
    switch (name) {
      case 'push':
        [start, deleteCount, items] = [length, 0, args];
        break;
      case 'unshift':
        [start, deleteCount, items] = [0, 0, args];
        break;
      case 'pop':
        [start, deleteCount] = [Math.max(length - 1, 0), length > 0 ? 1 : 0];
        break;
      case 'shift':
        [start, deleteCount] = [0, length > 0 ? 1 : 0];
        break;
      case 'length':
        [start, deleteCount] = [args[0] as number, length - (args[0] as number)];
        break;
      default:
        start = relativeIndex(args[0], length);
        deleteCount = args.length === 0 ? 0 : args.length === 1 ? length - start : Math.min(Math.max(toInteger(args[1]), 0), length - start);
        items = args.slice(2);
    }
    const rawItems = items.map(rawOf);
    const native = (): unknown => {
      if (name === 'length') return (target.length = start);
      if (name === 'splice') return Array.prototype.splice.call(target, start, deleteCount, ...rawItems);
      return (Array.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.apply(target, rawItems);
    };
    let result: unknown;
    // (An array that cannot be extended is irregular: it went through the traps above.)
    if (deleteCount === 0 && rawItems.length === 0) result = native();
    else {
      const removed = Array.prototype.slice.call(target, start, start + deleteCount) as unknown[];
      result = this.mutate(target, { kind: 'splice', target, start, removed, inserted: rawItems }, native);
    }
    if (name === 'pop' || name === 'shift') return this.out(result);
    if (name === 'splice') return Array.prototype.map.call(result as unknown[], (v) => this.out(v));
    return result;
  }

  /**
   * An irregular array (values.ts): the engine's own operation on the proxy, each step recorded by the
   * traps with its attributes, as far as it gets. Shrinking `length` deletes from the end one element at a
   * time for the same reason, then records the new length (also when the engine stops at an element it
   * cannot delete, as it does without the proxy).
   */
  private spliceThroughTraps(target: unknown[], name: string, args: unknown[]): unknown {
    const proxy = this.proxyFor(target) as unknown[];
    if (name !== 'length') return (Array.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.apply(proxy, args);
    const length = args[0] as number;
    for (let i = target.length - 1; i >= length; i--) {
      const element = Reflect.getOwnPropertyDescriptor(target, i);
      if (element && !element.configurable) break;
      if (element) Reflect.deleteProperty(proxy, String(i));
    }
    const before = Reflect.getOwnPropertyDescriptor(target, 'length')!;
    const change: Change = { kind: 'prop', target, key: 'length', before, after: { ...before, value: length } };
    let failure: { error: unknown } | undefined;
    this.mutate(target, change, () => {
      try {
        target.length = length; // the engine's TypeError if an element in the way cannot be deleted
      } catch (error) {
        failure = { error };
      }
      change.after = Reflect.getOwnPropertyDescriptor(target, 'length');
    });
    if (failure) throw failure.error;
    return length;
  }

  /**
   * Whether a change to `target` may proceed, and in which action: undefined when it is not state (or
   * nothing runs), the running action otherwise; throws when state changes outside any action, or when a
   * mechanism of a state object holding it refuses.
   */
  private admit(_target: object, members: number[]): ActionContext | undefined {
    const context = this.current;
    if (!context) {
      if (members.length === 0) return undefined;
      const names = members.map((s) => `'${this.owners[s]!.name}'`).join(' and ');
      throw new StateOutsideActionError(
        `State object ${names} was changed outside a request (from a timer, an event handler, a promise callback that ran after the reply, or a reference kept from an earlier request). Nothing could make that change durable, so it was not made; change state only in the service's methods, while they run.`,
      );
    }
    if (context.refusal) throw context.refusal;
    for (const s of members) this.owners[s]!.beforeChange(context);
    return context;
  }

  private log(context: ActionContext, change: Change, members: number[]): void {
    change.ship = members.some((s) => this.owners[s]!.replicated);
    context.log.push(change);
  }

  private account(members: number[], added: unknown[], removed: unknown[]): void {
    for (const s of members) {
      for (const v of added) this.inc(v, s, []);
      for (const v of removed) this.dec(v, s);
    }
  }

  /** Before the first order-losing change to `target` since the floor, keep its order (see Change 'order'). */
  saveOrder(target: object): void {
    const context = this.current;
    if (!context || this.isQuiet || context.orderSavedFor(target)) return;
    context.markOrderSaved(target, context.log.length);
    context.log.push({ kind: 'order', target, entries: orderedEntries(target) });
  }

  /** Undoes the changes of `context` from log position `from` on, newest first, and forgets them. */
  undo(context: ActionContext, from = 0): void {
    this.undoing = true;
    // Fresh objects leave with what they were counted with (context.counted, see dec), not with what
    // their code may have given them raw since: that was never counted.
    const running = this.current;
    this.current = context;
    try {
      this.quietly(() => {
        // Typed arrays changed since they were last compared: back to those bytes first.
        for (const [typed, image] of context.images) {
          if (sameBytes(image, typed)) continue;
          this.beforeWrite(typed);
          typed.set(image as unknown as ArrayLike<number | bigint>);
        }
        context.images.clear();
        for (let i = context.log.length - 1; i >= from; i--) {
          const change = context.log[i]!;
          const members = this.membersOf(change.target);
          for (const s of members) for (const v of valuesRemoved(change)) this.inc(v, s, []);
          this.beforeWrite(change.target, change);
          undoChange(change);
          for (const s of members) for (const v of valuesAdded(change)) this.dec(v, s);
        }
      });
    } finally {
      this.undoing = false;
      this.current = running;
    }
    context.log.length = from;
  }

  /** Records a refusal on the running action (so the request fails even if the error is caught) and returns it. */
  refuse<E extends Error>(error: E): E {
    if (this.current && !this.current.refusal) this.current.refusal = error;
    return error;
  }

  /** Makes `existing` hold what `source` holds, in place (a backup told an object's whole content). */
  replaceContent(existing: object, source: object): void {
    this.beforeWrite(existing);
    this.quietly(() => {
      const members = this.membersOf(existing);
      const before = childrenOf(existing);
      copyContent(existing, source);
      this.account(members, childrenOf(existing), before);
    });
  }

  /**
   * Objects that joined a second state object during the action and are still in both: allowed between
   * replicated and volatile state (one object on every replica), refused where one of them is a database
   * object, whose objects a restart rebuilds from rows (the two would no longer be one object).
   */
  checkSharing(): void {
    const context = this.current;
    if (!context) return;
    for (const object of context.shared.splice(0)) {
      const members = this.membersOf(object);
      if (members.length < 2 || !members.some((s) => this.owners[s]!.mechanism === 'database')) continue;
      const names = members.map((s) => `'${this.owners[s]!.name}'`).join(' and ');
      throw this.refuse(
        new DurabilityRefusal(
          'DUR3004',
          `An object is held by both ${names}, and one of them is database state: after a restart it is rebuilt from its rows, so the two would no longer hold one object. Store a copy in one of them, or keep the object in one place.`,
        ),
      );
    }
  }

  // ---- fresh objects ----

  /**
   * Fresh objects of the current request (from `from` on) may have been changed through raw references
   * (the code that made them holds them raw): count what they hold now, replace proxies stored inside
   * them by the objects behind them, and number what joined. Newly found objects are fresh too and are
   * reconciled in turn, in the order found: a backup re-running the same code finds the same.
   */
  reconcile(from = 0): void {
    const context = this.current;
    if (!context) return;
    for (let i = from; i < context.fresh.length; i++) {
      const object = context.fresh[i]!;
      const members = this.membersOf(object);
      if (members.length === 0) continue;
      if (Array.isArray(object)) noteArrayAttributes(object); // its code may have given it attributes raw
      const children = childrenOf(object);
      if (children.some(isStateProxy)) normalizeInside(object);
      const before = context.counted.get(object) ?? [];
      const now = children.map(rawOf);
      if (now.length === before.length && now.every((v, j) => v === before[j])) continue; // unchanged since it joined
      context.counted.set(object, now);
      const { added, removed } = multisetDifference(before, now);
      this.account(members, added, removed);
    }
  }

  /**
   * Fresh objects become ordinary state (counted, then reached through proxies like everything else).
   * At the end of a request, and around a repeated call: a backup re-running the call must find the
   * same objects fresh as the primary did (those the call makes), or the two would record differently.
   */
  endFreshness(): void {
    const context = this.current;
    if (!context) return;
    this.reconcile(0);
    context.endRequest();
  }

  /**
   * A digest of what the fresh objects held by state `state` hold, followed through fresh objects (others
   * are followed by their traps): a database object's fresh objects may change only inside its mapped
   * calls, which compare this before and after.
   */
  freshDigest(state: number): string {
    const context = this.current;
    if (!context) return '';
    const parts: string[] = [];
    const seen = new Map<object, number>();
    const visit = (value: unknown): string => {
      const v = rawOf(value);
      if (typeof v !== 'object' || v === null) return typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && Object.is(v, -0) ? '-0' : `${typeof v}:${String(v)}`;
      const known = seen.get(v);
      if (known !== undefined) return `@${known}`;
      seen.set(v, seen.size);
      if (!context.isFresh.has(v) && this.isMember(v)) return `#${this.identity(v)}`;
      const kind = trackedKind(v);
      if (kind === 'date') return `D${(v as Date).getTime()}`;
      if (kind === 'map') return `M[${[...Map.prototype.entries.call(v as Map<unknown, unknown>)].map(([k, x]) => `${visit(k)}=${visit(x)}`).join(',')}]`;
      if (kind === 'set') return `S[${[...Set.prototype.values.call(v as Set<unknown>)].map(visit).join(',')}]`;
      return `{${Reflect.ownKeys(v)
        .map((k) => {
          const d = Reflect.getOwnPropertyDescriptor(v, k)!;
          return `${String(k)}:${'value' in d ? visit(d.value) : 'accessor'}`;
        })
        .join(',')}}`;
    };
    for (const object of context.fresh) if (this.membersOf(object).includes(state)) parts.push(visit(object));
    return parts.join('|');
  }

  private readonly identities = new WeakMap<object, number>();
  private nextIdentity = 1;

  /** A number for an object, stable for its life (for digests). */
  private identity(object: object): number {
    let n = this.identities.get(object);
    if (n === undefined) this.identities.set(object, (n = this.nextIdentity++));
    return n;
  }

  // ---- methods of a state object called from outside it ----

  /** A root method as the code sees it: calls are reported to the state object's owner. */
  rootMethod(raw: object, key: string | symbol, method: (...args: unknown[]) => unknown, receiver: object): (...args: unknown[]) => unknown {
    let wrappers = this.methodWrappers.get(raw);
    if (!wrappers) this.methodWrappers.set(raw, (wrappers = new Map()));
    const existing = wrappers.get(key);
    if (existing && (existing as { original?: unknown }).original === method) return existing;
    const index = this.roots.get(raw)!;
    const graph = this;
    const depths = graph.depths;
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      if (this !== receiver || (depths[index] ?? 0) > 0) return method.apply(this, args);
      depths[index] = (depths[index] ?? 0) + 1;
      let settled = true;
      try {
        const result = graph.owners[index]!.aroundCall(String(key), args, () => method.apply(receiver, args));
        if (isThenable(result)) {
          settled = false;
          return Promise.resolve(result).finally(() => depths[index]!--);
        }
        return result;
      } finally {
        if (settled) depths[index]!--;
      }
    };
    Object.defineProperty(wrapper, 'name', { value: method.name });
    Object.defineProperty(wrapper, 'length', { value: method.length });
    (wrapper as { original?: unknown }).original = method;
    wrappers.set(key, wrapper);
    return wrapper;
  }

  /** Per state object, how deep in calls of its methods the running code is (only the outermost is reported). */
  readonly depths: number[] = [];
}

/** Stored proxies inside a fresh object are replaced by the objects behind them (its own data properties). */
function normalizeInside(object: object): void {
  const kind = trackedKind(object);
  if (kind === 'map') {
    const map = object as Map<unknown, unknown>;
    const entries = [...Map.prototype.entries.call(map)];
    if (entries.some(([k, v]) => isStateProxy(k) || isStateProxy(v))) {
      Map.prototype.clear.call(map);
      for (const [k, v] of entries) Map.prototype.set.call(map, rawOf(k), rawOf(v));
    }
    return;
  }
  if (kind === 'set') {
    const set = object as Set<unknown>;
    const values = [...Set.prototype.values.call(set)];
    if (values.some(isStateProxy)) {
      Set.prototype.clear.call(set);
      for (const v of values) Set.prototype.add.call(set, rawOf(v));
    }
    return;
  }
  for (const key of Reflect.ownKeys(object)) {
    const d = Reflect.getOwnPropertyDescriptor(object, key)!;
    // Only a read-only property that cannot be redefined keeps the proxy (it stands for the object behind it).
    if ('value' in d && isStateProxy(d.value) && (d.writable || d.configurable)) Object.defineProperty(object, key, { ...d, value: rawOf(d.value) });
  }
}

function multisetDifference(before: unknown[], now: unknown[]): { added: unknown[]; removed: unknown[] } {
  const counts = new Map<unknown, number>();
  for (const v of before) if (typeof v === 'object' && v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  const added: unknown[] = [];
  for (const v of now) {
    if (typeof v !== 'object' || v === null) continue;
    const n = counts.get(v) ?? 0;
    if (n > 0) counts.set(v, n - 1);
    else added.push(v);
  }
  const removed: unknown[] = [];
  for (const [v, n] of counts) for (let i = 0; i < n; i++) removed.push(v);
  return { added, removed };
}

const NONE: number[] = [];
const ONE: number[][] = Array.from({ length: 64 }, (_, i) => [i]);

const WELL_KNOWN_SYMBOLS = new Set<symbol>(
  Object.getOwnPropertyNames(Symbol)
    .map((name) => (Symbol as unknown as Record<string, unknown>)[name])
    .filter((v): v is symbol => typeof v === 'symbol'),
);

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function sameElements(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (i in a !== i in b || !Object.is(a[i], b[i])) return false;
  return true;
}

function relativeIndex(value: unknown, length: number): number {
  const i = toInteger(value);
  return i < 0 ? Math.max(length + i, 0) : Math.min(i, length);
}

/** ToIntegerOrInfinity, as splice reads its arguments. */
function toInteger(value: unknown): number {
  const n = Number(value);
  if (Number.isNaN(n)) return 0;
  return Math.trunc(n);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

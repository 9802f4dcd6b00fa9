// What the three mechanisms share: the state object in the service's graph (behind the one membrane),
// the calls the service made on it during each action, in order, each with the stretch of the action's
// log it produced, and the action control. The log itself is the action's, shared by every state object
// it reached (see context.ts); undo is the graph's. Subclasses decide what a commit needs.
import type { Mechanism } from '../../mappings/model.js';
import type { ActionContext } from './context.js';
import { decode, encode, type ClassRegistry } from './encoding.js';
import type { StateGraph, StateOwner } from './graph.js';
import type { Action, CommitPart, DurabilityProxy } from './types.js';
import { systemClock, type Clock } from './clock.js';

/** A top-level call of a state-object method during an action, and where in the log it ran. */
export interface CallRecord {
  method: string;
  args: unknown[];
  from: number;
  to: number;
}

export interface ActionRecord {
  context: ActionContext;
  calls: CallRecord[];
  /** Async calls of the object's methods still running: the action ends only after they settle. */
  running: Set<Promise<unknown>>;
  /** The mapping's own checkpoint, taken when the action began (only with `<checkpoint>`). */
  checkpoint?: unknown;
  transactional: boolean;
  /** What the mechanism prepared for the commit so far (the database's statements). */
  prepared: unknown[];
}

export interface ProxyOptions<T extends object> {
  name: string;
  /** Creates the empty state object: the constructor the service's field initializer calls. */
  create: () => T;
  classes: ClassRegistry;
  /** The service's state graph, shared by all its state objects. */
  graph: StateGraph;
  /** The mapping's `<checkpoint method>` and `<restore method>`, when given. */
  checkpointMethod?: string;
  restoreMethod?: string;
}

export abstract class RecordingProxy<T extends object = object> implements DurabilityProxy<T>, StateOwner {
  abstract readonly mechanism: Mechanism;
  readonly name: string;
  /** This state object's number in the graph. */
  readonly index: number;
  protected readonly graph: StateGraph;
  protected raw: T;
  private proxy: T;
  protected readonly actions = new Map<number, ActionRecord>();
  /** Told when an action reaches this object on a path the request did not declare (join it, or refuse). */
  onReach: ((proxy: RecordingProxy, context: ActionContext) => void) | undefined;

  constructor(protected readonly options: ProxyOptions<T>) {
    this.name = options.name;
    this.graph = options.graph;
    this.index = this.graph.addState(this);
    this.raw = options.create();
    this.proxy = this.graph.adopt(this.raw, this.index) as T;
  }

  get replicated(): boolean {
    return false;
  }

  get object(): T {
    return this.proxy;
  }

  /** The object behind the proxy (tests and the encoding read it). */
  get rawObject(): T {
    return this.raw;
  }

  /** Replaces the state object wholesale (recovery, a snapshot from the primary). */
  protected replaceObject(raw: T): void {
    this.graph.release(this.raw, this.index);
    this.raw = raw;
    this.proxy = this.graph.adopt(raw, this.index) as T;
  }

  // ---- what the graph asks ----

  beforeChange(context: ActionContext): void {
    if (!this.actions.get(context.id)) this.onReach?.(this, context);
  }

  aroundCall(method: string, args: unknown[], run: () => unknown): unknown {
    const context = this.graph.current;
    const record = context && this.actions.get(context.id);
    if (!context || !record || this.graph.isQuiet) return run();
    const call: CallRecord = { method, args, from: context.log.length, to: -1 };
    record.calls.push(call);
    return this.runCall(record, call, run);
  }

  /** Runs one top-level call; mechanisms wrap it (repeat it on backups, bind its SQL). */
  protected runCall(record: ActionRecord, call: CallRecord, run: () => unknown): unknown {
    const result = run();
    if (result instanceof Promise) return this.track(record, call, result);
    call.to = record.context.log.length;
    return result;
  }

  /** An async call: the action waits for it before it ends (see settleA). */
  protected track(record: ActionRecord, call: CallRecord, promise: Promise<unknown>, onSettled?: (failed: boolean) => void): Promise<unknown> {
    const settled = promise.then(
      (value) => {
        call.to = record.context.log.length;
        onSettled?.(false);
        return value;
      },
      (error: unknown) => {
        call.to = record.context.log.length;
        onSettled?.(true);
        throw error;
      },
    );
    const tracked = settled.then(
      () => undefined,
      () => undefined,
    );
    record.running.add(tracked);
    void tracked.then(() => record.running.delete(tracked));
    return settled;
  }

  /**
   * Waits for async calls the action started on this object and did not await (a request that threw, or
   * forgot to), so none of them changes the object after the action ended. Bounded: a call that never
   * settles fails the request instead of holding every other one.
   */
  async settleA(action: Action, clock: Clock = systemClock, timeoutMs = 10_000): Promise<void> {
    const record = this.actions.get(action.id);
    if (!record || record.running.size === 0) return;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = clock.timer(timeoutMs, () => resolve('timeout'))));
    const outcome = await Promise.race([Promise.all(record.running).then(() => 'settled' as const), timeout]);
    timer?.cancel();
    if (outcome === 'timeout') throw new Error(`A method of state object '${this.name}' that this request started is still running after ${timeoutMs} ms.`);
  }

  async init(): Promise<void> {}

  abstract recover(): Promise<void>;

  /** What this object contributes to the commit of `record` (checked now: it may refuse). */
  protected abstract partFor(record: ActionRecord): CommitPart;

  /** The action reached this object: start recording what it does to it. */
  startA(action: Action & { transactional?: boolean }): void {
    if (this.actions.has(action.id)) return;
    const record: ActionRecord = { context: action.context, calls: [], running: new Set(), transactional: action.transactional ?? false, prepared: [] };
    if (this.options.checkpointMethod) record.checkpoint = this.checkpoint();
    this.actions.set(action.id, record);
  }

  isIn(action: Action): boolean {
    return this.actions.has(action.id);
  }

  commitA(action: Action): CommitPart {
    const record = this.actions.get(action.id);
    if (!record) return {};
    this.requestEnded(record);
    if (record.transactional) return {};
    return this.partFor(record);
  }

  /** One request of the action ended well (a whole action, or one request of a transaction). */
  protected requestEnded(_record: ActionRecord): void {}

  /** The action failed: the graph has undone its changes; restore with the mapping's method if it has one. */
  abortA(action: Action): void {
    const record = this.actions.get(action.id);
    if (!record) return;
    this.actions.delete(action.id);
    if (this.options.restoreMethod && record.checkpoint !== undefined) {
      this.restore(record.checkpoint);
      this.afterRestore();
    }
  }

  /** After the mapping's restore replaced the object's insides: replicas must be told (replication). */
  protected afterRestore(): void {}

  releaseA(action: Action): void {
    this.actions.delete(action.id);
  }

  savepointA(action: Action): unknown {
    const r = this.actions.get(action.id);
    return r && { calls: r.calls.length, prepared: r.prepared.length };
  }

  rollbackToA(action: Action, savepoint: unknown): void {
    const r = this.actions.get(action.id);
    const mark = savepoint as { calls: number; prepared: number } | undefined;
    if (!r) return;
    if (!mark) {
      // The object joined the transaction in this request: nothing of it is the transaction's yet.
      this.actions.delete(action.id);
      return;
    }
    r.calls.length = mark.calls;
    r.prepared.length = mark.prepared;
  }

  startTA(action: Action): void {
    this.startA({ ...action, transactional: true });
  }

  commitTA(action: Action): CommitPart {
    const record = this.actions.get(action.id);
    return record ? this.partFor(record) : {};
  }

  abortTA(action: Action): void {
    this.abortA(action);
  }

  checkpoint(): unknown {
    return this.graph.quietly(() => {
      if (this.options.checkpointMethod) return this.callRaw(this.options.checkpointMethod, []);
      return encode(this.raw, this.options.classes);
    });
  }

  /** Puts the object back to `checkpoint`, through the graph (so what it holds is counted as state). */
  restore(checkpoint: unknown): void {
    this.graph.quietly(() => {
      const target = this.object as Record<string | symbol, unknown>;
      if (this.options.restoreMethod) {
        (target[this.options.restoreMethod] as (c: unknown) => unknown).call(target, checkpoint);
        return;
      }
      const copy = decode(checkpoint as never, this.options.classes) as Record<string | symbol, unknown>;
      for (const key of Reflect.ownKeys(target)) delete target[key];
      for (const key of Reflect.ownKeys(copy)) target[key] = copy[key];
    });
  }

  /** Calls a method on the real object (recovery, checkpoints): no action, nothing recorded. */
  protected callRaw(method: string, args: unknown[]): unknown {
    const fn = (this.raw as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new Error(`State object '${this.name}' has no method '${method}'.`);
    return (fn as (...a: unknown[]) => unknown).apply(this.raw, args);
  }
}

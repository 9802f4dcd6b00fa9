// What the three mechanisms share: the state object behind a membrane, one change log per action (a
// request, or a whole transaction), undo on abort, and the calls the service made on the object, in
// order, each with the stretch of the log it produced. Subclasses decide what a commit needs from that.
import type { Mechanism } from '../../mappings/model.js';
import { undo, type Change } from './changes.js';
import { decode, encode, type ClassRegistry } from './encoding.js';
import { Membrane } from './membrane.js';
import { ObjectIds } from './object-ids.js';
import type { Action, CommitPart, DurabilityProxy } from './types.js';

/** A top-level call of a state-object method during an action, and the log entries it produced. */
export interface CallRecord {
  method: string;
  /** The arguments it was called with (mechanisms that need them read them before the call runs). */
  args: unknown[];
  /** The object-id counter before the call, so a backup re-running it numbers new objects alike. */
  idsBefore: number;
  from: number;
  to: number;
}

export interface ActionRecord {
  log: Change[];
  calls: CallRecord[];
  /** What the mechanism prepared for the commit so far (replication ships some of it mid-action). */
  shipped: unknown[];
  /** Log entries up to here are already in `shipped`. */
  shippedTo: number;
  /** Objects this action sent in full: unsent again if it aborts. */
  sent: Set<object>;
  /** Async calls of the object's methods still running: the action ends only after they settle. */
  running: Set<Promise<unknown>>;
  /** The mapping's own checkpoint, taken when the action began (only with `<checkpoint>`). */
  checkpoint?: unknown;
  transactional: boolean;
}

interface Savepoint {
  log: number;
  calls: number;
  shipped: number;
  shippedTo: number;
  sent: number;
}

export interface ProxyOptions<T extends object> {
  name: string;
  /** Creates the empty state object: the constructor the service's field initializer calls. */
  create: () => T;
  classes: ClassRegistry;
  /** The mapping's `<checkpoint method>` and `<restore method>`, when given. */
  checkpointMethod?: string;
  restoreMethod?: string;
}

export abstract class RecordingProxy<T extends object = object> implements DurabilityProxy<T> {
  abstract readonly mechanism: Mechanism;
  readonly name: string;
  protected raw: T;
  protected ids = new ObjectIds();
  protected membrane: Membrane;
  private proxy: T;
  protected readonly actions = new Map<number, ActionRecord>();
  private active: ActionRecord | undefined;
  /** Replicas mirror this object by identity (replication): see Membrane. */
  protected get tracksIdentity(): boolean {
    return false;
  }
  /** Set while the proxy itself replays or recovers: changes are then not an action's. */
  protected maintenance = false;

  constructor(protected readonly options: ProxyOptions<T>) {
    this.name = options.name;
    this.raw = options.create();
    this.membrane = this.newMembrane();
    this.proxy = this.membrane.wrapRoot(this.raw);
  }

  get object(): T {
    return this.proxy;
  }

  /** Replaces the state object wholesale (recovery, a snapshot from the primary). */
  protected replaceObject(raw: T, ids = new ObjectIds()): void {
    this.raw = raw;
    this.ids = ids;
    this.membrane = this.newMembrane();
    this.proxy = this.membrane.wrapRoot(raw);
  }

  private newMembrane(): Membrane {
    const maintenanceLog: Change[] = [];
    return new Membrane(
      {
        name: this.name,
        changeLog: () => {
          if (this.maintenance) {
            maintenanceLog.length = 0;
            return maintenanceLog;
          }
          return this.active?.log;
        },
        aroundCall: (method, args, run) => this.aroundCall(method, args, run),
      },
      this.ids,
      this.tracksIdentity,
    );
  }

  private aroundCall(method: string, args: unknown[], run: () => unknown): unknown {
    const record = this.active;
    if (!record || this.maintenance) return run();
    const call: CallRecord = { method, args, idsBefore: this.ids.next, from: record.log.length, to: -1 };
    record.calls.push(call);
    this.callStarted(record, call);
    const finish = () => {
      call.to = record.log.length;
      this.callFinished(record, call);
    };
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      finish();
      throw error;
    }
    if (result instanceof Promise) {
      const settled = result.finally(finish);
      const tracked = settled.then(
        () => undefined,
        () => undefined,
      );
      record.running.add(tracked);
      void tracked.then(() => record.running.delete(tracked));
      this.callReturnedPromise(call); // may refuse it: the action then waits for it, and undoes it
      return settled;
    }
    finish();
    return result;
  }

  /** An async method of the object was called (replication refuses to repeat one). */
  protected callReturnedPromise(_call: CallRecord): void {}

  /**
   * Waits for async calls the action started on this object and did not await (a request that threw, or
   * forgot to), so none of them changes the object after the action ended. Bounded: a call that never
   * settles fails the request instead of holding every other one.
   */
  async settleA(action: Action, timeoutMs = 10_000): Promise<void> {
    const record = this.actions.get(action.id);
    if (!record || record.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([Promise.all(record.running).then(() => 'settled' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`A method of state object '${this.name}' that this request started is still running after ${timeoutMs} ms.`);
  }

  /** Hooks around a top-level call, for mechanisms that ship calls rather than changes. */
  protected callStarted(_record: ActionRecord, _call: CallRecord): void {}
  protected callFinished(_record: ActionRecord, _call: CallRecord): void {}

  /** A call on the state object through its proxy: the path every service call takes. */
  invoke(method: string, args: unknown[]): unknown {
    const fn = (this.object as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new Error(`State object '${this.name}' has no method '${method}'.`);
    return (fn as (...a: unknown[]) => unknown).apply(this.object, args);
  }

  async init(): Promise<void> {}

  abstract recover(): Promise<void>;

  protected abstract partFor(record: ActionRecord): CommitPart;

  startA(action: Action & { transactional?: boolean }): void {
    let record = this.actions.get(action.id);
    if (!record) {
      record = { log: [], calls: [], shipped: [], shippedTo: 0, sent: new Set(), running: new Set(), transactional: action.transactional ?? false };
      if (this.options.checkpointMethod) record.checkpoint = this.checkpoint();
      this.actions.set(action.id, record);
    }
    this.active = record;
  }

  commitA(action: Action): CommitPart {
    const record = this.actions.get(action.id);
    this.active = undefined;
    if (!record || record.transactional) return {};
    return this.partFor(record);
  }

  abortA(action: Action): void {
    const record = this.actions.get(action.id);
    this.active = undefined;
    if (!record) return;
    this.actions.delete(action.id);
    for (const object of record.sent) this.ids.markUnsent(object);
    if (this.options.restoreMethod && record.checkpoint !== undefined) {
      this.restore(record.checkpoint);
      this.afterRestore();
    } else {
      undo(record.log);
    }
  }

  /** After the mapping's restore replaced the object's insides: replicas must be told (replication). */
  protected afterRestore(): void {}

  releaseA(action: Action): void {
    this.actions.delete(action.id);
  }

  savepointA(action: Action): Savepoint | undefined {
    const r = this.actions.get(action.id);
    return r && { log: r.log.length, calls: r.calls.length, shipped: r.shipped.length, shippedTo: r.shippedTo, sent: r.sent.size };
  }

  rollbackToA(action: Action, savepoint: unknown): void {
    const r = this.actions.get(action.id);
    const mark = savepoint as Savepoint | undefined;
    this.active = undefined;
    if (!r) return;
    if (!mark) {
      // The object joined the transaction in this request: nothing of it is the transaction's yet.
      this.abortA(action);
      return;
    }
    undo(r.log.slice(mark.log));
    r.log.length = mark.log;
    r.calls.length = mark.calls;
    r.shipped.length = mark.shipped;
    r.shippedTo = mark.shippedTo;
    for (const object of [...r.sent].slice(mark.sent)) {
      r.sent.delete(object);
      this.ids.markUnsent(object);
    }
  }

  startTA(action: Action): void {
    this.startA({ ...action, transactional: true });
    this.active = undefined;
  }

  commitTA(action: Action): CommitPart {
    const record = this.actions.get(action.id);
    this.active = undefined;
    return record ? this.partFor(record) : {};
  }

  abortTA(action: Action): void {
    this.abortA(action);
  }

  checkpoint(): unknown {
    return this.withoutRecording(() => {
      if (this.options.checkpointMethod) return this.callRaw(this.options.checkpointMethod, []);
      return encode(this.raw, this.options.classes);
    });
  }

  restore(checkpoint: unknown): void {
    this.withoutRecording(() => {
      if (this.options.restoreMethod) {
        this.callRaw(this.options.restoreMethod, [checkpoint]);
        return;
      }
      const copy = decode(checkpoint as never, this.options.classes) as Record<string, unknown>;
      const target = this.raw as Record<string, unknown>;
      for (const key of Object.keys(target)) delete target[key];
      Object.assign(target, copy);
    });
  }

  protected withoutRecording<R>(fn: () => R): R {
    const was = this.maintenance;
    this.maintenance = true;
    try {
      return fn();
    } finally {
      this.maintenance = was;
    }
  }

  /** Calls a method on the real object (recovery, checkpoints): no action, nothing recorded. */
  protected callRaw(method: string, args: unknown[]): unknown {
    const fn = (this.raw as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new Error(`State object '${this.name}' has no method '${method}'.`);
    return (fn as (...a: unknown[]) => unknown).apply(this.raw, args);
  }
}

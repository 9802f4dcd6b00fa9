// What the backups receive for one action, built as the action runs, for every replicated object of the
// service together (they share one graph of object ids, so an object two of them hold is one object on
// every replica): the changes in the order they happened, and, for update="repeat" methods, the call
// itself instead of its changes, with the clock and random values it used and a digest of what it did.
// On a backup, the same class applies that stream: changes through the graph, calls re-run and checked
// against their digest (a re-run that differs stops the backup, which then rejoins from a snapshot).
import { createHash } from 'node:crypto';
import { applyChange, changeFromWire, encodeChange, valuesAdded, type Change, type WireChange } from '../core/changes.js';
import { ActionContext } from '../core/context.js';
import { decode, encode, EncodingError, type ClassRegistry, type Encoded } from '../core/encoding.js';
import type { StateGraph } from '../core/graph.js';
import { DurabilityRefusal } from '../core/refusals.js';
import { rawOf } from '../core/raw.js';
import type { ReplicatedEntry, ReplicatedUpdate } from '../core/types.js';
import { childrenOf, trackedKind } from '../core/values.js';
import { recordNondeterminism, replayNondeterminism, ReplayDivergence } from './nondeterminism.js';
import type { ReplicationProxy } from './proxy.js';
import { SnapshotReader } from './snapshot-reader.js';
import { SnapshotWriter, type SnapshotHeader } from './snapshot.js';

interface StreamRecord {
  entries: ReplicatedEntry[];
  /** Snapshots of objects a mapping's restore replaced, sent first (given back if this action aborts). */
  resyncs: ReplicatedEntry[];
  /** Log entries before this one are in `entries` (as changes, or covered by a repeated call). */
  shippedTo: number;
  /** Objects this action made known to the replicas (unknown again if it aborts). */
  sent: Set<object>;
  /** Objects sent before the request ended, with their content then: a raw change since is sent again. */
  early: Map<object, string>;
  /** Inside a repeated call: what it does is the call's (the backup re-runs it). */
  repeating: boolean;
}

export class Replicator {
  private readonly records = new Map<number, StreamRecord>();
  /** Objects a mapping's restore replaced since the last shipped action, as they were then. */
  private stashed: ReplicatedEntry[] = [];

  constructor(
    private readonly graph: StateGraph,
    private readonly classes: ClassRegistry,
    private readonly objects: ReadonlyMap<string, ReplicationProxy>,
  ) {}

  private recordFor(context: ActionContext): StreamRecord {
    let record = this.records.get(context.id);
    if (!record) {
      const resyncs = this.stashed.splice(0);
      this.records.set(context.id, (record = { entries: [...resyncs], resyncs, shippedTo: 0, sent: new Set(), early: new Map(), repeating: false }));
    }
    return record;
  }

  // ---- the primary ----

  /**
   * A call of an update="repeat" method: what happened before it is shipped as changes (encoded as it is
   * now), then the call with its arguments as they are before it runs. An async call, or one whose
   * arguments are not data (a function), cannot be re-run in step: its changes are shipped instead.
   */
  repeat(proxy: ReplicationProxy, method: string, args: unknown[], context: ActionContext, run: () => unknown): unknown {
    const record = this.recordFor(context);
    if (record.repeating) return run();
    this.graph.settleImages();
    this.flush(record, context, context.log.length, true);
    // What the request made so far was just sent in full: from here on it is ordinary state, on the
    // backup as here (see StateGraph.endFreshness).
    this.graph.endFreshness();
    const idsBefore = this.graph.ids.next;
    const sentBefore = record.sent.size;
    let encodedArgs: Encoded;
    try {
      encodedArgs = encode(args, this.classes, { ids: this.graph.ids, sent: record.sent });
    } catch (error) {
      if (!(error instanceof EncodingError)) throw error;
      this.unsend(record, sentBefore);
      return run();
    }
    const from = context.log.length;
    record.repeating = true;
    let outcome: ReturnType<typeof recordNondeterminism<unknown>>;
    try {
      outcome = recordNondeterminism(run);
    } finally {
      record.repeating = false;
    }
    if (isThenable(outcome.result)) {
      this.unsend(record, sentBefore);
      return outcome.result;
    }
    for (const object of [...record.sent].slice(sentBefore)) this.rememberEarly(record, object);
    const digest = this.afterCall(context, from, record);
    this.graph.endFreshness();
    record.entries.push({ call: method, object: proxy.name, args: encodedArgs, ids: idsBefore, ...(outcome.values.length > 0 ? { nd: outcome.values } : {}), digest });
    record.shippedTo = context.log.length;
    if (outcome.error) throw outcome.error.thrown;
    return outcome.result;
  }

  /**
   * One request of the action ended: the rest of its changes, encoded now (so objects it made and changed
   * through its own references go as they are), and objects sent earlier in the request that it changed
   * since through such references, sent again in full.
   */
  requestEnded(context: ActionContext): void {
    const record = this.records.get(context.id);
    if (!record && !context.log.some((c) => c.ship)) return;
    const r = record ?? this.recordFor(context);
    this.flush(r, context, context.log.length, false);
    const resets: WireChange[] = [];
    for (const [object, before] of r.early) {
      if (this.peek(object) === before || !this.graph.isMember(object)) continue;
      const id = this.graph.ids.idOf(object)!;
      resets.push({ t: 'reset', o: id, v: this.sendable(() => encode(object, this.classes, { ids: this.graph.ids, sent: r.sent, contentOf: object })) });
    }
    if (resets.length > 0) r.entries.push({ changes: resets });
    r.early.clear();
  }

  /** What the action sends the backups, or undefined when it sends nothing. */
  commitA(context: ActionContext): ReplicatedUpdate | undefined {
    const record = this.stashed.length > 0 ? this.recordFor(context) : this.records.get(context.id);
    return record && record.entries.length > 0 ? { entries: record.entries } : undefined;
  }

  /** The action did not reach the backups: what it sent is unknown to them. */
  abortA(context: ActionContext): void {
    const record = this.records.get(context.id);
    if (!record) return;
    this.unsend(record, 0);
    this.stashed.unshift(...record.resyncs);
    this.records.delete(context.id);
  }

  releaseA(context: ActionContext): void {
    this.records.delete(context.id);
  }

  savepoint(context: ActionContext): { entries: number; shippedTo: number; sent: number } | undefined {
    const r = this.records.get(context.id);
    return r && { entries: r.entries.length, shippedTo: r.shippedTo, sent: r.sent.size };
  }

  rollback(context: ActionContext, mark: { entries: number; shippedTo: number; sent: number } | undefined): void {
    const r = this.records.get(context.id);
    if (!r) return;
    if (!mark) {
      this.abortA(context);
      return;
    }
    r.entries.length = mark.entries;
    r.shippedTo = mark.shippedTo;
    this.unsend(r, mark.sent);
    r.early.clear();
  }

  /**
   * The whole of one object as it is now, after the mapping's restore replaced what the backups know by
   * id: sent ahead of the next action that reaches the backups.
   */
  resync(proxy: ReplicationProxy): void {
    const snapshot = encode(proxy.rawObject, this.classes, { ids: this.graph.ids, full: true });
    this.stashed = this.stashed.filter((e) => !('snapshot' in e && e.object === proxy.name));
    this.stashed.push({ snapshot, object: proxy.name, ids: this.graph.ids.next });
  }

  /**
   * A snapshot of every replicated object as it is now, to be streamed to a joining backup while requests
   * go on (replication/snapshot.ts keeps what it needs of each object before it changes).
   */
  snapshotWriter(meta: { epoch: number; seq: number }, replies: [string, string][]): SnapshotWriter {
    const roots = new Map([...this.objects].map(([name, proxy]) => [name, proxy.rawObject as object]));
    return new SnapshotWriter(this.graph, this.classes, roots, meta, replies);
  }

  private flush(record: StreamRecord, context: ActionContext, to: number, early: boolean): void {
    if (to <= record.shippedTo) return;
    // Objects sent in full by this encoding: a later change to one of them in the same stretch is in it.
    const sentNow = new Set<object>();
    const changes: WireChange[] = [];
    this.sendable(() => {
      for (let i = record.shippedTo; i < to; i++) {
        const wire = encodeChange(context.log[i]!, this.classes, this.graph.ids, sentNow);
        if (wire) changes.push(wire);
      }
    });
    record.shippedTo = to;
    if (changes.length > 0) record.entries.push({ changes });
    for (const object of sentNow) {
      record.sent.add(object);
      if (early) this.rememberEarly(record, object);
    }
  }

  /** Runs an encoding of what the request stored: what cannot be sent to the backups refuses the request. */
  private sendable<T>(encoding: () => T): T {
    try {
      return encoding();
    } catch (error) {
      // A function, a Symbol() key, an own accessor, an instance of a class outside the service.
      if (error instanceof EncodingError) throw this.graph.refuse(new DurabilityRefusal('DUR3004', `${error.message} (what this request stored could not be sent to the backups.)`));
      throw error;
    }
  }

  private rememberEarly(record: StreamRecord, object: object): void {
    if (this.graph.current?.isFresh.has(object)) record.early.set(object, this.peek(object));
  }

  private unsend(record: StreamRecord, from: number): void {
    for (const object of [...record.sent].slice(from)) {
      record.sent.delete(object);
      record.early.delete(object);
      this.graph.ids.markUnsent(object);
    }
  }

  /**
   * An object's content as the replicas would receive it now (nothing assigned or marked). What cannot be
   * sent says so, alike on every replica: the commit's own encoding refuses it.
   */
  private peek(object: object): string {
    try {
      return JSON.stringify(encode(object, this.classes, { ids: this.graph.ids, peek: true, contentOf: object }));
    } catch (error) {
      if (error instanceof EncodingError) return `unsendable: ${error.message}`;
      throw error;
    }
  }

  /**
   * After a repeated call, on the primary and on a backup alike: what it attached is known to every
   * replica (each made it), and the digest of what it did, which a backup's re-run must match.
   */
  private afterCall(context: ActionContext, from: number, record: StreamRecord | undefined): string {
    this.graph.settleImages();
    this.graph.reconcile(0);
    const window = context.log.slice(from);
    const made: object[] = [];
    const visit = (value: unknown) => {
      const stack = [value];
      while (stack.length > 0) {
        const v = rawOf(stack.pop());
        if (typeof v !== 'object' || v === null || trackedKind(v) === undefined) continue;
        if (this.graph.ids.idOf(v) === undefined || this.graph.ids.isKnownToReplicas(v)) continue;
        this.graph.ids.markSent(v);
        record?.sent.add(v);
        if (context.isFresh.has(v)) made.push(v);
        stack.push(...childrenOf(v));
      }
    };
    for (const change of window) if (change.ship) valuesAdded(change).forEach(visit);
    const madeContent = made.map((o) => this.peek(o));
    if (record) made.forEach((o, i) => record.early.set(o, madeContent[i]!));
    const hash = createHash('sha1');
    for (const change of window) if (change.ship) hash.update(this.fingerprint(change)).update('\n');
    for (const content of madeContent) hash.update(content).update('\n');
    hash.update(String(this.graph.ids.next));
    return hash.digest('base64').slice(0, 22);
  }

  private fingerprint(change: Change): string {
    const value = (v: unknown): string => {
      const r = rawOf(v);
      if (typeof r === 'object' && r !== null) return `#${this.graph.ids.idOf(r) ?? '?'}`;
      if (typeof r === 'bigint') return `${r}n`;
      if (typeof r === 'number' && Object.is(r, -0)) return '-0';
      return `${typeof r}:${String(r)}`;
    };
    const target = `${change.kind}@${this.graph.ids.idOf(change.target) ?? '?'}`;
    switch (change.kind) {
      case 'prop':
        return `${target}:${String(change.key)}=${change.after && 'value' in change.after ? value(change.after.value) : 'deleted'}`;
      case 'splice':
        return `${target}:${change.start}-${change.removed.length}+${change.inserted.map(value).join(',')}`;
      case 'replace':
        return `${target}:${Array.from(change.value, value).join(',')}`;
      case 'mapSet':
        return `${target}:${value(change.key)}=${value(change.value)}`;
      case 'mapDelete':
      case 'setAdd':
      case 'setDelete':
        return `${target}:${value('key' in change ? change.key : change.value)}`;
      case 'date':
        return `${target}:${change.value}`;
      case 'tset':
        return `${target}:${change.index}=${value(change.value)}`;
      default:
        return target;
    }
  }

  // ---- a backup ----

  /**
   * Every object of the replicated state now is one every replica will hold under its id: a backup
   * joins from a snapshot of all of them. A primary starting with state of its own marks it so; from then
   * on a change sends in full only objects new to the state, so that an object a backup holds from its
   * snapshot is never sent again as it is after the change that refers to it.
   */
  markAllKnown(): void {
    const ids = this.graph.ids;
    const stack: unknown[] = [...this.objects.values()].map((p) => p.rawObject);
    while (stack.length > 0) {
      const v = stack.pop();
      if (typeof v !== 'object' || v === null || ids.idOf(v) === undefined || ids.isKnownToReplicas(v)) continue;
      ids.markSent(v);
      for (const child of childrenOf(v)) stack.push(rawOf(child));
    }
  }

  /** Reads a snapshot the primary streams (SnapshotReader), with this service's classes. */
  snapshotReader(header: SnapshotHeader): SnapshotReader {
    return new SnapshotReader(header, this.classes);
  }

  /** Starts every replicated object from the primary's snapshot, read in full (with the primary's ids). */
  installSnapshot(reader: SnapshotReader): void {
    const roots = reader.finish();
    this.graph.ids = reader.ids;
    reader.ids.resent = (existing, content) => this.graph.replaceContent(existing, content);
    for (const [name, proxy] of this.objects) {
      const root = roots.get(name);
      if (root !== undefined) proxy.replaceRoot(root);
    }
  }

  /** Applies one action's update from the primary, in the order the primary made it. */
  apply(update: ReplicatedUpdate): void {
    for (const entry of update.entries) {
      if ('snapshot' in entry) {
        const proxy = this.proxy(entry.object);
        proxy.replaceRoot(decode(entry.snapshot, this.classes, this.graph.ids) as object);
        this.graph.ids.next = Math.max(this.graph.ids.next, entry.ids);
      } else if ('changes' in entry) {
        this.graph.quietly(() => {
          for (const wire of entry.changes) {
            if (wire.t === 'reset') this.reset(wire.o, wire.v);
            else {
              const change = changeFromWire(wire, this.classes, this.graph.ids);
              this.graph.mutate(change.target, change, () => applyChange(change));
            }
          }
        });
      } else {
        this.replay(entry);
      }
    }
  }

  private replay(entry: Extract<ReplicatedEntry, { call: string }>): void {
    const proxy = this.proxy(entry.object);
    this.graph.ids.next = entry.ids;
    const args = decode(entry.args, this.classes, this.graph.ids);
    if (!Array.isArray(args)) throw new Error("Malformed update: a call's arguments are not a list.");
    const context = new ActionContext(-1);
    const previous = this.graph.current;
    this.graph.current = context;
    try {
      replayNondeterminism(entry.nd ?? [], () => {
        const target = proxy.object as Record<string, unknown>;
        const method = target[entry.call];
        if (typeof method !== 'function') throw new Error(`Malformed update: '${proxy.name}' has no method '${entry.call}'.`);
        try {
          (method as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          // The primary's run threw at the same point and its caller carried on: so does the replica.
          if (error instanceof ReplayDivergence) throw error;
        }
      });
      const digest = this.afterCall(context, 0, undefined);
      if (entry.digest !== undefined && digest !== entry.digest) {
        throw new ReplayDivergence(`re-running ${proxy.name}.${entry.call} here did not make the changes it made on the primary`);
      }
    } catch (error) {
      if (error instanceof ReplayDivergence) {
        throw new ReplayDivergence(
          `DUR3007: update="repeat" diverged: ${error.message}. ${proxy.name}.${entry.call} depends on something a backup cannot reproduce (a module variable, the environment, a clock or random source read through a reference taken before the run-time started); map it with update="state". This backup takes a fresh snapshot from its primary.`,
        );
      }
      throw error;
    } finally {
      this.graph.current = previous;
    }
  }

  /** Replaces an object's content in place with what the primary sent (it changed where no trap saw it). */
  private reset(id: number, encoded: Encoded): void {
    const existing = this.graph.ids.objectOf(id);
    if (!existing) throw new Error(`Malformed update: object #${id} is unknown on this replica.`);
    const content = decode(encoded, this.classes, this.graph.ids, id) as object;
    this.graph.replaceContent(existing, content);
  }

  private proxy(name: string): ReplicationProxy {
    const proxy = this.objects.get(name);
    if (!proxy) throw new Error(`Malformed update: no replicated state object '${name}' here.`);
    return proxy;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

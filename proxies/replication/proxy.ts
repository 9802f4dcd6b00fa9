// The replication proxy (Chapter IV.C.2). On the primary it turns an action into the update the backups
// apply: for each call the service made on the object, either the call itself (`update="repeat"`, for
// deterministic methods) or the changes it made, recorded at the trap (`update="state"`). On a backup it
// applies those updates, in order, to its own replica of the object, and on promotion its replica is
// the state. The transport and the wait for acknowledgements belong to the action controller's commit.
import type { ReplicationStateMapping, SyncMode, UpdateMode } from '../../mappings/model.js';
import { applyWireChanges, encodeChanges, type Change } from '../core/changes.js';
import { decode, encode, type Encoded } from '../core/encoding.js';
import { children, ObjectIds } from '../core/object-ids.js';
import { RecordingProxy, type ActionRecord, type CallRecord, type ProxyOptions } from '../core/recording-proxy.js';
import type { CommitPart, ReplicatedEntry } from '../core/types.js';

export interface ReplicationOptions<T extends object> extends ProxyOptions<T> {
  update: UpdateMode;
  sync: SyncMode;
  /** Per-method `<method update>` overrides. */
  methodUpdates?: ReadonlyMap<string, UpdateMode>;
}

export function replicationOptionsFrom<T extends object>(mapping: ReplicationStateMapping, base: ProxyOptions<T>): ReplicationOptions<T> {
  return {
    ...base,
    update: mapping.update,
    sync: mapping.sync,
    methodUpdates: new Map(mapping.methods.map((m) => [m.name, m.update])),
    checkpointMethod: mapping.checkpoint?.name,
    restoreMethod: mapping.restore?.name,
  };
}

export class ReplicationProxy<T extends object = object> extends RecordingProxy<T> {
  readonly mechanism = 'replication' as const;
  /** A mapping's restore replaced objects the backups know by id: send the whole object next time. */
  private resync = false;

  constructor(private readonly replication: ReplicationOptions<T>) {
    super(replication);
    this.adoptGraph();
  }

  protected override get tracksIdentity(): boolean {
    return true;
  }

  /** Numbers the whole object as every replica will know it: they all start from a snapshot of it. */
  private adoptGraph(): void {
    encode(this.raw, this.options.classes, { ids: this.ids, full: true });
  }

  get sync(): SyncMode {
    return this.replication.sync;
  }

  private modeOf(method: string): UpdateMode {
    return this.replication.methodUpdates?.get(method) ?? this.replication.update;
  }

  async recover(): Promise<void> {
    // The replica is the state: a promoted backup already holds it. Nothing to read back.
  }

  /** The full object with its identities: what a joining backup starts from. */
  snapshot(): { state: Encoded; nextId: number } {
    const state = encode(this.raw, this.options.classes, { ids: this.ids, full: true });
    return { state, nextId: this.ids.next };
  }

  protected override afterRestore(): void {
    this.resync = true;
  }

  protected override callStarted(record: ActionRecord, call: CallRecord): void {
    if (this.modeOf(call.method) !== 'repeat') return;
    // Changes made before a repeated call are encoded now, as they are before it runs: the backup
    // applies them, then re-runs the call on top of them.
    this.ship(record, call.from);
    // Arguments go by identity: an object of the graph travels as a reference to the backup's own
    // copy of it, a new one in full with the id both sides will know it by.
    const args = encode(call.args, this.options.classes, { ids: this.ids, sent: record.sent, unwrap: (v) => this.membrane.unwrap(v) });
    record.shipped.push({ call: call.method, args, ids: call.idsBefore } satisfies ReplicatedEntry);
  }

  protected override callReturnedPromise(call: CallRecord): void {
    if (this.modeOf(call.method) === 'repeat') {
      throw new Error(`${this.name}.${call.method} is async, so a backup cannot re-run it in step with this node: map it with update="state" (durable check reports this as DUR2016).`);
    }
  }

  protected override callFinished(record: ActionRecord, call: CallRecord): void {
    if (this.modeOf(call.method) !== 'repeat') return;
    // The call's own changes are not shipped: the backup makes them by re-running it. Objects it
    // attached are numbered alike on the backup, which knows them from then on.
    for (const change of record.log.slice(call.from, call.to)) markAttachedAsSent(change, this.ids, record.sent);
    record.shippedTo = call.to;
  }

  /** Encodes the changes recorded since the last shipment, up to `to`. */
  private ship(record: ActionRecord, to: number): void {
    if (to <= record.shippedTo) return;
    const changes = encodeChanges(record.log.slice(record.shippedTo, to), this.options.classes, this.ids, record.sent);
    if (changes.length > 0) record.shipped.push({ changes } satisfies ReplicatedEntry);
    record.shippedTo = to;
  }

  protected partFor(record: ActionRecord): CommitPart {
    if (this.resync) {
      this.resync = false;
      const { state, nextId } = this.snapshot();
      return { replicated: { object: this.name, entries: [{ snapshot: state, ids: nextId }] } };
    }
    this.ship(record, record.log.length);
    const entries = record.shipped as ReplicatedEntry[];
    return entries.length > 0 ? { replicated: { object: this.name, entries } } : {};
  }

  // ---- backup role ----

  /** Starts this replica from the primary's snapshot. */
  loadSnapshot(state: Encoded, nextId: number): void {
    const ids = new ObjectIds();
    const raw = decode(state, this.options.classes, ids) as T;
    ids.next = nextId;
    this.replaceObject(raw, ids);
  }

  /** Applies one update from the primary, in the order the primary made it. */
  applyEntries(entries: readonly ReplicatedEntry[]): void {
    this.withoutRecording(() => {
      for (const entry of entries) {
        if ('snapshot' in entry) {
          this.loadSnapshot(entry.snapshot, entry.ids);
        } else if ('changes' in entry) {
          applyWireChanges(entry.changes, this.options.classes, this.ids);
        } else {
          this.ids.next = entry.ids;
          const args = decode(entry.args, this.options.classes, this.ids) as unknown[];
          const method = (this.object as Record<string, unknown>)[entry.call];
          if (typeof method !== 'function') throw new Error(`Malformed update: '${this.name}' has no method '${entry.call}'.`);
          try {
            (method as (...a: unknown[]) => unknown).apply(this.object, args);
          } catch {
            // The primary's run threw at the same point and its caller carried on: so does the replica.
          }
        }
      }
    });
  }
}

/** Objects a repeated call attached: the backup numbers them itself when it re-runs the call. */
function markAttachedAsSent(change: Change, ids: ObjectIds, sent: Set<object>): void {
  const values: unknown[] =
    change.kind === 'set' ? [change.value] : change.kind === 'mapSet' ? [change.key, change.value] : change.kind === 'splice' ? change.inserted : change.kind === 'setAdd' ? [change.value] : change.kind === 'replace' ? change.value : [];
  const visit = (v: unknown) => {
    if (typeof v !== 'object' || v === null || ids.isKnownToReplicas(v) || ids.idOf(v) === undefined) return;
    ids.markSent(v);
    sent.add(v);
    children(v).forEach(visit);
  };
  values.forEach(visit);
}

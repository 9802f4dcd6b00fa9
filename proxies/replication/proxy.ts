// The replication proxy (Chapter IV.C.2). Its object lives in the service's graph like every other;
// what the backups receive is built by the service's Replicator (one stream for all replicated objects,
// which share object ids): for each call the service makes on this object, either the call itself
// (`update="repeat"`, for deterministic methods) or the changes it made (`update="state"`). On a backup
// the replica is the state, and on promotion it serves as it is.
import type { ReplicationStateMapping, SyncMode, UpdateMode } from '../../mappings/model.js';
import { RecordingProxy, type ActionRecord, type CallRecord, type ProxyOptions } from '../core/recording-proxy.js';
import type { CommitPart } from '../core/types.js';
import type { Replicator } from './replicator.js';

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
  /** Set by the run-time: the stream every replicated object of the service shares. */
  replicator!: Replicator;

  constructor(private readonly replication: ReplicationOptions<T>) {
    super(replication);
  }

  override get replicated(): boolean {
    return true;
  }

  get sync(): SyncMode {
    return this.replication.sync;
  }

  /** Whether any method of this object is repeated on backups (the run-time then records clocks and randomness). */
  get repeats(): boolean {
    return this.replication.update === 'repeat' || [...(this.replication.methodUpdates?.values() ?? [])].includes('repeat');
  }

  private modeOf(method: string): UpdateMode {
    return this.replication.methodUpdates?.get(method) ?? this.replication.update;
  }

  async recover(): Promise<void> {
    // The replica is the state: a promoted backup already holds it. Nothing to read back.
  }

  /** A backup's replica starts over from what the primary sent. */
  replaceRoot(raw: object): void {
    this.replaceObject(raw as T);
  }

  protected override runCall(record: ActionRecord, call: CallRecord, run: () => unknown): unknown {
    if (this.modeOf(call.method) !== 'repeat') return super.runCall(record, call, run);
    const result = this.replicator.repeat(this, call.method, call.args, record.context, run);
    if (result instanceof Promise) return this.track(record, call, result);
    call.to = record.context.log.length;
    return result;
  }

  protected override afterRestore(): void {
    this.replicator.resync(this);
  }

  protected partFor(): CommitPart {
    return {};
  }
}

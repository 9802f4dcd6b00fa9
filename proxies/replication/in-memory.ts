// The replication link without a network: backups in the same process, each message copied through
// JSON as the wire would. For tests, with the faults they need: a backup that stops answering, and
// decisions that never arrive (the primary died between its database commit and telling the backups).
import type { BackupReplica } from './backup.js';
import { ReplicationUnavailableError, type Decision, type ReplicationBatch, type ReplicationLink } from './link.js';

export class InMemoryLink implements ReplicationLink {
  /** Backups that receive nothing (crashed or cut off); a live one is every other. */
  readonly down = new Set<BackupReplica>();
  /** When set, decisions are lost on the way. */
  dropDecisions = false;
  /** Batches shipped, for tests that count round trips. */
  batches = 0;
  /** Why backups refused batches (and were dropped). */
  readonly refusals: string[] = [];

  constructor(
    readonly backups: BackupReplica[],
    private readonly minAcks = 0,
    /** The backups' ids (ServiceRuntime.identity), when the test gives them: recipients() names them. */
    private readonly names?: string[],
  ) {}

  recipients(): string[] | undefined {
    return this.names?.filter((_, i) => !this.down.has(this.backups[i]!));
  }

  replicate(batch: ReplicationBatch, wait: boolean): Promise<void> {
    this.batches++;
    const live = this.backups.filter((b) => !this.down.has(b));
    if (live.length < this.minAcks) {
      throw new ReplicationUnavailableError(`${live.length} backup(s) live, ${this.minAcks} required to acknowledge.`, false);
    }
    const wire = JSON.stringify(batch);
    // One ordered stream, as a connection is: a lazy batch is delivered later, never overtaken.
    this.inFlight++;
    const delivered = this.stream.then(() => {
      this.inFlight--;
      for (const backup of live) {
        try {
          backup.receive(JSON.parse(wire) as ReplicationBatch);
        } catch (error) {
          // A backup that refuses a batch (it could not apply it) is dropped, as the TCP link drops it.
          this.down.add(backup);
          this.refusals.push((error as Error).message);
        }
      }
      const holding = live.filter((b) => !this.down.has(b));
      if (holding.length < this.minAcks) throw new ReplicationUnavailableError(`${holding.length} backup(s) hold the batch, ${this.minAcks} required.`, true, false, holding.length > 0);
    });
    // The next batch follows this one whether or not enough backups held it.
    this.stream = delivered.catch(() => undefined);
    return wait ? delivered : Promise.resolve();
  }

  private stream: Promise<void> = Promise.resolve();
  private inFlight = 0;

  private get idle(): boolean {
    return this.inFlight === 0;
  }

  decide(decision: Decision): void {
    if (this.dropDecisions) return;
    const wire = JSON.stringify(decision);
    const live = this.backups.filter((b) => !this.down.has(b));
    const deliver = () => {
      for (const backup of live) backup.decide(JSON.parse(wire) as Decision);
    };
    // Decisions follow the batches they decide on the same stream; with nothing in flight, at once.
    if (this.idle) deliver();
    else this.stream = this.stream.then(deliver);
  }
}

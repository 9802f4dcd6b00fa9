// A backup's side of replication, as a plain state machine: it takes batches and decisions, in the order
// the transport delivers them, acknowledges what it holds, and applies records in sequence order. A
// record prepared by a commit that also wrote the database waits for its decision, and so does every
// record after it. On promotion, undecided records are settled by the database's decision records:
// the database commit is what decided them, even if the primary died before saying so.
import type { Decision, ReplicationBatch, ReplicationRecord } from './link.js';
import type { Replicator } from './replicator.js';
import type { SnapshotReader } from './snapshot-reader.js';
import type { SnapshotHeader, SnapshotPart } from './snapshot.js';

export class StaleEpochError extends Error {}

export interface Ack {
  epoch: number;
  /** Every record up to and including this sequence number is held here. */
  upTo: number;
}

export class BackupReplica {
  private epoch = 0;
  private received = 0;
  private applied = 0;
  /** Held records, in order; the head waits for its decision when prepared. */
  private readonly held: ReplicationRecord[] = [];
  private readonly decisions = new Map<number, boolean>();
  private readonly replies = new Map<string, string>();

  constructor(
    private readonly replicator: Replicator,
    private readonly replyRetention = 100_000,
  ) {}

  get lastApplied(): number {
    return this.applied;
  }

  /** The highest record held, applied or waiting for its decision. */
  get lastReceived(): number {
    return this.received;
  }

  /** Whether this replica started from a primary's snapshot: only then may it take over. */
  get hasSnapshot(): boolean {
    return this.snapshotLoaded;
  }

  private snapshotLoaded = false;

  get currentEpoch(): number {
    return this.epoch;
  }

  /**
   * The snapshot being received, if one is, with the records and decisions that came after its record:
   * held apart until its last part has come. Until then this replica keeps the state it had, and what it
   * says it holds (a backup that held everything may still be the one to take over).
   */
  private incoming: { header: SnapshotHeader; reader: SnapshotReader; held: ReplicationRecord[]; decisions: Map<number, boolean>; received: number } | undefined;

  get loading(): boolean {
    return this.incoming !== undefined;
  }

  /** A primary begins sending its snapshot (replication/snapshot.ts). */
  beginSnapshot(header: SnapshotHeader): void {
    this.incoming = { header, reader: this.replicator.snapshotReader(header), held: [], decisions: new Map(), received: header.seq };
  }

  snapshotPart(part: SnapshotPart): void {
    if (!this.incoming) throw new Error('a snapshot part came before the snapshot began');
    this.incoming.reader.part(part);
  }

  /** The last part came: the state is the snapshot's, then the records held meanwhile are applied. */
  finishSnapshot(): void {
    const incoming = this.incoming;
    if (!incoming) throw new Error('a snapshot ended that never began');
    this.incoming = undefined;
    // Everything this replica knew is replaced, replies too: a reply kept from a record the snapshot
    // does not contain would answer a retry for a request that, here, never ran.
    this.replies.clear();
    this.replicator.installSnapshot(incoming.reader);
    for (const [key, reply] of incoming.reader.replies) this.remember(key, reply);
    this.broken = undefined;
    this.snapshotLoaded = true;
    this.epoch = incoming.header.epoch;
    this.applied = incoming.header.seq;
    this.received = incoming.received;
    this.held.length = 0;
    for (const record of incoming.held) this.held.push(record);
    this.decisions.clear();
    for (const [seq, commit] of incoming.decisions) this.decisions.set(seq, commit);
    this.drain();
  }

  /** A whole snapshot at once (ServiceRuntime.snapshot): begin, every part, finish. */
  loadSnapshot(snapshot: { header: SnapshotHeader; parts: SnapshotPart[] }): void {
    this.beginSnapshot(snapshot.header);
    for (const part of snapshot.parts) this.snapshotPart(part);
    this.finishSnapshot();
  }

  receive(batch: ReplicationBatch): Ack {
    if (this.incoming) return this.hold(batch, this.incoming);
    this.assertUsable();
    assertBatchShape(batch);
    if (batch.epoch < this.epoch) throw new StaleEpochError(`Refusing a batch of epoch ${batch.epoch}: this backup follows epoch ${this.epoch}.`);
    this.epoch = batch.epoch;
    const held = holdInOrder(batch.records, this.received, this.held);
    this.received = held.received;
    if (held.gap) throw new Error(held.gap);
    this.drain();
    return { epoch: this.epoch, upTo: this.received };
  }

  /** A batch after the snapshot being received: held with it. */
  private hold(batch: ReplicationBatch, incoming: NonNullable<BackupReplica['incoming']>): Ack {
    assertBatchShape(batch);
    if (batch.epoch < incoming.header.epoch) throw new StaleEpochError(`Refusing a batch of epoch ${batch.epoch}: the snapshot being received is of epoch ${incoming.header.epoch}.`);
    const held = holdInOrder(batch.records, incoming.received, incoming.held);
    incoming.received = held.received;
    if (held.gap) throw new Error(held.gap);
    return { epoch: batch.epoch, upTo: incoming.received };
  }

  decide(decision: Decision): void {
    const incoming = this.incoming;
    if (incoming) {
      if (decision.epoch >= incoming.header.epoch) for (const seq of decision.seqs) if (seq > incoming.header.seq) incoming.decisions.set(seq, decision.commit);
      return;
    }
    this.assertUsable();
    if (decision.epoch < this.epoch) return;
    for (const seq of decision.seqs) if (seq > this.applied) this.decisions.set(seq, decision.commit);
    this.drain();
  }

  /** Records still held because they wait for a decision. */
  undecided(): ReplicationRecord[] {
    return this.held.filter((r) => r.prepared && !this.decisions.has(r.seq));
  }

  /** Promotion: a snapshot still on its way is no one's now; this replica leads with what it holds. */
  leadWithWhatIsHeld(): void {
    this.incoming = undefined;
  }

  /**
   * Promotion: settle every undecided record by the database's decision records (`committed` maps each
   * key found there to the sequence number of the record that committed it), apply what was committed,
   * drop the rest: a record whose request was retried, and committed by the retry, did not commit.
   */
  settle(committed: ReadonlyMap<string, number>): void {
    this.leadWithWhatIsHeld();
    this.assertUsable(); // never re-apply a record that failed half-way
    for (const record of this.undecided()) this.decisions.set(record.seq, committed.get(record.prepared!.key) === record.seq);
    this.drain();
  }

  private drain(): void {
    while (this.held.length > 0) {
      const head = this.held[0]!;
      if (head.prepared) {
        const decision = this.decisions.get(head.seq);
        if (decision === undefined) return;
        this.decisions.delete(head.seq);
        if (decision) this.apply(head);
      } else {
        this.apply(head);
      }
      this.held.shift();
      this.applied = head.seq;
    }
  }

  /**
   * A record that fails half-way leaves this replica's state unknown: it stops (acknowledging nothing more,
   * so the primary drops it) rather than apply anything twice. It needs a fresh snapshot to rejoin.
   */
  private broken: string | undefined;

  private assertUsable(): void {
    if (this.broken) throw new Error(`This backup stopped following after a record it could not apply (${this.broken}); it must rejoin from a snapshot.`);
  }

  private apply(record: ReplicationRecord): void {
    try {
      for (const update of record.updates) this.replicator.apply(update);
      for (const { key, reply } of record.replies) this.remember(key, reply);
    } catch (error) {
      this.broken = `record ${record.seq}: ${(error as Error).message}`;
      // Diverged, or half-applied: this replica must not take over with what it holds.
      this.snapshotLoaded = false;
      throw error;
    }
  }

  /** Why this replica stopped following, if it did (a record it could not apply, or a re-run that diverged). */
  get stoppedBecause(): string | undefined {
    return this.broken;
  }

  private remember(key: string, reply: string): void {
    this.replies.set(key, reply);
    if (this.replies.size > this.replyRetention) this.replies.delete(this.replies.keys().next().value!);
  }

  /** Request replies this backup knows, oldest first: what a promoted backup answers retries from. */
  knownReplies(): [string, string][] {
    return [...this.replies];
  }

  /**
   * The same, handed over to a primary's controller that takes them on as they are: this replica
   * receives nothing more once its node is primary, so the two never both write them.
   */
  handOverReplies(): Map<string, string> {
    return this.replies;
  }
}

/**
 * Appends the records after `received` to `held`, in sequence: a retransmission is skipped, and at a gap
 * it stops (the caller refuses the batch). Returns the last record now held, and the gap if there was one.
 */
function holdInOrder(records: ReplicationRecord[], received: number, held: ReplicationRecord[]): { received: number; gap?: string } {
  for (const record of records) {
    if (record.seq <= received) continue; // a retransmission
    if (record.seq !== received + 1) return { received, gap: `Replication gap: expected record ${received + 1}, got ${record.seq}.` };
    held.push(record);
    received = record.seq;
  }
  return { received };
}

/** Refuses a batch whose shape is wrong before anything of it is held: a malformed frame changes nothing. */
function assertBatchShape(batch: unknown): asserts batch is ReplicationBatch {
  const b = batch as ReplicationBatch;
  const ok =
    typeof b === 'object' &&
    b !== null &&
    Number.isInteger(b.epoch) &&
    Array.isArray(b.records) &&
    b.records.every(
      (r) =>
        typeof r === 'object' &&
        r !== null &&
        Number.isInteger(r.seq) &&
        Array.isArray(r.replies) &&
        Array.isArray(r.updates) &&
        r.replies.every((x) => typeof x?.key === 'string' && typeof x?.reply === 'string') &&
        r.updates.every((u) => typeof u === 'object' && u !== null && Array.isArray(u.entries)) &&
        (r.prepared === undefined || typeof r.prepared?.key === 'string'),
    );
  if (!ok) throw new Error('Malformed batch: refused before anything of it was held.');
}

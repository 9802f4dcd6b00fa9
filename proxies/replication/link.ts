// What the primary's commit path needs from replication, independent of the transport: ship a group
// of committed actions to every live backup and learn when they have them, and tell them the outcome of
// actions they hold as prepared. The TCP transport (serving) and the in-memory one (tests) implement it.
import type { ReplicatedUpdate } from '../core/types.js';

/** One committed action as the backups receive it. */
export interface ReplicationRecord {
  seq: number;
  /** Request ids answered by this action, with their replies, so a promoted backup answers retries. */
  replies: { key: string; reply: string }[];
  updates: ReplicatedUpdate[];
  /**
   * Held, not applied, until decided: the action also wrote to the database, whose commit decides it.
   * `key` is its decision record there.
   */
  prepared?: { key: string };
}

export interface ReplicationBatch {
  epoch: number;
  records: ReplicationRecord[];
}

export interface Decision {
  epoch: number;
  seqs: number[];
  commit: boolean;
}

export class ReplicationUnavailableError extends Error {
  /**
   * @param shipped Whether some backups may hold the group (then the primary's state can no longer be
   *   said to match them, and it must stop); false when nothing was sent (too few backups to begin with).
   * @param fenced Whether a newer primary exists.
   * @param heldByLive Whether a backup still live holds the group. When none does (every backup it was
   *   sent to has since been dropped), the primary can undo it and go on: a dropped backup is given a
   *   fresh snapshot when it is taken on again.
   */
  constructor(
    message: string,
    readonly shipped = true,
    readonly fenced = false,
    readonly heldByLive = shipped,
  ) {
    super(message);
  }
}

export interface ReplicationLink {
  /**
   * Sends the batch to every live backup. With `wait`, resolves once each live backup acknowledged it
   * (and rejects with ReplicationUnavailableError when fewer backups than required did); without,
   * resolves at once and ships in the background. Too few backups to send to at all (or a newer primary
   * known) THROWS at once, before anything is sent: the committer then keeps the group out of the
   * database too, which it commits while the batch is on its way.
   */
  replicate(batch: ReplicationBatch, wait: boolean): Promise<void>;
  /** The outcome of prepared records; backups apply or drop them. Fire and forget. */
  decide(decision: Decision): void;
  /**
   * The ids of the backups (as each names itself) that a batch sent now goes to, when the link knows
   * them: a group committed in the database while it travels is logged with them, and only they may take
   * it from the log when they take over (ServiceRuntime.promote).
   */
  recipients?(): string[] | undefined;
}

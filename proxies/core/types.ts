// The interface every durability proxy implements (Chapter IV.C.2: init, recover, invoke, and the
// action control startA/commitA/startTA/commitTA/abortTA, plus checkpoint/restore), and the pieces of a
// commit that proxies hand to the action controller. `invoke` is the JS Proxy's trap path: the object
// the service holds (`proxy.object`) is a Proxy whose traps record what the proxy needs.
import type { Mechanism } from '../../mappings/model.js';
import type { Encoded } from './encoding.js';
import type { WireChange } from './changes.js';
import type { SqlStatementWork } from '../database/store.js';
import type { ActionContext } from './context.js';
import type { Clock } from './clock.js';

/** One atomic action: a request, or the requests of one transaction until it commits. */
export interface Action {
  readonly id: number;
  /** Its record of changes, shared by every state object it reaches. */
  readonly context: ActionContext;
}

/**
 * What the replicated objects contribute to a commit, in the order it happened: calls to repeat and
 * changes to apply (one stream for all of them: they share one graph of object ids).
 */
export interface ReplicatedUpdate {
  entries: ReplicatedEntry[];
}

export type ReplicatedEntry =
  /**
   * Re-run `object.call(args)` on the backup. `ids` is the primary's next object id before the call, `nd`
   * what the clocks and random sources returned during it (replayed in order), `digest` a digest of the
   * changes the call made on the primary, which the backup's re-run must reproduce.
   */
  | { call: string; object: string; args: Encoded; ids: number; nd?: Encoded[]; digest?: string }
  | { changes: WireChange[] }
  /** The whole object, when changes cannot describe what happened (a mapping's restore replaced it). */
  | { snapshot: Encoded; object: string; ids: number };

/** What a database object contributes to a commit: its mapped statements with their arguments. */
export interface SqlWork {
  object: string;
  method: string;
  /** Ready for knex.raw: the arguments already resolved and bound. */
  statements: SqlStatementWork[];
}

export interface CommitPart {
  replicated?: ReplicatedUpdate;
  sql?: SqlWork[];
}

export interface DurabilityProxy<T extends object = object> {
  readonly name: string;
  readonly mechanism: Mechanism;
  /** What the service holds and calls: the JS Proxy in front of the state object. */
  readonly object: T;
  /** First start of a primary: create what the mechanism needs (tables). Never on a backup. */
  init(): Promise<void>;
  /** After a failure or on a promoted backup: rebuild the state object from what survived. */
  recover(): Promise<void>;
  /** Begin recording an action's changes to this object. */
  startA(action: Action): void;
  /** Waits for async calls the action started on the object that have not settled yet. */
  settleA(action: Action, clock?: Clock): Promise<void>;
  /** The action ended well: what must be made durable for it (possibly nothing). */
  commitA(action: Action): CommitPart;
  /** The action failed (threw, or its commit failed): put the object back as it was before it. */
  abortA(action: Action): void;
  /** The action's changes are durable: forget what undo needed. */
  releaseA(action: Action): void;
  /** A point inside a transaction to roll back to: one request's changes, not the transaction's. */
  savepointA(action: Action): unknown;
  rollbackToA(action: Action, savepoint: unknown): void;
  startTA(action: Action): void;
  commitTA(action: Action): CommitPart;
  abortTA(action: Action): void;
  /** A copy of the object's state for undo (the mapping's `<checkpoint>`, or a structured clone). */
  checkpoint(): unknown;
  restore(checkpoint: unknown): void;
}

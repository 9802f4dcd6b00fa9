// The open transactions of a primary: each one long action over several requests, the state objects it
// holds (another request that needs one waits, then gets TX_CONFLICT), its replies so far, the savepoint
// of the request running in it, and its idle timer. Ids carry 128 random bits: knowing one tells nothing
// of another.
import { randomBytes } from 'node:crypto';
import type { Action, DurabilityProxy } from '../core/types.js';
import { systemClock, type Clock } from '../core/clock.js';

export interface Transaction {
  id: string;
  action: Action;
  /** The state objects it reached, in order. */
  touched: DurabilityProxy[];
  replies: Map<string, string>;
  timer?: { cancel(): void };
  aborted?: string;
  /** The savepoint of the request running in it: the log's length and each object's mark then. */
  logMark: number;
  marks: Map<DurabilityProxy, unknown>;
  replicatorMark: unknown;
  /** Objects that joined it in the running request: a rollback of that request lets them go. */
  joinedNow: Set<DurabilityProxy>;
}

export class TransactionTable {
  private readonly open = new Map<string, Transaction>();
  private readonly owners = new Map<DurabilityProxy, Transaction>();
  /** Transactions that ended, so their late requests hear why. */
  private readonly ended = new Map<string, string>();
  private waiters: (() => void)[] = [];

  constructor(
    private readonly idleMs: number,
    private readonly onIdle: (tx: Transaction, reason: string) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  begin(action: Action): Transaction {
    // 144 random bits: one transaction's id tells nothing of another's.
    const tx: Transaction = {
      id: `tx-${randomBytes(18).toString('base64url')}`,
      action,
      touched: [],
      replies: new Map(),
      logMark: 0,
      marks: new Map(),
      replicatorMark: undefined,
      joinedNow: new Set(),
    };
    this.open.set(tx.id, tx);
    this.touch(tx);
    return tx;
  }

  get(id: string): Transaction | undefined {
    return this.open.get(id);
  }

  all(): Transaction[] {
    return [...this.open.values()];
  }

  whyEnded(id: string): string {
    return this.ended.get(id) ?? `Transaction ${id} does not exist here (it ended, timed out, or was lost in a failover).`;
  }

  holderOf(proxy: DurabilityProxy): Transaction | undefined {
    return this.owners.get(proxy);
  }

  own(proxy: DurabilityProxy, tx: Transaction): void {
    this.owners.set(proxy, tx);
  }

  disown(proxy: DurabilityProxy, tx: Transaction): void {
    if (this.owners.get(proxy) === tx) this.owners.delete(proxy);
    this.wake();
  }

  end(tx: Transaction, reason: string): void {
    tx.timer?.cancel();
    tx.aborted = reason;
    this.open.delete(tx.id);
    this.ended.set(tx.id, reason);
    if (this.ended.size > 10_000) this.ended.delete(this.ended.keys().next().value!);
    for (const p of tx.touched) if (this.owners.get(p) === tx) this.owners.delete(p);
    this.wake();
  }

  /** The transaction did something: its idle timer starts over. */
  touch(tx: Transaction): void {
    tx.timer?.cancel();
    tx.timer = this.clock.timer(this.idleMs, () => this.onIdle(tx, `Transaction ${tx.id} was idle for ${this.idleMs} ms and was aborted.`));
  }

  /** Resolves when a transaction lets go of what it held. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

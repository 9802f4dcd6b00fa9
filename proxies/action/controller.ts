// Action control across proxies (Chapter IV.C.2's startA/commitA, and the transactions the thesis left
// out). Requests on one service instance execute one at a time; each is an atomic action over the state
// objects its method may touch: startA on each, the method, then commitA, or abortA on every one of them
// if it threw, so no partial change survives anywhere. Committed actions queue for the committer, which
// makes them durable in groups; a reply leaves only when its action is durable, in commit order. A
// request id answered before gets its original reply and is not executed again.
import { decode, encode, type ClassRegistry, type Encoded } from '../core/encoding.js';
import type { Action, CommitPart, DurabilityProxy } from '../core/types.js';
import type { CommitRecord, CommitVerdict, Committer } from './commit.js';

export type Outcome =
  | { kind: 'ok'; result: unknown }
  /** The method threw (`error` is what it threw), or the database refused its change: nothing kept. */
  | { kind: 'service-error'; message: string; error?: unknown }
  | { kind: 'unavailable'; message: string }
  /** The service has no such public method: a malformed request, nothing ran. */
  | { kind: 'unknown-method'; message: string }
  | { kind: 'not-primary'; message: string }
  | { kind: 'tx-conflict'; message: string }
  | { kind: 'tx-aborted'; message: string };

export interface RequestSpec {
  requestId?: string;
  /** The service method, for messages. */
  method: string;
  /** The state objects the method may touch (from the compiler's analysis). */
  touches: readonly string[];
  tx?: string;
}

export interface ControllerOptions {
  proxies: ReadonlyMap<string, DurabilityProxy>;
  committer: Committer;
  classes: ClassRegistry;
  /** Whether an object's updates wait for the backups' acknowledgement before the reply. */
  waitsForBackups: (object: string) => boolean;
  /** Replies remembered for retries (count); the database keeps the same window. */
  replyRetention?: number;
  /** How long a request waits for objects a transaction holds before 409 TX_CONFLICT. */
  txConflictWaitMs?: number;
  /** An idle transaction aborts after this long. */
  txIdleTimeoutMs?: number;
  /** First sequence number to use (a promoted backup continues after what it applied). */
  firstSeq?: number;
}

interface Pending {
  record: CommitRecord;
  action: Action;
  proxies: DurabilityProxy[];
  transactional: boolean;
  settle: (verdict: CommitVerdict) => void;
}

interface Transaction {
  id: string;
  action: Action;
  touched: DurabilityProxy[];
  replies: Map<string, string>;
  timer?: NodeJS.Timeout;
  aborted?: string;
}

export class ActionController {
  private lockTail: Promise<void> = Promise.resolve();
  private nextAction = 1;
  private nextSeq: number;
  private readonly pending: Pending[] = [];
  private committing = false;
  private readonly replies = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<Outcome>>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly owners = new Map<string, Transaction>();
  private ownershipChanged: { promise: Promise<void>; resolve: () => void } = deferred();
  private stopped: { reason: string; fenced: boolean } | undefined;
  /** Transactions that ended, so their late requests hear why. */
  private readonly endedTransactions = new Map<string, string>();

  constructor(private readonly options: ControllerOptions) {
    this.nextSeq = options.firstSeq ?? 1;
  }

  get stoppedState(): { reason: string; fenced: boolean } | undefined {
    return this.stopped;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Requests answered before (a promoted backup's or a recovered primary's memory of them). */
  rememberReplies(entries: Iterable<[string, string]>): void {
    for (const [key, reply] of entries) this.remember(key, reply);
  }

  knownReplies(): [string, string][] {
    return [...this.replies];
  }

  /** Runs one request as an atomic action and resolves once its outcome is final (durable, for success). */
  execute(spec: RequestSpec, body: () => unknown): Promise<Outcome> {
    if (this.stopped) return Promise.resolve(this.stoppedOutcome());
    const id = spec.requestId;
    if (id !== undefined) {
      const known = this.replies.get(id);
      if (known !== undefined) return Promise.resolve(this.replyOutcome(known));
      const running = this.inflight.get(id);
      if (running) return running;
    }
    const run = spec.tx === undefined ? this.runRequest(spec, body) : this.runInTransaction(spec, body);
    if (id === undefined) return run;
    this.inflight.set(id, run);
    return run.finally(() => this.inflight.delete(id));
  }

  private async runRequest(spec: RequestSpec, body: () => unknown): Promise<Outcome> {
    const proxies = this.proxiesFor(spec);
    const release = await this.lockAvoiding(proxies, undefined);
    if (typeof release !== 'function') return release;
    const action: Action = { id: this.nextAction++ };
    let reply: string;
    let parts: CommitPart[];
    try {
      for (const p of proxies) p.startA(action);
      let result: unknown;
      try {
        result = await body();
      } finally {
        await Promise.all(proxies.map((p) => p.settleA(action)));
      }
      parts = proxies.map((p) => p.commitA(action));
      reply = this.encodeReply(result);
    } catch (error) {
      await Promise.allSettled(proxies.map((p) => p.settleA(action)));
      for (const p of [...proxies].reverse()) p.abortA(action);
      release();
      return { kind: 'service-error', message: messageOf(error), error };
    }
    const replies = spec.requestId === undefined ? [] : [{ key: spec.requestId, reply }];
    const done = this.enqueue(action, proxies, parts, replies, false);
    release();
    const verdict = await done;
    return verdict.kind === 'committed' ? this.replyOutcome(reply) : this.failureOutcome(verdict);
  }

  // ---- transactions (startTA / commitTA / abortTA) ----

  begin(): string {
    const id = `tx-${Date.now().toString(36)}-${(this.nextAction++).toString(36)}`;
    const tx: Transaction = { id, action: { id: this.nextAction++ }, touched: [], replies: new Map() };
    this.transactions.set(id, tx);
    this.touch(tx);
    return id;
  }

  private async runInTransaction(spec: RequestSpec, body: () => unknown): Promise<Outcome> {
    const tx = this.transactions.get(spec.tx!);
    if (!tx) return { kind: 'tx-aborted', message: this.endedTransactions.get(spec.tx!) ?? `Transaction ${spec.tx} does not exist here (it ended, timed out, or was lost in a failover).` };
    if (spec.requestId !== undefined && tx.replies.has(spec.requestId)) return this.replyOutcome(tx.replies.get(spec.requestId)!);
    const proxies = this.proxiesFor(spec);
    const release = await this.lockAvoiding(proxies, tx);
    if (typeof release !== 'function') return release;
    if (tx.aborted) {
      release();
      return { kind: 'tx-aborted', message: tx.aborted };
    }
    for (const p of proxies) {
      if (tx.touched.includes(p)) continue;
      p.startTA(tx.action);
      tx.touched.push(p);
      this.owners.set(p.name, tx);
    }
    // A savepoint per request: a request that throws undoes its own changes, not the transaction's.
    const marks = proxies.map((p) => p.savepointA(tx.action));
    try {
      for (const p of proxies) p.startA(tx.action);
      let result: unknown;
      try {
        result = await body();
      } finally {
        await Promise.all(proxies.map((p) => p.settleA(tx.action)));
      }
      for (const p of proxies) p.commitA(tx.action);
      const reply = this.encodeReply(result);
      if (spec.requestId !== undefined) tx.replies.set(spec.requestId, reply);
      this.touch(tx);
      return this.replyOutcome(reply);
    } catch (error) {
      proxies.forEach((p, i) => p.rollbackToA(tx.action, marks[i]));
      return { kind: 'service-error', message: messageOf(error), error };
    } finally {
      release();
    }
  }

  async commitTransaction(id: string): Promise<Outcome> {
    const tx = this.transactions.get(id);
    if (!tx) {
      // A retried commit (its first answer lost, or sent again after a failover) gets the first answer.
      const committed = this.replies.get(commitKey(id));
      if (committed !== undefined) return this.replyOutcome(committed);
      if (this.inflight.has(commitKey(id))) return this.inflight.get(commitKey(id))!;
      return { kind: 'tx-aborted', message: this.endedTransactions.get(id) ?? `Transaction ${id} does not exist here.` };
    }
    const run = this.commitOpenTransaction(tx);
    this.inflight.set(commitKey(id), run);
    return run.finally(() => this.inflight.delete(commitKey(id)));
  }

  private async commitOpenTransaction(tx: Transaction): Promise<Outcome> {
    const id = tx.id;
    const release = await this.lock();
    this.endTransaction(tx, `Transaction ${id} was committed.`);
    const parts = tx.touched.map((p) => p.commitTA(tx.action));
    const replies = [...tx.replies].map(([key, reply]) => ({ key, reply }));
    replies.push({ key: commitKey(id), reply: this.encodeReply({ committed: id }) });
    const done = this.enqueue(tx.action, tx.touched, parts, replies, true);
    release();
    const verdict = await done;
    return verdict.kind === 'committed' ? { kind: 'ok', result: { committed: id } } : this.failureOutcome(verdict);
  }

  async abortTransaction(id: string, reason = `Transaction ${id} was aborted.`): Promise<Outcome> {
    const tx = this.transactions.get(id);
    if (!tx) return { kind: 'tx-aborted', message: this.endedTransactions.get(id) ?? `Transaction ${id} does not exist here.` };
    const release = await this.lock();
    this.endTransaction(tx, reason);
    for (const p of [...tx.touched].reverse()) p.abortTA(tx.action);
    release();
    return { kind: 'ok', result: { aborted: id } };
  }

  private endTransaction(tx: Transaction, reason: string): void {
    clearTimeout(tx.timer);
    tx.aborted = reason;
    this.transactions.delete(tx.id);
    this.endedTransactions.set(tx.id, reason);
    if (this.endedTransactions.size > 10_000) this.endedTransactions.delete(this.endedTransactions.keys().next().value!);
    for (const p of tx.touched) if (this.owners.get(p.name) === tx) this.owners.delete(p.name);
    this.ownershipChanged.resolve();
    this.ownershipChanged = deferred();
  }

  private touch(tx: Transaction): void {
    clearTimeout(tx.timer);
    const idle = this.options.txIdleTimeoutMs ?? 30_000;
    tx.timer = setTimeout(() => void this.abortTransaction(tx.id, `Transaction ${tx.id} was idle for ${idle} ms and was aborted.`), idle);
    tx.timer.unref();
  }

  /** Every open transaction ends (failover, shutdown): their clients hear TX_ABORTED. */
  async abortAllTransactions(reason: string): Promise<void> {
    for (const id of [...this.transactions.keys()]) await this.abortTransaction(id, reason);
  }

  /**
   * Runs `fn` with no action executing and none waiting to commit: the state in memory is then exactly
   * the durable state up to `lastSeq`. A joining backup's snapshot is taken this way.
   */
  async quiesce<R>(fn: () => R | Promise<R>): Promise<R> {
    for (;;) {
      const release = await this.lock();
      if (this.pending.length === 0 && !this.committing) {
        try {
          return await fn();
        } finally {
          release();
        }
      }
      // Not under the lock: a failing commit needs it to undo what it failed.
      release();
      await this.drained();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private drainWaiters: (() => void)[] = [];

  // ---- the commit queue ----

  private enqueue(action: Action, proxies: DurabilityProxy[], parts: CommitPart[], replies: CommitRecord['replies'], transactional: boolean): Promise<CommitVerdict> {
    const record: CommitRecord = {
      seq: this.nextSeq++,
      parts,
      replies,
      waitForBackups: parts.some((p) => p.replicated && this.options.waitsForBackups(p.replicated.object)),
    };
    const verdict = new Promise<CommitVerdict>((settle) => this.pending.push({ record, action, proxies, transactional, settle }));
    void this.pump();
    return verdict;
  }

  /** Commits whatever is queued, a group at a time, until the queue is empty. */
  private async pump(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.pending.length > 0 && !this.stopped) {
        const group = [...this.pending];
        const outcome = await this.options.committer.commit(group.map((p) => p.record));
        const failedAt = outcome.verdicts.findIndex((v) => v.kind !== 'committed');
        const committed = failedAt < 0 ? group : group.slice(0, failedAt);
        this.pending.splice(0, committed.length);
        for (const p of committed) {
          for (const proxy of p.proxies) proxy.releaseA(p.action);
          for (const { key, reply } of p.record.replies) this.remember(key, reply);
          p.settle({ kind: 'committed' });
        }
        if (outcome.fatal) this.stopped = outcome.fatal;
        if (failedAt >= 0) await this.failPending(outcome.verdicts.slice(failedAt), outcome.unshipped ?? false);
      }
    } finally {
      this.committing = false;
      for (const wake of this.drainWaiters.splice(0)) wake();
    }
  }

  /**
   * The first pending action could not be made durable: it and every action after it (which ran on top
   * of its changes) are undone, newest first, and answered.
   */
  private async failPending(verdicts: CommitVerdict[], unshipped: boolean): Promise<void> {
    const release = await this.lock();
    const failing = this.pending.splice(0);
    // An open transaction that touched any of those objects has read what is being undone: it ends
    // first (its changes are the newest on those objects, which it held since).
    const failingProxies = new Set(failing.flatMap((p) => p.proxies));
    for (const tx of [...this.transactions.values()]) {
      if (!tx.touched.some((p) => failingProxies.has(p))) continue;
      this.endTransaction(tx, `Transaction ${tx.id} was aborted: a request it built on could not be made durable.`);
      for (const p of [...tx.touched].reverse()) p.abortTA(tx.action);
    }
    // Actions queued behind the group were never shipped: their sequence numbers are reused, so the
    // backups see no gap. Those of the group were shipped (as prepared) and are decided as aborted.
    const firstUnshipped = unshipped ? failing[0] : failing[verdicts.length];
    if (firstUnshipped) this.nextSeq = firstUnshipped.record.seq;
    for (const p of [...failing].reverse()) {
      for (const proxy of [...p.proxies].reverse()) (p.transactional ? proxy.abortTA(p.action) : proxy.abortA(p.action));
    }
    release();
    failing.forEach((p, i) => p.settle(verdicts[i] ?? { kind: 'failed', reason: 'an earlier request it depended on could not be made durable' }));
  }

  // ---- helpers ----

  private proxiesFor(spec: RequestSpec): DurabilityProxy[] {
    return spec.touches.map((name) => {
      const proxy = this.options.proxies.get(name);
      if (!proxy) throw new Error(`Method '${spec.method}' touches '${name}', which is not a state object of this service.`);
      return proxy;
    });
  }

  private lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.lockTail.then(() => release);
    this.lockTail = this.lockTail.then(() => next);
    return acquired;
  }

  /** The execution lock, once no other transaction holds any of `proxies`; 409 after the bounded wait. */
  private async lockAvoiding(proxies: DurabilityProxy[], own: Transaction | undefined): Promise<(() => void) | Outcome> {
    const deadline = Date.now() + (this.options.txConflictWaitMs ?? 2_000);
    for (;;) {
      const release = await this.lock();
      if (this.stopped) {
        release();
        return this.stoppedOutcome();
      }
      const holder = proxies.map((p) => this.owners.get(p.name)).find((t) => t !== undefined && t !== own);
      if (!holder) return release;
      release();
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'tx-conflict', message: `A transaction (${holder.id}) holds the state this request needs; try again once it ends.` };
      const changed = this.ownershipChanged.promise;
      await Promise.race([changed, new Promise((r) => setTimeout(r, left))]);
    }
  }

  private encodeReply(result: unknown): string {
    return JSON.stringify(encode(result, this.options.classes));
  }

  private replyOutcome(reply: string): Outcome {
    return { kind: 'ok', result: decode(JSON.parse(reply) as Encoded, this.options.classes) };
  }

  private failureOutcome(verdict: Exclude<CommitVerdict, { kind: 'committed' }>): Outcome {
    if (this.stopped?.fenced) return { kind: 'not-primary', message: `Not made durable: ${verdict.reason}` };
    if (verdict.kind === 'rejected') return { kind: 'service-error', message: verdict.reason };
    return { kind: 'unavailable', message: `Not made durable (${verdict.reason}); nothing of it was kept. Retry with the same request id.` };
  }

  private stoppedOutcome(): Outcome {
    const reason = this.stopped!.reason;
    return this.stopped!.fenced ? { kind: 'not-primary', message: `This node no longer serves: ${reason}` } : { kind: 'unavailable', message: `This node stopped committing: ${reason}. Retry on another node.` };
  }

  private remember(key: string, reply: string): void {
    this.replies.set(key, reply);
    if (this.replies.size > (this.options.replyRetention ?? 100_000)) this.replies.delete(this.replies.keys().next().value!);
  }
}

/** The exactly-once key of a transaction's commit. */
function commitKey(tx: string): string {
  return `tx:${tx}:commit`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// Action control across proxies (Chapter IV.C.2's startA/commitA, and the transactions the thesis left
// out). Requests on one service instance execute one at a time; each is an atomic action over the state
// objects it reaches: those its method is known to touch are started first (and a transaction holding
// one of them is waited for), any other joins at first access. The method runs, then every object's
// commitA (which may still refuse), or, if it threw or was refused, the action's log is undone and every
// object's abortA runs, so no partial change survives anywhere. Committed actions queue for the
// committer, which makes them durable in groups; a reply leaves only when its action is durable, in
// commit order. A request id answered before gets its original reply and is not executed again.
import { ActionContext } from '../core/context.js';
import { decode, encode, type ClassRegistry, type Encoded } from '../core/encoding.js';
import type { StateGraph } from '../core/graph.js';
import { RecordingProxy } from '../core/recording-proxy.js';
import { DurabilityRefusal, LateConflictError } from '../core/refusals.js';
import type { Action, CommitPart, DurabilityProxy } from '../core/types.js';
import type { Replicator } from '../replication/replicator.js';
import { DEPENDED_ON_FAILED, type CommitRecord, type CommitVerdict, type Committer } from './commit.js';
import { TransactionTable, type Transaction } from './transactions.js';
import { systemClock, type Clock } from '../core/clock.js';

export type Outcome =
  | { kind: 'ok'; result: unknown }
  /**
   * The method threw (`error` is what it threw), or the database refused its change: nothing kept. The
   * message is the client's; `detail`, for the log only, is the database's own message with its values.
   */
  | { kind: 'service-error'; message: string; error?: unknown; detail?: string }
  /** The run-time could not make the request's effect durable as the original class would have it: nothing kept. */
  | { kind: 'refused'; message: string; error: DurabilityRefusal }
  /** `detail`, for the log only: the database's own message, where the database write failed. */
  | { kind: 'unavailable'; message: string; detail?: string }
  /** The service has no such public method: a malformed request, nothing ran. */
  | { kind: 'unknown-method'; message: string }
  /** The arguments do not fit the method's declared parameters: a malformed request, nothing ran. */
  | { kind: 'bad-arguments'; message: string }
  | { kind: 'not-primary'; message: string }
  | { kind: 'tx-conflict'; message: string }
  | { kind: 'tx-aborted'; message: string };

export interface RequestSpec {
  requestId?: string;
  /** The service method, for messages. */
  method: string;
  /** The state objects the method is known to touch (from the compiler's analysis): started first. */
  touches: readonly string[];
  tx?: string;
  /**
   * The body may run again from the arguments as they arrived (a server's request, whose arguments it
   * reads afresh for each run). When the database refuses a request of a group, the requests after it
   * in the group ran on top of its changes: these run again, as if it had never run; the others fail
   * with a retryable answer.
   */
  repeatable?: boolean;
}

export interface ControllerOptions {
  graph: StateGraph;
  proxies: ReadonlyMap<string, DurabilityProxy>;
  replicator?: Replicator;
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
  /**
   * The replies already known, oldest first, taken over as they are (not copied): a promoted backup's
   * memory of up to `replyRetention` requests becomes the primary's in no time.
   */
  replies?: Map<string, string>;
  /** First sequence number to use (a promoted backup continues after what it applied). */
  firstSeq?: number;
  /** The clock waits and timeouts are measured on (the simulation's virtual one there). */
  clock?: Clock;
}

/** An action and the state objects it reached, in the order it reached them. */
interface Running {
  action: Action;
  proxies: DurabilityProxy[];
  /** The transaction it belongs to, when it is one. */
  tx?: Transaction;
}

/** A verdict of the commit path, or: undone because an earlier request of its group was refused; run it again. */
type PendingVerdict = CommitVerdict | { kind: 'rerun' };

interface Pending {
  record: CommitRecord;
  running: Running;
  transactional: boolean;
  repeatable: boolean;
  settle: (verdict: PendingVerdict) => void;
}

export class ActionController {
  private lockTail: Promise<void> = Promise.resolve();
  private nextAction = 1;
  private nextSeq: number;
  private readonly pending: Pending[] = [];
  private committing = false;
  private readonly replies: Map<string, string>;
  private readonly clock: Clock;
  /**
   * Replies of actions committed while fewer backups than required held them (CommitVerdict 'withheld'):
   * given only once a later group reached enough backups (which then hold these too).
   */
  private readonly withheld = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<Outcome>>();
  private readonly transactions: TransactionTable;
  private stopped: { reason: string; fenced: boolean } | undefined;
  /** The action whose code runs now: objects it reaches join it. */
  private running: Running | undefined;

  constructor(private readonly options: ControllerOptions) {
    this.nextSeq = options.firstSeq ?? 1;
    this.replies = options.replies ?? new Map();
    this.clock = options.clock ?? systemClock;
    this.transactions = new TransactionTable(options.txIdleTimeoutMs ?? 30_000, (tx, reason) => void this.abortTransaction(tx.id, reason), this.clock);
    for (const proxy of options.proxies.values()) {
      if (proxy instanceof RecordingProxy) proxy.onReach = (p, context) => this.reach(p, context);
    }
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

  /** Every reply this node gave or holds back: a joining backup's snapshot holds what they answered. */
  knownReplies(): [string, string][] {
    return [...this.replies, ...this.withheld];
  }

  /**
   * The running request reached `proxy` (through its service field, or a change to one of its objects):
   * it joins the action. One a transaction holds cannot be waited for here (the code is mid-way): the
   * request fails with TX_CONFLICT and may be retried.
   */
  reach(proxy: DurabilityProxy, context = this.options.graph.current): void {
    const running = this.running;
    if (!running || !context || running.action.context !== context || running.proxies.includes(proxy)) return;
    const holder = this.transactions.holderOf(proxy);
    if (holder && holder !== running.tx) {
      throw this.options.graph.refuse(new LateConflictError(`A transaction (${holder.id}) holds state object '${proxy.name}', which this request reached; try again once it ends.`));
    }
    // A backup waits to join until the open transactions let go of replicated state: none takes hold meanwhile.
    if (running.tx && this.snapshotWaiting?.(proxy)) {
      throw this.options.graph.refuse(
        new LateConflictError(
          `A backup is joining and waits for the open transactions to end before its snapshot; this transaction cannot take state object '${proxy.name}' until then (a moment); try again.`,
        ),
      );
    }
    if (running.tx) {
      proxy.startTA(running.action);
      running.tx.touched.push(proxy);
      running.tx.joinedNow.add(proxy);
      this.transactions.own(proxy, running.tx);
    }
    proxy.startA(running.action);
    running.proxies.push(proxy);
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
      const withheld = this.withheld.get(id);
      if (withheld !== undefined) return this.confirm(id, withheld);
    }
    const run = spec.tx === undefined ? this.runRequest(spec, body) : this.runInTransaction(spec, body);
    if (id === undefined) return run;
    this.inflight.set(id, run);
    return run.finally(() => this.inflight.delete(id));
  }

  private async runRequest(spec: RequestSpec, body: () => unknown): Promise<Outcome> {
    const declared = this.proxiesFor(spec);
    const release = await this.lockAvoiding(declared, undefined);
    if (typeof release !== 'function') return release;
    const id = this.nextAction++;
    const running: Running = { action: { id, context: new ActionContext(id) }, proxies: [] };
    let reply: string;
    let parts: CommitPart[];
    try {
      const result = await this.runBody(running, declared, body);
      parts = this.endRequest(running, true);
      reply = this.encodeReply(result);
    } catch (error) {
      this.undo(running, false);
      release();
      return this.errorOutcome(error, running.action.context);
    }
    const replies = spec.requestId === undefined ? [] : [{ key: spec.requestId, reply }];
    const done = this.enqueue(running, parts, replies, { repeatable: spec.repeatable ?? false });
    release();
    const verdict = await done;
    if (verdict.kind === 'rerun') return this.runRequest(spec, body);
    return verdict.kind === 'committed' ? this.replyOutcome(reply) : this.failureOutcome(verdict, spec.requestId !== undefined);
  }

  /**
   * Runs a request's code in `running`'s action: the objects it is known to touch join first, the others
   * when reached. Returns its result once every async call it started on state has settled; throws what
   * it threw, or the run-time's refusal even if the code caught it.
   */
  private async runBody(running: Running, declared: DurabilityProxy[], body: () => unknown): Promise<unknown> {
    const graph = this.options.graph;
    const context = running.action.context;
    this.running = running;
    graph.current = context;
    try {
      for (const p of declared) this.reach(p, context);
      let result: unknown;
      try {
        result = await body();
      } finally {
        // The code may have awaited: the action is current again until its async calls settled.
        this.running = running;
        graph.current = context;
        await Promise.all(running.proxies.map((p) => p.settleA(running.action, this.clock)));
      }
      if (context.refusal) throw context.refusal;
      return result;
    } catch (error) {
      await Promise.allSettled(running.proxies.map((p) => p.settleA(running.action, this.clock)));
      throw error;
    } finally {
      this.running = undefined;
      graph.current = undefined;
    }
  }

  /**
   * The request's code ended well: what it made raw is counted, each object checks and gives its part
   * (a database object may still refuse here), the backups' stream is completed. Returns the parts
   * (empty for a request inside a transaction: its transaction commits them).
   */
  private endRequest(running: Running, last: boolean): CommitPart[] {
    const { graph, replicator } = this.options;
    const context = running.action.context;
    graph.current = context;
    try {
      graph.settleImages();
      const parts = running.proxies.map((p) => p.commitA(running.action));
      graph.reconcile();
      graph.checkSharing();
      replicator?.requestEnded(context);
      if (context.refusal) throw context.refusal;
      if (last) {
        const replicated = replicator?.commitA(context);
        if (replicated) parts.push({ replicated });
      }
      return parts;
    } finally {
      context.endRequest();
      graph.current = undefined;
    }
  }

  /** Puts every object back as it was before the action (or, inside a transaction, before this request). */
  private undo(running: Running, toSavepoint: boolean): void {
    const { graph, replicator } = this.options;
    const context = running.action.context;
    const tx = running.tx;
    if (toSavepoint && tx) {
      graph.undo(context, tx.logMark);
      for (const p of tx.touched) {
        if (tx.joinedNow.has(p)) p.abortA(running.action);
        else p.rollbackToA(running.action, tx.marks.get(p));
      }
      for (const p of tx.joinedNow) this.transactions.disown(p, tx);
      tx.touched = tx.touched.filter((p) => !tx.joinedNow.has(p));
      replicator?.rollback(context, tx.replicatorMark as ReturnType<Replicator['savepoint']>);
    } else {
      graph.undo(context);
      for (const p of [...running.proxies].reverse()) p.abortA(running.action);
      replicator?.abortA(context);
    }
    context.endRequest();
  }

  /**
   * What a failed request answers. The code's own exception, when it threw one, as the original class
   * would (everything is undone either way); the run-time's refusal when that is what ended it, or when
   * the code caught it and went on.
   */
  private errorOutcome(error: unknown, context: ActionContext): Outcome {
    const cause = error === context.refusal || error instanceof DurabilityRefusal || error instanceof LateConflictError ? error : undefined;
    if (cause instanceof LateConflictError) return { kind: 'tx-conflict', message: cause.message };
    if (cause instanceof DurabilityRefusal) return { kind: 'refused', message: cause.message, error: cause };
    return { kind: 'service-error', message: messageOf(error), error };
  }

  // ---- transactions (startTA / commitTA / abortTA) ----

  begin(): string {
    const id = this.nextAction++;
    return this.transactions.begin({ id, context: new ActionContext(id) }).id;
  }

  private async runInTransaction(spec: RequestSpec, body: () => unknown): Promise<Outcome> {
    const tx = this.transactions.get(spec.tx!);
    if (!tx) return { kind: 'tx-aborted', message: this.transactions.whyEnded(spec.tx!) };
    if (spec.requestId !== undefined && tx.replies.has(spec.requestId)) return this.replyOutcome(tx.replies.get(spec.requestId)!);
    const declared = this.proxiesFor(spec);
    const release = await this.lockAvoiding(declared, tx);
    if (typeof release !== 'function') return release;
    if (tx.aborted) {
      release();
      return { kind: 'tx-aborted', message: tx.aborted };
    }
    const context = tx.action.context;
    // A savepoint per request: a request that throws undoes its own changes, not the transaction's.
    context.floor = context.log.length;
    tx.logMark = context.log.length;
    tx.marks = new Map(tx.touched.map((p) => [p, p.savepointA(tx.action)]));
    tx.joinedNow = new Set();
    tx.replicatorMark = this.options.replicator?.savepoint(context);
    const running: Running = { action: tx.action, proxies: [...tx.touched], tx };
    try {
      const result = await this.runBody(running, declared, body);
      this.endRequest(running, false);
      const reply = this.encodeReply(result);
      if (spec.requestId !== undefined) tx.replies.set(spec.requestId, reply);
      this.transactions.touch(tx);
      return this.replyOutcome(reply);
    } catch (error) {
      this.undo(running, true);
      return this.errorOutcome(error, context);
    } finally {
      context.refusal = undefined;
      release();
    }
  }

  async commitTransaction(id: string): Promise<Outcome> {
    const tx = this.transactions.get(id);
    if (!tx) {
      // A retried commit (its first answer lost, or sent again after a failover) gets the first answer.
      const committed = this.replies.get(commitKey(id));
      if (committed !== undefined) return this.replyOutcome(committed);
      const withheld = this.withheld.get(commitKey(id));
      if (withheld !== undefined) return this.confirm(commitKey(id), withheld);
      if (this.inflight.has(commitKey(id))) return this.inflight.get(commitKey(id))!;
      return { kind: 'tx-aborted', message: this.transactions.whyEnded(id) };
    }
    const run = this.commitOpenTransaction(tx);
    this.inflight.set(commitKey(id), run);
    return run.finally(() => this.inflight.delete(commitKey(id)));
  }

  private async commitOpenTransaction(tx: Transaction): Promise<Outcome> {
    const id = tx.id;
    const release = await this.lock();
    this.transactions.end(tx, `Transaction ${id} was committed.`);
    const parts = tx.touched.map((p) => p.commitTA(tx.action));
    const replicated = this.options.replicator?.commitA(tx.action.context);
    if (replicated) parts.push({ replicated });
    const replies = [...tx.replies].map(([key, reply]) => ({ key, reply }));
    replies.push({ key: commitKey(id), reply: this.encodeReply({ committed: id }) });
    // Not repeatable (its requests were answered as they ran): never asked to run again.
    const done = this.enqueue({ action: tx.action, proxies: tx.touched, tx }, parts, replies, { transactional: true });
    release();
    const verdict = await done;
    if (verdict.kind === 'committed') return { kind: 'ok', result: { committed: id } };
    return this.failureOutcome(verdict.kind === 'rerun' ? DEPENDED_ON_FAILED : verdict);
  }

  async abortTransaction(id: string, reason = `Transaction ${id} was aborted.`): Promise<Outcome> {
    const tx = this.transactions.get(id);
    if (!tx) return { kind: 'tx-aborted', message: this.transactions.whyEnded(id) };
    const release = await this.lock();
    this.transactions.end(tx, reason);
    this.undo({ action: tx.action, proxies: tx.touched, tx }, false);
    release();
    return { kind: 'ok', result: { aborted: id } };
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

  /**
   * As quiesce, and with no open transaction holding uncommitted changes to an object `holds` selects:
   * a snapshot that contained them would have a backup apply them twice when the transaction commits,
   * or keep them when it aborts. Waits (polling) for such transactions to end.
   */
  async quiesceWithoutTransactions<R>(holds: (proxy: DurabilityProxy) => boolean, fn: () => R | Promise<R>): Promise<R> {
    try {
      for (;;) {
        const outcome = await this.quiesce(async () => (this.transactions.all().some((tx) => tx.touched.some(holds)) ? undefined : { value: await fn() }));
        if (outcome) return outcome.value;
        // Overlapping transactions would otherwise keep it waiting for ever: no transaction takes hold of
        // such an object from now until the snapshot has begun (they get TX_CONFLICT, and retry).
        this.snapshotWaiting = holds;
        await this.clock.sleep(20);
      }
    } finally {
      this.snapshotWaiting = undefined;
    }
  }

  /** While a join waits for transactions to end: the objects no transaction may take hold of meanwhile. */
  private snapshotWaiting: ((proxy: DurabilityProxy) => boolean) | undefined;

  private drained(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private drainWaiters: (() => void)[] = [];

  // ---- the commit queue ----

  private enqueue(
    running: Running,
    parts: CommitPart[],
    replies: CommitRecord['replies'],
    how: { transactional?: boolean; repeatable?: boolean; waitForBackups?: boolean; resent?: boolean },
  ): Promise<PendingVerdict> {
    const { transactional = false, repeatable = false, waitForBackups = false, resent = false } = how;
    const replicatedObjects = running.proxies.filter((p) => p.mechanism === 'replication');
    const record: CommitRecord = {
      seq: this.nextSeq++,
      parts,
      replies,
      waitForBackups: waitForBackups || (parts.some((p) => p.replicated) && replicatedObjects.some((p) => this.options.waitsForBackups(p.name))),
      resent,
    };
    const verdict = new Promise<PendingVerdict>((settle) => this.pending.push({ record, running, transactional, repeatable, settle }));
    void this.pump();
    return verdict;
  }

  /** Commits whatever is queued, a group at a time, until the queue is empty. */
  private async pump(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.pending.length > 0 && !this.stopped) {
        // One turn of the event loop first: the requests that arrived with this one (their sockets were
        // readable in the same poll) run and join the group. Without it, a commit whose steps resolve
        // at once (SQLite's is synchronous) would take each request alone, one fsync each.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const group = [...this.pending];
        const outcome = await this.options.committer.commit(group.map((p) => p.record));
        const failedAt = outcome.verdicts.findIndex((v) => v.kind !== 'committed' && v.kind !== 'withheld');
        const committed = failedAt < 0 ? group : group.slice(0, failedAt);
        this.pending.splice(0, committed.length);
        committed.forEach((p, i) => {
          const verdict = outcome.verdicts[i]!;
          for (const proxy of p.running.proxies) proxy.releaseA(p.running.action);
          this.options.replicator?.releaseA(p.running.action.context);
          for (const { key, reply } of p.record.replies) {
            if (verdict.kind === 'withheld') this.withheld.set(key, reply);
            else this.remember(key, reply);
          }
          p.settle(verdict);
        });
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
    const failingProxies = new Set(failing.flatMap((p) => p.running.proxies));
    for (const tx of this.transactions.all()) {
      if (!tx.touched.some((p) => failingProxies.has(p))) continue;
      this.transactions.end(tx, `Transaction ${tx.id} was aborted: a request it built on could not be made durable.`);
      this.undo({ action: tx.action, proxies: tx.touched, tx }, false);
    }
    // Actions queued behind the group were never shipped: their sequence numbers are reused, so the
    // backups see no gap. Those of the group were shipped (as prepared) and are decided as aborted.
    const firstUnshipped = unshipped ? failing[0] : failing[verdicts.length];
    if (firstUnshipped) this.nextSeq = firstUnshipped.record.seq;
    for (const p of [...failing].reverse()) this.undo(p.running, false);
    release();
    // When the database refused the first of them, that one fails; those after it ran on top of its
    // changes, now undone: each runs again if it can (in order: the lock is first come, first served).
    const refused = verdicts[0]?.kind === 'rejected';
    failing.forEach((p, i) => p.settle(i > 0 && refused && p.repeatable ? { kind: 'rerun' } : (verdicts[i] ?? DEPENDED_ON_FAILED)));
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
    const deadline = this.clock.now() + (this.options.txConflictWaitMs ?? 2_000);
    for (;;) {
      const release = await this.lock();
      if (this.stopped) {
        release();
        return this.stoppedOutcome();
      }
      const holder = proxies.map((p) => this.transactions.holderOf(p)).find((t) => t !== undefined && t !== own);
      if (!holder) return release;
      release();
      const left = deadline - this.clock.now();
      if (left <= 0) return { kind: 'tx-conflict', message: `A transaction (${holder.id}) holds the state this request needs; try again once it ends.` };
      let timer: { cancel(): void } | undefined;
      await Promise.race([this.transactions.changed(), new Promise((r) => (timer = this.clock.timer(left, () => r(undefined))))]);
      timer?.cancel();
    }
  }

  private encodeReply(result: unknown): string {
    return JSON.stringify(encode(result, this.options.classes, { lenient: true }));
  }

  private replyOutcome(reply: string): Outcome {
    return { kind: 'ok', result: decode(JSON.parse(reply) as Encoded, this.options.classes) };
  }

  /** `identified`: the request carried an id, under which a retry is answered. */
  private failureOutcome(verdict: Exclude<CommitVerdict, { kind: 'committed' }>, identified = true): Outcome {
    if (this.stopped?.fenced) return { kind: 'not-primary', message: `Not made durable: ${verdict.reason}` };
    if (verdict.kind === 'rejected') return { kind: 'service-error', message: verdict.reason, detail: verdict.detail };
    if (verdict.kind === 'withheld') {
      return {
        kind: 'unavailable',
        message: identified
          ? `Not acknowledged yet: the request was ${verdict.reason}. Retry with the same request id: it is answered once enough backups hold it, and never runs twice.`
          : `Not acknowledged: the request was ${verdict.reason}. It carried no request id, so it cannot be answered later: do not send it again as if it had not run.`,
      };
    }
    return { kind: 'unavailable', message: `Not made durable (${verdict.reason}); nothing of it was kept. Retry with the same request id.`, detail: 'detail' in verdict ? verdict.detail : undefined };
  }

  private stoppedOutcome(): Outcome {
    const reason = this.stopped!.reason;
    return this.stopped!.fenced
      ? { kind: 'not-primary', message: `This node no longer serves: ${reason}` }
      : { kind: 'unavailable', message: `This node stopped committing: ${reason}. Retry on another node.` };
  }

  /**
   * A retry of a request committed while too few backups held it: its reply goes out once a record
   * carrying it (nothing else) reaches enough backups, which then hold the request's effects too.
   */
  private async confirm(key: string, reply: string): Promise<Outcome> {
    const release = await this.lock();
    const id = this.nextAction++;
    const done = this.enqueue({ action: { id, context: new ActionContext(id) }, proxies: [] }, [], [{ key, reply }], { waitForBackups: true, resent: true });
    release();
    const verdict = await done;
    if (verdict.kind === 'committed') return this.replyOutcome(reply);
    return this.failureOutcome(verdict.kind === 'rerun' ? DEPENDED_ON_FAILED : verdict);
  }

  private remember(key: string, reply: string): void {
    this.withheld.delete(key);
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

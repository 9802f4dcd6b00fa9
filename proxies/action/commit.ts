// The commit path, in one place. Actions leave the executor in order as CommitRecords; the committer
// takes every record waiting and makes the group durable with one round trip to the backups and one
// database transaction, then releases the replies in order (group commit: Durable Objects' write
// coalescing). A group that writes the database is shipped to the backups as prepared first; the
// database commit, which stores a decision record per action, decides it; the backups are told after.
// A promoted backup settles what it was never told from those decision records, so an action that
// touched a replicated and a database object commits in both or neither, whenever the primary dies.
import type { CommitResult, DatabaseRecord, DatabaseStore } from '../database/store.js';
import { FencedError, isStatementRejection } from '../database/store.js';
import { refusalForClients } from '../database/client-message.js';
import { ReplicationUnavailableError, type ReplicationLink, type ReplicationRecord } from '../replication/link.js';
import type { CommitPart } from '../core/types.js';
import { systemClock, type Clock } from '../core/clock.js';

export interface CommitRecord {
  seq: number;
  parts: CommitPart[];
  /** Request ids this action answers (one, or a transaction's several) with their encoded replies. */
  replies: { key: string; reply: string }[];
  /** Whether a replicated part asks for acknowledgements before the reply (`sync="ack"`). */
  waitForBackups: boolean;
  /**
   * Replies of a request already committed (a withheld one, answered once enough backups hold it): sent
   * to the backups again; the database has them already.
   */
  resent?: boolean;
}

export type CommitVerdict =
  | { kind: 'committed' }
  /**
   * Committed (in the database, which decided it), but fewer backups than --min-acks hold it: the backups
   * it was sent to were dropped on the way. Its reply waits until enough backups hold it (a retry asks).
   */
  | { kind: 'withheld'; reason: string }
  /** The database refused this action's own statements: a definitive answer, nothing kept. */
  | { kind: 'rejected'; reason: string; detail?: string }
  /** Not made durable because an earlier action of the group failed, or durability is uncertain. */
  | { kind: 'failed'; reason: string; detail?: string };

/** The verdict of an action after one its group could not make durable: it ran on top of that one's changes. */
export const DEPENDED_ON_FAILED: Extract<CommitVerdict, { kind: 'failed' }> = { kind: 'failed', reason: 'an earlier request it depended on could not be made durable' };

export interface CommitOutcome {
  verdicts: CommitVerdict[];
  /** Nothing of the group reached any backup: its sequence numbers may be used again. */
  unshipped?: boolean;
  /** The node can no longer commit (fenced, or the outcome of a commit is unknowable): stop serving. */
  fatal?: { reason: string; fenced: boolean };
}

export interface CommitterOptions {
  epoch: () => number;
  /** The clock retries wait on (the simulation's virtual one there). */
  clock?: Clock;
  store?: DatabaseStore;
  link?: ReplicationLink;
  /** Request records kept in the database (the exactly-once window). */
  retention: number;
}

/** Latencies (ms) of the last commits' phases, and how many actions each group held: for /metrics. */
class CommitStats {
  groups = 0;
  actions = 0;
  readonly replicationMs: number[] = [];
  readonly databaseMs: number[] = [];
  readonly groupSizes: number[] = [];

  record(list: number[], value: number): void {
    list.push(value);
    if (list.length > 2_000) list.splice(0, 1_000);
  }
}

export class Committer {
  private commits = 0;
  /** The epoch this committer has recorded in `durable_meta.committed_epoch` (see DatabaseStore.claimEpoch). */
  private markedEpoch = 0;
  readonly stats = new CommitStats();

  private readonly clock: Clock;

  constructor(private readonly options: CommitterOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Makes a group durable; verdicts are in record order. */
  async commit(group: readonly CommitRecord[]): Promise<CommitOutcome> {
    const { store, link } = this.options;
    const epoch = this.options.epoch();
    const writesDatabase = store !== undefined && group.some((r) => r.parts.some((p) => p.sql && p.sql.length > 0));
    const keyOf = (r: CommitRecord) => (r.resent ? undefined : r.replies[0]?.key) ?? `action:${epoch}:${r.seq}`;
    this.stats.groups++;
    this.stats.actions += group.length;
    this.stats.record(this.stats.groupSizes, group.length);

    const shipped: ReplicationRecord[] = group.map((r) => ({
      seq: r.seq,
      replies: r.replies,
      updates: r.parts.flatMap((p) => (p.replicated ? [p.replicated] : [])),
      prepared: writesDatabase ? { key: keyOf(r) } : undefined,
    }));
    const wait = group.some((r) => r.waitForBackups);
    if (!writesDatabase) {
      if (!link) return { verdicts: group.map(() => ({ kind: 'committed' })) };
      const error = await this.acknowledged(() => link.replicate({ epoch, records: shipped }, wait));
      if (error) return replicationFailure(error, group.length);
      const withdrawn = await this.withdrawLogs();
      return withdrawn ? this.fatal(group.length, withdrawn) : { verdicts: group.map(() => ({ kind: 'committed' })) };
    }

    const records: DatabaseRecord[] = group.map((r) => ({
      key: keyOf(r),
      replies: r.resent ? [] : r.replies,
      seq: r.seq,
      statements: r.parts.flatMap((p) => p.sql ?? []).flatMap((w) => w.statements),
    }));
    let replicating: Promise<Error | undefined> = Promise.resolve(undefined);
    let sentTo: string[] | undefined;
    if (link) {
      let sent: Promise<void>;
      try {
        // Sent now, acknowledged later. Too few backups to send to is known at once (a throw), before
        // anything reaches the database: the group then fails with nothing kept anywhere.
        sent = link.replicate({ epoch, records: shipped }, wait);
      } catch (error) {
        return replicationFailure(error as Error, group.length);
      }
      replicating = this.acknowledged(() => sent);
      const logged = loggable(shipped, (sentTo = link.recipients?.()));
      if (logged) {
        // The database commits while the batch travels, and keeps what the backups were sent, for one
        // that takes over without having received it.
        records.forEach((r, i) => (r.logged = { epoch, record: logged[i]! }));
      } else {
        // Too big to log: as before the log existed, the backups hold it (as prepared) before the database commits.
        sentTo = undefined;
        const error = await replicating;
        if (error) return replicationFailure(error, group.length);
        replicating = Promise.resolve(undefined);
      }
    }
    const [replicationError, database] = await Promise.all([replicating, this.commitDatabase(store!, epoch, records)]);

    if (database.kind === 'fenced') {
      link?.decide({ epoch, seqs: group.map((r) => r.seq), commit: false });
      return this.fatal(group.length, database.reason, true);
    }
    if (database.kind === 'unknown') return this.fatal(group.length, database.reason);
    const { committed, failure } = database;
    if (replicationError) {
      // Nothing committed: the replication failure decides, as it would have alone. Something committed:
      // the database holds it with its log and decides it on every backup holding it as prepared.
      if (committed === 0) return replicationFailure(replicationError, group.length);
      // Every backup it was sent to was dropped: no backup holds it, and this primary goes on (as it
      // would have undone the group and gone on, had the database not committed it).
      const dropped = replicationError instanceof ReplicationUnavailableError && replicationError.shipped && !replicationError.fenced && !replicationError.heldByLive;
      if (!dropped) {
        // Some live backups hold it, fewer than required; a newer primary; a link that refused only once
        // the group was in the database; a failure of the link itself: stop, as before the database
        // committed with the batch in flight. A backup takes over from the database's decision and log.
        const fenced = replicationError instanceof ReplicationUnavailableError && replicationError.fenced;
        link!.decide({ epoch, seqs: group.slice(0, committed).map((r) => r.seq), commit: true });
        return this.fatal(group.length, `replication failed after the database committed: ${replicationError.message}`, fenced);
      }
    }
    const withheld = replicationError ? `committed, but fewer backups than required hold it: ${replicationError.message}` : undefined;
    if (sentTo && committed > 0) this.logged.push({ from: group[0]!.seq, to: group[committed - 1]!.seq, sentTo, acknowledged: !replicationError });
    const withdrawn = await this.withdrawLogs();
    if (withdrawn) return this.fatal(group.length, withdrawn);

    link?.decide({ epoch, seqs: group.slice(0, committed).map((r) => r.seq), commit: true });
    if (committed < group.length) link?.decide({ epoch, seqs: group.slice(committed).map((r) => r.seq), commit: false });
    if (++this.commits % 1000 === 0) void store!.prune(this.options.retention).catch(() => undefined);

    const verdicts: CommitVerdict[] = group.map((_, i) => {
      if (i < committed) return withheld ? { kind: 'withheld', reason: withheld } : { kind: 'committed' };
      if (i !== committed) return DEPENDED_ON_FAILED;
      // The client hears which rule the statement broke, never its values; the node's log, everything.
      const safe = refusalForClients(failure);
      const detail = failure?.message;
      if (failure && isStatementRejection(failure)) return { kind: 'rejected', reason: `the database refused the change: ${safe}`, detail };
      return { kind: 'failed', reason: `the database write failed: ${safe}`, detail };
    });
    return { verdicts };
  }

  /** Logged groups some of whose recipients may still lack them (see withdrawLogs). */
  private logged: { from: number; to: number; sentTo: string[]; acknowledged: boolean }[] = [];

  /**
   * A backup a logged group was sent to that this primary has gone on without (dropped, its lease over)
   * must not take that group from the log: it may lack what was acknowledged since. Such log rows go
   * before this commit acknowledges anything. Returns why that failed, if it did.
   */
  private async withdrawLogs(): Promise<string | undefined> {
    const { link, store } = this.options;
    if (this.logged.length === 0 || !link?.recipients) return undefined;
    const here = new Set(link.recipients() ?? []);
    const gone = this.logged.filter((g) => g.sentTo.some((id) => !here.has(id)));
    for (const g of gone) {
      try {
        await retrying(() => store!.forgetLogged(g.from, g.to), this.clock);
      } catch (error) {
        return `a backup was dropped and the database's log of records ${g.from}-${g.to} could not be withdrawn: ${(error as Error).message}`;
      }
    }
    // An acknowledged group whose recipients are all still here is held by each of them (a commit waits
    // for every live backup, and for a dropped one's lease): no one needs its log. One whose replication
    // failed waits for its dropped recipients' leases to end.
    this.logged = this.logged.filter((g) => !gone.includes(g) && !g.acknowledged);
    return undefined;
  }

  /** Waits for the backups' acknowledgement of a group; the error, if they could not all be said to hold it. */
  private async acknowledged(replicate: () => Promise<void>): Promise<Error | undefined> {
    const started = process.hrtime.bigint();
    try {
      await replicate();
      this.stats.record(this.stats.replicationMs, Number(process.hrtime.bigint() - started) / 1e6);
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  /**
   * Commits the group's records in one database transaction. A commit that failed may or may not have
   * happened: the decision records say which; the connection that failed is often gone, so they are
   * read on a fresh one, a few times if need be.
   */
  private async commitDatabase(store: DatabaseStore, epoch: number, records: DatabaseRecord[]): Promise<DatabaseOutcome> {
    try {
      const started = process.hrtime.bigint();
      const result = await store.commit(epoch, records, { markEpoch: this.markedEpoch !== epoch });
      this.markedEpoch = epoch;
      this.stats.record(this.stats.databaseMs, Number(process.hrtime.bigint() - started) / 1e6);
      return { kind: 'done', ...result };
    } catch (error) {
      if (error instanceof FencedError) return { kind: 'fenced', reason: error.message };
      try {
        const decided = await retrying(() => store.decided(records.map((r) => r.key)), this.clock);
        let committed = 0;
        while (committed < records.length && decided.get(records[committed]!.key) === records[committed]!.seq) committed++;
        return { kind: 'done', committed, failure: committed < records.length ? (error as Error) : undefined };
      } catch {
        return { kind: 'unknown', reason: `the database commit's outcome is unknown: ${(error as Error).message}` };
      }
    }
  }

  private fatal(count: number, reason: string, fenced = false): CommitOutcome {
    return { verdicts: Array.from({ length: count }, () => ({ kind: 'failed', reason })), fatal: { reason, fenced } };
  }
}

/** Larger groups are not logged: their backups acknowledge them before the database commits them. */
const MAX_LOGGED_CHARS = 1 << 20;

/**
 * Each record as it goes to `durable_log` (with where its group begins and which backups it is sent to),
 * or undefined when the group is too big to log.
 */
function loggable(shipped: readonly ReplicationRecord[], to: string[] | undefined): string[] | undefined {
  const texts: string[] = [];
  let size = 0;
  for (const record of shipped) {
    const text = JSON.stringify({ group: shipped[0]!.seq, to, record });
    size += text.length;
    if (size > MAX_LOGGED_CHARS) return undefined;
    texts.push(text);
  }
  return texts;
}

type DatabaseOutcome = ({ kind: 'done' } & CommitResult) | { kind: 'fenced'; reason: string } | { kind: 'unknown'; reason: string };

/** What a group's replication failure means for it. */
function replicationFailure(error: Error, count: number): CommitOutcome {
  const failAll = (reason: string) => Array.from({ length: count }, (): CommitVerdict => ({ kind: 'failed', reason }));
  const unavailable = error instanceof ReplicationUnavailableError ? error : undefined;
  if (unavailable && !unavailable.shipped && !unavailable.fenced) {
    // Too few backups to begin with, and nothing sent: these requests fail (undone), and writes resume
    // once enough backups are back.
    return { verdicts: failAll(`replication unavailable: ${unavailable.message}`), unshipped: true };
  }
  if (unavailable && !unavailable.fenced && !unavailable.heldByLive) {
    // Every backup it reached has been dropped since: no live copy holds it. Undone, these requests fail;
    // their sequence numbers are not used again (a dropped backup rejoins from a snapshot).
    return { verdicts: failAll(`replication unavailable: ${unavailable.message}`) };
  }
  // Some backups may hold the group and others not (or a newer primary exists): the primary's memory can
  // no longer be said to match them. Stop, and let a backup take over from a consistent state.
  const reason = `replication failed: ${error.message}`;
  return { verdicts: failAll(reason), fatal: { reason, fenced: unavailable?.fenced ?? false } };
}

/** `read`, tried up to five times over about a second: a database that just dropped its connections. */
async function retrying<T>(read: () => Promise<T>, clock: Clock): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 4) throw error;
      await clock.sleep(50 * 2 ** attempt);
    }
  }
}

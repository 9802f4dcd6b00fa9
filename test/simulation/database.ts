// The simulated database: one server every node reaches over the simulated network, holding what the
// run-time keeps there (the epoch that fences stale primaries, a decision record per committed request,
// the log of what a group shipped to the backups)
// and the one mapped table of the simulated service. It answers the DatabaseStore calls the run-time
// makes, each a round trip of simulated latency, and injects the faults that matter to the commit
// path: a connection lost before the transaction reached the server, or after it committed there
// (the node cannot tell which; its decision records can). The real stores are tested against SQLite,
// PostgreSQL and MariaDB elsewhere; this one is for exploring interleavings, thousands per second.
import type { CommitResult, DatabaseRecord, DatabaseStore, EpochClaim, LoggedRecord } from '../../proxies/database/store.js';
import { FencedError } from '../../proxies/database/store.js';
import { onHost, type Host } from './network.js';
import type { Scheduler } from './scheduler.js';

export interface DatabaseFaults {
  /** Per commit: the connection drops before the server saw it / after the server committed it. */
  lostBefore: number;
  lostAfter: number;
  latency: [number, number];
}

const INSERT = 'INSERT INTO ledger (id) VALUES (?)';

/** The database server: its state outlives every node. */
export class SimDatabase {
  epoch = 1;
  committedEpoch = 0;
  readonly requests = new Map<string, { reply: string; seq: number }>();
  /** durable_log: the replicated part of each committed record, by sequence number. */
  readonly log = new Map<number, LoggedRecord>();
  readonly ledger: string[] = [];
  faults: DatabaseFaults = { lostBefore: 0, lostAfter: 0, latency: [1, 4] };
  commits = 0;

  constructor(private readonly scheduler: Scheduler) {}

  /** A node's connection pool to this server: its calls are dropped if the node dies, held if it pauses. */
  clientFor(host: Host): DatabaseStore {
    return new SimStoreClient(this, this.scheduler, host) as unknown as DatabaseStore;
  }

  /** One transaction, as DatabaseStore.commit does it: the epoch checked, each record in a savepoint. */
  commit(epoch: number, records: readonly DatabaseRecord[], markEpoch = false): CommitResult {
    if (epoch !== this.epoch) throw new FencedError(epoch, this.epoch);
    if (markEpoch) this.committedEpoch = Math.max(this.committedEpoch, epoch);
    const rows: string[] = [];
    const keys: [string, { reply: string; seq: number }][] = [];
    let committed = 0;
    let failure: Error | undefined;
    for (const record of records) {
      const replies = record.replies.length > 0 ? record.replies : [{ key: record.key, reply: '' }];
      const mine: string[] = [];
      const rejection = (() => {
        for (const statement of record.statements) {
          if (statement.sql !== INSERT) return new Error(`the simulated database runs only '${INSERT}', not '${statement.sql}'`);
          const id = String(statement.bindings[0]);
          if (this.ledger.includes(id) || rows.includes(id) || mine.includes(id)) return constraint(`ledger row ${id} exists`);
          mine.push(id);
        }
        for (const r of replies) if (this.requests.has(r.key) || keys.some(([k]) => k === r.key)) return constraint(`request record ${r.key} exists`);
        return undefined;
      })();
      if (rejection) {
        failure = rejection;
        break;
      }
      rows.push(...mine);
      for (const r of replies) keys.push([r.key, { reply: r.reply, seq: record.seq }]);
      committed++;
    }
    const logged = records.slice(0, committed).flatMap((r) => (r.logged ? [{ seq: r.seq, ...r.logged }] : []));
    // Its primary key: a sequence number logged twice is a bug of the run-time, never a client's error.
    for (const row of logged) if (this.log.has(row.seq)) throw new Error(`BUG: durable_log already holds record ${row.seq}`);
    this.ledger.push(...rows);
    for (const [key, value] of keys) this.requests.set(key, value);
    for (const row of logged) this.log.set(row.seq, row);
    this.commits++;
    return { committed, failure };
  }
}

/** A rejection with a SQLSTATE, so the run-time tells it from a lost connection (isStatementRejection). */
function constraint(message: string): Error {
  return Object.assign(new Error(`duplicate key: ${message}`), { code: '23505' });
}

class ConnectionLost extends Error {
  constructor() {
    super('Connection terminated unexpectedly');
  }
}

class SimStoreClient {
  readonly dialect = 'sqlite';
  readonly url = 'sim:';
  /** DatabaseProxy.init runs the mapping's initialization through knex.raw. */
  readonly knex = { raw: (sql: string) => this.call(() => (sql.startsWith('CREATE TABLE') ? [] : unsupported(sql))) };

  constructor(
    private readonly server: SimDatabase,
    private readonly scheduler: Scheduler,
    private readonly host: Host,
  ) {}

  /** A round trip: the request reaches the server (even if the node dies meanwhile), the answer the node. */
  private call<T>(work: () => T, faults?: { before: boolean; after: boolean }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const latency = this.server.faults.latency;
      this.scheduler.after(this.scheduler.random.int(latency[0], latency[1]), () => {
        let answer: { value?: T; error?: unknown } = {};
        if (faults?.before) answer = { error: new ConnectionLost() };
        else {
          try {
            answer = { value: work() };
          } catch (error) {
            answer = { error };
          }
          if (faults?.after && !(answer.error instanceof FencedError)) answer = { error: new ConnectionLost() };
        }
        onHost(this.scheduler, this.host, this.scheduler.now + this.scheduler.random.int(latency[0], latency[1]), () =>
          answer.error === undefined ? resolve(answer.value as T) : reject(answer.error),
        );
      });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  ensureSystemTables(): Promise<void> {
    return this.call(() => undefined);
  }

  epoch(): Promise<number> {
    return this.call(() => this.server.epoch);
  }

  maxSeq(): Promise<number> {
    return this.call(() => Math.max(0, ...[...this.server.requests.values()].map((r) => r.seq)));
  }

  claimEpoch(epoch: number, guard?: { held: number; followed: number }): Promise<EpochClaim> {
    return this.call((): EpochClaim => {
      if (this.server.epoch >= epoch) return { kind: 'taken' };
      if (guard) {
        const committedSeq = Math.max(0, ...[...this.server.requests.values()].map((r) => r.seq));
        const committedEpoch = this.server.committedEpoch;
        if (committedSeq > guard.held || committedEpoch > guard.followed) return { kind: 'behind', committedSeq, committedEpoch };
      }
      this.server.epoch = epoch;
      return { kind: 'claimed' };
    });
  }

  commit(epoch: number, records: readonly DatabaseRecord[], options: { markEpoch?: boolean } = {}): Promise<CommitResult> {
    const random = this.scheduler.random;
    const faults = this.server.faults;
    return this.call(() => this.server.commit(epoch, records, options.markEpoch), { before: random.chance(faults.lostBefore), after: random.chance(faults.lostAfter) });
  }

  forgetLogged(from: number, to: number): Promise<void> {
    return this.call(() => {
      for (let seq = from; seq <= to; seq++) this.server.log.delete(seq);
    });
  }

  loggedAfter(seq: number): Promise<LoggedRecord[]> {
    return this.call(() => [...this.server.log.values()].filter((r) => r.seq > seq).sort((a, b) => a.seq - b.seq));
  }

  decided(keys: readonly string[]): Promise<Map<string, number>> {
    return this.call(() => new Map(keys.flatMap((k) => (this.server.requests.has(k) ? [[k, this.server.requests.get(k)!.seq] as const] : []))));
  }

  recentReplies(limit: number): Promise<[string, string][]> {
    return this.call(() =>
      [...this.server.requests]
        .filter(([, r]) => r.reply !== '')
        .sort((a, b) => a[1].seq - b[1].seq)
        .slice(-limit)
        .map(([key, r]) => [key, r.reply] as [string, string]),
    );
  }

  prune(): Promise<void> {
    return Promise.resolve();
  }

  rows(_runner: unknown, sql: string): Promise<Record<string, unknown>[]> {
    return this.call(() => (sql.startsWith('SELECT id FROM ledger') ? this.server.ledger.map((id) => ({ id })) : unsupported(sql)));
  }

  /** The recovery query, in batches as DatabaseStore streams it (the model has no integers to round). */
  async eachRows(sql: string, batch: number, take: (rows: Record<string, unknown>[]) => void): Promise<void> {
    const rows = await this.rows(undefined, sql);
    for (let i = 0; i < rows.length; i += batch) take(rows.slice(i, i + batch));
  }
}

function unsupported(sql: string): never {
  throw new Error(`the simulated database does not run '${sql}'`);
}

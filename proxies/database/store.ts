// The database under the database proxy: one knex connection pool for SQLite (better-sqlite3, WAL, every
// commit fsynced), PostgreSQL (pg) or MariaDB/MySQL (mysql2), and the two tables the run-time keeps
// beside the mapped ones: `durable_meta` (the epoch, the fencing token every commit checks) and
// `durable_requests` (each committed request's id and reply: exactly-once, and the decision record for
// updates a backup holds as prepared), and `durable_log` (a group's replicated updates, committed with it
// while it is shipped to the backups: a backup that never received them takes them from there).
//
// A group of requests commits in one transaction at the cost the database asks and no more: one
// synchronous BEGIN IMMEDIATE … COMMIT on prepared statements for SQLite (sqlite-store.ts), one round
// trip for PostgreSQL (postgres-store.ts), two for MariaDB (mysql-store.ts). Optimistically: no
// savepoint per request. Only when the database refuses a statement is the group committed again with
// a savepoint per request, so that the refused request fails and those before it commit (the action
// controller runs those after it again). knex keeps what it is good at: configuration, the pool,
// schema, the epoch claim and the reads.
import type { Knex } from 'knex';
import { pgLibrary } from './pg-library.js';
import type { Dialect } from '../../mappings/model.js';
import { dialectOfUrl, isStatementRejection, sqliteLocation, type CommitResult, type DatabaseRecord, type DialectStore, type LoggedRecord } from './dialect.js';
import { SqliteStore } from './sqlite-store.js';
import { PostgresStore } from './postgres-store.js';
import { MysqlStore } from './mysql-store.js';

export { FencedError, isStatementRejection, type CommitResult, type DatabaseRecord, type LoggedRecord, type SqlStatementWork } from './dialect.js';

export type EpochClaim = { kind: 'claimed' } | { kind: 'taken' } | { kind: 'behind'; committedSeq: number; committedEpoch: number };

export class DatabaseStore {
  private readonly dialectStore: DialectStore;

  private constructor(
    readonly knex: Knex,
    readonly dialect: Dialect,
    readonly url: string,
  ) {
    this.dialectStore = dialect === 'sqlite' ? new SqliteStore(knex) : dialect === 'postgres' ? new PostgresStore(knex) : new MysqlStore(knex);
  }

  /** A store over a pool made elsewhere (tests give each run its own schema this way). */
  static over(knex: Knex, dialect: Dialect, url: string = dialect): DatabaseStore {
    return new DatabaseStore(knex, dialect, url);
  }

  static async open(url: string): Promise<DatabaseStore> {
    const { dialect, config } = knexConfig(url);
    const knex = (await loadKnex())(config);
    const store = new DatabaseStore(knex, dialect, url);
    try {
      await knex.raw('SELECT 1');
    } catch (error) {
      await knex.destroy();
      throw new Error(`Cannot connect to the database at ${redact(url)}: ${(error as Error).message}`);
    }
    return store;
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }

  /** The run-time's own tables; idempotent. The epoch starts at 1. */
  async ensureSystemTables(): Promise<void> {
    const text = this.dialect === 'mysql' ? 'LONGTEXT' : 'TEXT';
    await this.knex.raw(`CREATE TABLE IF NOT EXISTS durable_meta (name VARCHAR(64) PRIMARY KEY, value BIGINT NOT NULL)`);
    await this.knex.raw(`CREATE TABLE IF NOT EXISTS durable_requests (request_key VARCHAR(255) PRIMARY KEY, reply ${text} NOT NULL, seq BIGINT NOT NULL)`);
    await this.knex.raw(`CREATE TABLE IF NOT EXISTS durable_log (seq BIGINT PRIMARY KEY, epoch BIGINT NOT NULL, record ${text} NOT NULL)`);
    const insert = this.dialect === 'mysql' ? 'INSERT IGNORE INTO' : 'INSERT INTO';
    const conflict = this.dialect === 'mysql' ? '' : ' ON CONFLICT (name) DO NOTHING';
    await this.knex.raw(`${insert} durable_meta (name, value) VALUES ('epoch', 1)${conflict}`);
    await this.knex.raw(`${insert} durable_meta (name, value) VALUES ('committed_epoch', 0)${conflict}`);
  }

  async epoch(): Promise<number> {
    const rows = await this.rows(this.knex, `SELECT value FROM durable_meta WHERE name = 'epoch'`);
    return Number(rows[0]?.value ?? 0);
  }

  /** The highest sequence number committed here: a (re)started primary continues after it. */
  async maxSeq(): Promise<number> {
    const rows = await this.rows(this.knex, 'SELECT MAX(seq) AS top FROM durable_requests');
    return Number(rows[0]?.top ?? 0);
  }

  /**
   * Raises the epoch to `epoch`: 'taken' if it is already there or beyond. With `guard` (a promotion),
   * first checks, under the same lock every commit takes, that nothing was committed that the promoting
   * backup does not hold: no record beyond `held`, no commit of an epoch after `followed`. Otherwise
   * nothing is claimed, and the old primary goes on ('behind').
   */
  async claimEpoch(epoch: number, guard?: { held: number; followed: number }): Promise<EpochClaim> {
    return this.knex.transaction(async (trx) => {
      const lock = this.dialect === 'sqlite' ? '' : ' FOR UPDATE';
      // SQLite: take the write lock first, so no commit slips in between the check and the claim.
      if (this.dialect === 'sqlite')
        await trx('durable_meta')
          .where({ name: 'epoch' })
          .update({ value: trx.raw('value') });
      const rows = await this.rows(trx, `SELECT value FROM durable_meta WHERE name = 'epoch'${lock}`);
      if (Number(rows[0]?.value ?? 0) >= epoch) return { kind: 'taken' } as const;
      if (guard) {
        const [seq] = await this.rows(trx, 'SELECT MAX(seq) AS top FROM durable_requests');
        const [committed] = await this.rows(trx, `SELECT value FROM durable_meta WHERE name = 'committed_epoch'`);
        const committedSeq = Number(seq?.top ?? 0);
        const committedEpoch = Number(committed?.value ?? 0);
        if (committedSeq > guard.held || committedEpoch > guard.followed) return { kind: 'behind', committedSeq, committedEpoch } as const;
      }
      await trx('durable_meta').where({ name: 'epoch' }).update({ value: epoch });
      return { kind: 'claimed' } as const;
    });
  }

  /**
   * Commits a group in one transaction, after checking (and locking) the epoch so that a node that has
   * been replaced cannot commit (FencedError). Returns how many records committed: all of them, or,
   * when the database refused a statement, those before the record it belongs to (`failure` says why).
   * `markEpoch` (a primary's first commit) records the epoch as committed_epoch, which claimEpoch reads.
   * Anything else (a lost connection) throws: the outcome is then unknown, and the decision records
   * (`decided`) settle it.
   */
  async commit(epoch: number, records: readonly DatabaseRecord[], options: { markEpoch?: boolean } = {}): Promise<CommitResult> {
    const markEpoch = options.markEpoch ?? false;
    try {
      await this.dialectStore.commitAll(epoch, records, markEpoch);
      return { committed: records.length };
    } catch (error) {
      if (!isStatementRejection(error)) throw error;
    }
    // Nothing of the group was kept. Again, a savepoint per record, to find the one refused.
    return this.dialectStore.commitPrefix(epoch, records, markEpoch);
  }

  /**
   * Which of these keys have a committed decision record, and the sequence number of the record that
   * committed it: a request retried after its first run failed has the same key on two records, of
   * which only the one with this number committed.
   */
  async decided(keys: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await this.knex('durable_requests')
        .select('request_key', 'seq')
        .whereIn('request_key', keys.slice(i, i + 500));
      for (const row of rows as { request_key: string; seq: unknown }[]) found.set(row.request_key, Number(row.seq));
    }
    return found;
  }

  /**
   * The logged records after `seq`, in order (at most `limit`): what a primary committed here while it
   * shipped it to its backups (DatabaseRecord.logged). A promoting backup completes what it holds with them.
   */
  async loggedAfter(seq: number, limit = 10_000): Promise<LoggedRecord[]> {
    const rows = (await this.knex('durable_log').select('seq', 'epoch', 'record').where('seq', '>', seq).orderBy('seq').limit(limit)) as Record<string, unknown>[];
    return rows.map((r) => ({ seq: Number(r.seq), epoch: Number(r.epoch), record: String(r.record) }));
  }

  /** Withdraws the logged records `from`…`to` (a backup they were sent to was dropped: it must not take them). */
  async forgetLogged(from: number, to: number): Promise<void> {
    await this.knex('durable_log').whereBetween('seq', [from, to]).delete();
  }

  /**
   * The newest `limit` request replies after record `afterSeq`, oldest first: a recovering primary's
   * exactly-once memory (a promoted backup already holds those up to what it applied).
   */
  async recentReplies(limit: number, afterSeq = 0): Promise<[string, string][]> {
    const rows = (await this.knex('durable_requests').select('request_key', 'reply').where('reply', '<>', '').andWhere('seq', '>', afterSeq).orderBy('seq', 'desc').limit(limit)) as {
      request_key: string;
      reply: string;
    }[];
    return rows.reverse().map((r) => [r.request_key, r.reply]);
  }

  /** Forgets all but the newest `keep` request records (the documented retention). */
  async prune(keep: number): Promise<void> {
    const rows = await this.rows(this.knex, 'SELECT MAX(seq) AS top FROM durable_requests');
    const top = Number(rows[0]?.top ?? 0);
    if (top <= keep) return;
    await this.knex('durable_requests')
      .where('seq', '<=', top - keep)
      .delete();
    await this.knex('durable_log')
      .where('seq', '<=', top - keep)
      .delete();
  }

  /**
   * Runs a query and hands its rows over `batch` at a time, as the database delivers them, with a turn
   * of the event loop between batches: a recovery of millions of rows holds neither all of them in
   * memory at once nor the process (its heartbeats) for the whole read. Integers are exact: SQLite hands
   * 64-bit integers over as BigInt (a JavaScript number would round them), for the `<apply>` method's
   * conversion.
   */
  eachRows(sql: string, batch: number, take: (rows: Record<string, unknown>[]) => void): Promise<void> {
    return this.dialectStore.eachRows(sql, batch, take);
  }

  /** Rows of a raw query, whatever shape the driver returns them in. */
  async rows(runner: Knex | Knex.Transaction, sql: string, bindings: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    const result = await runner.raw(sql, bindings as Knex.RawBinding[]);
    if (this.dialect === 'postgres') return result.rows;
    if (this.dialect === 'mysql') return result[0];
    return result;
  }
}

/**
 * knex, loaded by the first store that needs it: a node whose state needs no database (in-memory
 * replication, no --db) starts without it and the drivers it brings.
 */
export async function loadKnex(): Promise<(config: Knex.Config) => Knex> {
  return (await import('knex')).default;
}

export function knexConfig(url: string): { dialect: Dialect; config: Knex.Config } {
  const dialect = dialectOfUrl(url);
  if (dialect === 'sqlite') {
    const { file: filename, query } = sqliteLocation(url);
    if (!filename) throw new Error(`The SQLite URL '${url}' names no file; write sqlite:PATH, e.g. sqlite:./state.db.`);
    const synchronous = sqliteSynchronous(url, query);
    return {
      dialect: 'sqlite',
      config: {
        client: 'better-sqlite3',
        connection: { filename },
        useNullAsDefault: true,
        // One connection: SQLite has one writer, and a single connection keeps transactions in order.
        pool: {
          min: 1,
          max: 1,
          afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
            try {
              conn.pragma('journal_mode = WAL');
              conn.pragma(`synchronous = ${synchronous}`);
              conn.pragma('busy_timeout = 5000');
              done(null, conn);
            } catch (error) {
              done(error as Error, conn);
            }
          },
        },
      },
    };
  }
  if (dialect === 'postgres') {
    return { dialect: 'postgres', config: { client: 'pg', connection: { connectionString: url, types: { getTypeParser: postgresTypeParser } }, pool: { min: 0, max: 4 } } };
  }
  if (dialect === 'mysql') {
    // Numbers come back as numbers (strings only past 2^53), so recovered state has the types it had.
    // multipleStatements: a group's statements go to the server as one text (mysql-store.ts); mysql2
    // escapes every bound value into the text either way.
    const connection = { uri: url.replace(/^mariadb:/, 'mysql:'), decimalNumbers: true, supportBigNumbers: true, bigNumberStrings: false, multipleStatements: true };
    return { dialect: 'mysql', config: { client: 'mysql2', connection, pool: { min: 0, max: 4 } } };
  }
  throw new Error(`Unsupported database URL '${redact(url)}'. Use sqlite:PATH, postgres://user@host:port/db or mysql://user@host:port/db.`);
}

/**
 * SQLite's durability level, from `sqlite:PATH?synchronous=full|normal`. FULL (the default): every commit
 * reaches the disk before the request is answered, so an acknowledged request survives a power loss.
 * NORMAL (WAL): a commit is written to the operating system but synced only at checkpoints, so it
 * survives the process crashing (kill -9) but not the machine losing power: an explicit choice.
 */
function sqliteSynchronous(url: string, query: string): 'FULL' | 'NORMAL' {
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== 'synchronous') throw new Error(`The SQLite URL '${url}' has an unknown option '${key}'; the one option is synchronous=full|normal.`);
  }
  const level = (params.get('synchronous') ?? 'full').toLowerCase();
  if (level !== 'full' && level !== 'normal')
    throw new Error(
      `The SQLite URL '${url}' asks for synchronous=${level}; write synchronous=full (the default: survives power loss) or synchronous=normal (survives a process crash, not a power loss).`,
    );
  return level === 'full' ? 'FULL' : 'NORMAL';
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/**
 * BIGINT and NUMERIC arrive as numbers where a JavaScript number holds them exactly (pg's default is a
 * string, which recovery would hand to a method that adds to it). Per connection: pg's global parsers,
 * which the application may rely on elsewhere, are left alone.
 */
function postgresTypeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === PG_INT8) return (v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);
  if (oid === PG_NUMERIC)
    return (v) =>
      String(Number(v)) ===
      v
        .replace(/^(-?)0+(?=\d)/, '$1')
        .replace(/(\.\d*?)0+$/, '$1')
        .replace(/\.$/, '')
        ? Number(v)
        : v;
  return pgLibrary().types.getTypeParser(oid, format as 'text');
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

// SQLite's commit path: better-sqlite3 is synchronous and in-process, so a group is one uninterrupted
// run of prepared statements (cached per SQL text on the connection) inside BEGIN IMMEDIATE … COMMIT:
// no promise per statement, no round trip, the fsync of the COMMIT the only wait. knex's pool has one
// connection (SQLite has one writer); the commit takes it for the synchronous run and gives it back.
import type { Knex } from 'knex';
import { chunksOf, FencedError, handOver, isStatementRejection, requestRows, type CommitResult, type DatabaseRecord, type DialectStore, type Row, type SqlStatementWork } from './dialect.js';

interface Statement {
  readonly reader: boolean;
  run(...bindings: unknown[]): unknown;
  all(...bindings: unknown[]): unknown[];
  get(...bindings: unknown[]): unknown;
  safeIntegers(on: boolean): Statement;
  iterate(...bindings: unknown[]): IterableIterator<unknown>;
}

interface Connection {
  prepare(sql: string): Statement;
  readonly inTransaction: boolean;
}

interface Pool {
  acquireConnection(): Promise<Connection>;
  releaseConnection(connection: Connection): Promise<void>;
}

export class SqliteStore implements DialectStore {
  private readonly prepared = new WeakMap<Connection, Map<string, Statement>>();

  constructor(private readonly knex: Knex) {}

  async commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void> {
    await this.withConnection((db) =>
      this.transaction(db, epoch, markEpoch, () => {
        for (const record of records) this.write(db, record);
      }),
    );
  }

  async commitPrefix(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<CommitResult> {
    return this.withConnection((db) => {
      let committed = 0;
      let failure: Error | undefined;
      this.transaction(db, epoch, markEpoch, () => {
        for (const record of records) {
          this.statement(db, 'SAVEPOINT durable_record').run();
          try {
            this.write(db, record);
          } catch (error) {
            // A refusal fails this record (the controller decides about the ones after it); anything
            // else fails the whole transaction.
            if (!isStatementRejection(error)) throw error;
            this.statement(db, 'ROLLBACK TO durable_record').run();
            this.statement(db, 'RELEASE durable_record').run();
            failure = error as Error;
            break;
          }
          this.statement(db, 'RELEASE durable_record').run();
          committed++;
        }
      });
      return { committed, failure };
    });
  }

  async eachRows(sql: string, batch: number, take: (rows: Row[]) => void): Promise<void> {
    await this.withConnectionAsync(async (db) => {
      // Stepped one row at a time by a plain generator: nothing is awaited per row.
      await handOver(chunksOf(db.prepare(sql).safeIntegers(true).iterate() as Iterable<Row>, batch), take);
    });
  }

  /** Runs `body` between BEGIN IMMEDIATE (the write lock, so the epoch cannot change under it) and COMMIT. */
  private transaction(db: Connection, epoch: number, markEpoch: boolean, body: () => void): void {
    this.statement(db, 'BEGIN IMMEDIATE').run();
    try {
      const row = this.statement(db, "SELECT value FROM durable_meta WHERE name = 'epoch'").get() as { value: number | bigint } | undefined;
      const current = Number(row?.value ?? 0);
      if (current !== epoch) throw new FencedError(epoch, current);
      if (markEpoch) this.statement(db, "UPDATE durable_meta SET value = ? WHERE name = 'committed_epoch' AND value < ?").run(epoch, epoch);
      body();
      this.statement(db, 'COMMIT').run();
    } catch (error) {
      if (db.inTransaction) this.statement(db, 'ROLLBACK').run();
      throw error;
    }
  }

  /** One record: its statements, then its request records. */
  private write(db: Connection, record: DatabaseRecord): void {
    for (const work of record.statements) {
      const statement = this.statement(db, sqliteText(work));
      if (statement.reader) statement.all(...work.bindings);
      else statement.run(...work.bindings);
    }
    const insert = this.statement(db, 'INSERT INTO durable_requests (request_key, reply, seq) VALUES (?, ?, ?)');
    for (const row of requestRows(record)) insert.run(row.key, row.reply, record.seq);
    if (record.logged) this.statement(db, 'INSERT INTO durable_log (seq, epoch, record) VALUES (?, ?, ?)').run(record.seq, record.logged.epoch, record.logged.record);
  }

  private statement(db: Connection, sql: string): Statement {
    let cache = this.prepared.get(db);
    if (!cache) this.prepared.set(db, (cache = new Map()));
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      // A mapping's statements are few; a cache that grows past any mapping's size is cleared, not evicted one by one.
      if (cache.size > 1_000) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  }

  private async withConnection<T>(run: (db: Connection) => T): Promise<T> {
    return this.withConnectionAsync(async (db) => run(db));
  }

  private async withConnectionAsync<T>(run: (db: Connection) => Promise<T>): Promise<T> {
    const pool = (this.knex as unknown as { client: Pool }).client;
    const db = await pool.acquireConnection();
    try {
      return await run(db);
    } finally {
      await pool.releaseConnection(db);
    }
  }
}

const texts = new WeakMap<readonly string[], string>();

/** The statement with SQLite's `?` for each binding (a `?` inside a quoted literal is SQLite's to read as text). */
function sqliteText(work: SqlStatementWork): string {
  let text = texts.get(work.parts);
  if (text === undefined) texts.set(work.parts, (text = work.parts.join('?')));
  return text;
}

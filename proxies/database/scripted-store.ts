// What the PostgreSQL and MariaDB commit paths share: a group sent as a script, its values written into
// the text as literals by the driver's own escaping, so that many statements cost one round trip (the
// drivers send one parameterized statement per round trip, and neither pipelines on a pooled
// connection). Each value is the text the driver would have bound, quoted, so the server types it as it
// would a parameter. The connection comes from knex's pool and goes back to it; one whose state is
// unknown (a failure mid-transaction) is handed back marked disposed, so the pool drops it.
import type { Knex } from 'knex';
import { FencedError, isStatementRejection, logRows, requestRows, type CommitResult, type DatabaseRecord, type DialectStore, type Row, type SqlStatementWork } from './dialect.js';

export interface PooledConnection {
  __knex__disposed?: unknown;
}

export abstract class ScriptedStore<C extends PooledConnection> implements DialectStore {
  constructor(protected readonly knex: Knex) {}

  abstract commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void>;
  abstract eachRows(sql: string, batch: number, take: (rows: Row[]) => void): Promise<void>;

  /** Runs statements in order, as few round trips as the driver allows; the result of each. */
  protected abstract run(connection: C, statements: readonly string[]): Promise<unknown[]>;
  /** A bound value as an SQL literal of this dialect. */
  protected abstract literal(connection: C, value: unknown): string;
  /** Once per pooled connection, before its first commit: what this dialect's literals need of the session. */
  protected async prepareConnection(_connection: C): Promise<void> {}
  /** Opens a transaction holding the epoch's lock, checked (FencedError) and, with `markEpoch`, recorded. */
  protected abstract begin(connection: C, epoch: number, markEpoch: boolean): Promise<void>;

  /**
   * After a refusal: the group again, a savepoint per record. The savepoint goes first in a message of
   * its own, so that a record whose text the server cannot even parse (the whole message refused) still
   * has its savepoint to go back to.
   */
  async commitPrefix(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<CommitResult> {
    return this.withConnection(async (connection) => {
      await this.begin(connection, epoch, markEpoch);
      let committed = 0;
      let failure: Error | undefined;
      for (const record of records) {
        let statements: string[];
        try {
          statements = this.statements(connection, [record]);
        } catch (error) {
          // A value this dialect cannot hold, refused as the server would have refused it bound.
          if (!isStatementRejection(error)) throw error;
          failure = error as Error;
          break;
        }
        await this.run(connection, ['SAVEPOINT durable_record']);
        try {
          for (const chunk of this.chunks([...statements, 'RELEASE SAVEPOINT durable_record'])) await this.run(connection, chunk);
        } catch (error) {
          if (!isStatementRejection(error)) throw error;
          await this.run(connection, ['ROLLBACK TO SAVEPOINT durable_record']);
          failure = error as Error;
          break;
        }
        committed++;
      }
      await this.run(connection, ['COMMIT']);
      return { committed, failure };
    });
  }

  /**
   * Statements in messages of at most `maxMessageBytes` (a statement larger than that goes alone): a
   * server refuses a message over its packet limit (MariaDB's max_allowed_packet) as a whole.
   */
  protected chunks(statements: readonly string[]): string[][] {
    const out: string[][] = [];
    let current: string[] = [];
    let size = 0;
    for (const statement of statements) {
      const bytes = Buffer.byteLength(statement) + 3;
      if (current.length > 0 && size + bytes > this.maxMessageBytes) {
        out.push(current);
        current = [];
        size = 0;
      }
      current.push(statement);
      size += bytes;
    }
    if (current.length > 0) out.push(current);
    return out;
  }

  /** The largest message a group is sent in (MariaDB's default packet limit is 16 MB). */
  protected readonly maxMessageBytes: number = 4 * 1024 * 1024;

  /** The records' statements with their values written in, then one multi-row insert of their request records (and one of their log rows). */
  protected statements(connection: C, records: readonly DatabaseRecord[]): string[] {
    const out: string[] = [];
    const requests: string[] = [];
    for (const record of records) {
      for (const work of record.statements) out.push(this.inline(connection, work));
      const seq = this.literal(connection, record.seq);
      for (const row of requestRows(record)) requests.push(`(${this.literal(connection, row.key)}, ${this.literal(connection, row.reply)}, ${seq})`);
    }
    out.push(`INSERT INTO durable_requests (request_key, reply, seq) VALUES ${requests.join(', ')}`);
    const logged = logRows(records).map((row) => `(${this.literal(connection, row.seq)}, ${this.literal(connection, row.epoch)}, ${this.literal(connection, row.record)})`);
    if (logged.length > 0) out.push(`INSERT INTO durable_log (seq, epoch, record) VALUES ${logged.join(', ')}`);
    return out;
  }

  private inline(connection: C, work: SqlStatementWork): string {
    let text = work.parts[0]!;
    for (let i = 0; i < work.bindings.length; i++) text += this.literal(connection, work.bindings[i]) + work.parts[i + 1]!;
    return text;
  }

  /**
   * A pooled connection for `use`, which opens a transaction on it. When the database refused a
   * statement or the node is fenced, the transaction is rolled back (`explicit: false` for a script
   * that was its own implicit transaction: nothing is left open). After any other failure the
   * connection's state is unknown: it is dropped, and the server rolls back what it held.
   */
  protected async withConnection<T>(use: (connection: C) => Promise<T>, explicit = true): Promise<T> {
    const pool = (this.knex as unknown as { client: { acquireConnection(): Promise<C>; releaseConnection(c: C): Promise<void> } }).client;
    const connection = await pool.acquireConnection();
    try {
      await this.prepareConnection(connection);
      return await use(connection);
    } catch (error) {
      if (!isStatementRejection(error) && !(error instanceof FencedError)) connection.__knex__disposed = error;
      else if (explicit) {
        await this.run(connection, ['ROLLBACK']).catch((lost: unknown) => {
          connection.__knex__disposed = lost;
        });
      }
      throw error;
    } finally {
      await pool.releaseConnection(connection);
    }
  }
}

export function markEpochStatement(epoch: number): string {
  return `UPDATE durable_meta SET value = ${epoch} WHERE name = 'committed_epoch' AND value < ${epoch}`;
}

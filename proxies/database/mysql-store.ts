// MariaDB's and MySQL's commit path: a group is TWO round trips. The first sends the whole transaction
// but its COMMIT as one multi-statement text (the connection is opened with multipleStatements; values
// are written in by mysql2's own escaping, which is what it does with `?` bindings anyway), and reads
// the epoch under its lock; the second commits, or rolls back a node that has been fenced. (A plain
// statement cannot fail on a value here the way PostgreSQL's cast can, so the check is read, not raised.)
// On a connection opened without multipleStatements (a pool made elsewhere) the statements go one by one.
import type { Knex } from 'knex';
import { FencedError, handOver, type DatabaseRecord, type Row } from './dialect.js';
import { LOCK_EPOCH, markEpochStatement, ScriptedStore, type PooledConnection } from './scripted-store.js';

interface MysqlConnection extends PooledConnection {
  config: { multipleStatements?: boolean };
  query(sql: string, callback: (error: Error | null, results: unknown) => void): void;
  escape(value: unknown): string;
}

export class MysqlStore extends ScriptedStore<MysqlConnection> {
  constructor(knex: Knex) {
    super(knex);
  }

  async commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void> {
    await this.withConnection(async (connection) => {
      const results = await this.run(connection, ['START TRANSACTION', LOCK_EPOCH, ...(markEpoch ? [markEpochStatement(epoch)] : []), ...this.statements(connection, records)]);
      this.checkEpoch(results[1], epoch);
      await this.run(connection, ['COMMIT']);
    });
  }

  protected async begin(connection: MysqlConnection, epoch: number, markEpoch: boolean): Promise<void> {
    const results = await this.run(connection, ['START TRANSACTION', LOCK_EPOCH, ...(markEpoch ? [markEpochStatement(epoch)] : [])]);
    this.checkEpoch(results[1], epoch);
  }

  /** The locked epoch row's value, or FencedError (withConnection then rolls back). */
  private checkEpoch(rows: unknown, epoch: number): void {
    const current = Number((rows as { value?: unknown }[] | undefined)?.[0]?.value ?? 0);
    if (current !== epoch) throw new FencedError(epoch, current);
  }

  protected async run(connection: MysqlConnection, statements: readonly string[]): Promise<unknown[]> {
    const query = (sql: string) => new Promise<unknown>((resolve, reject) => connection.query(sql, (error, results) => (error ? reject(error) : resolve(results))));
    if (statements.length === 1) return [await query(statements[0]!)];
    if (connection.config.multipleStatements) return (await query(statements.join(';\n'))) as unknown[];
    const results: unknown[] = [];
    for (const statement of statements) results.push(await query(statement));
    return results;
  }

  protected literal(connection: MysqlConnection, value: unknown): string {
    return connection.escape(value === undefined ? null : value);
  }

  /** Streamed, as the server sends the rows. */
  async eachRows(sql: string, batch: number, take: (rows: Row[]) => void): Promise<void> {
    const stream = this.knex.raw(sql).stream() as AsyncIterable<Row>;
    async function* streamed(): AsyncGenerator<Row[]> {
      let rows: Row[] = [];
      for await (const row of stream) {
        rows.push(row);
        if (rows.length < batch) continue;
        yield rows;
        rows = [];
      }
      if (rows.length > 0) yield rows;
    }
    await handOver(streamed(), take);
  }
}

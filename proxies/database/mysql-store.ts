// MariaDB's and MySQL's commit path: a group is TWO round trips. The first opens the transaction and
// reads the epoch under its lock; only then, the node not fenced, the second sends the group's statements
// and COMMIT as one multi-statement text (the connection is opened with multipleStatements; values are
// written in by mysql2's own escaping, which is what it does with `?` bindings anyway), in more than one
// message only past 4 MB (a server refuses a message over max_allowed_packet). Checking first matters
// here: a plain statement cannot fail on the epoch's value the way PostgreSQL's check does, so the check
// is read, and nothing of the group may reach the server before it.
// On a connection opened without multipleStatements (a pool made elsewhere) the statements go one by one.
import { FencedError, handOver, type DatabaseRecord, type Row } from './dialect.js';
import { markEpochStatement, ScriptedStore, type PooledConnection } from './scripted-store.js';

/** The epoch row, locked (as claimEpoch locks it): no claim can slip between the check and the commit. */
const LOCK_EPOCH = "SELECT value FROM durable_meta WHERE name = 'epoch' FOR UPDATE";

interface MysqlConnection extends PooledConnection {
  config: { multipleStatements?: boolean };
  query(sql: string, callback: (error: Error | null, results: unknown) => void): void;
  escape(value: unknown): string;
}

export class MysqlStore extends ScriptedStore<MysqlConnection> {
  private readonly prepared = new WeakSet<MysqlConnection>();

  async commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void> {
    await this.withConnection(async (connection) => {
      await this.begin(connection, epoch, markEpoch);
      for (const chunk of this.chunks([...this.statements(connection, records), 'COMMIT'])) await this.run(connection, chunk);
    });
  }

  /**
   * mysql2 escapes a quote in a value with a backslash; under sql_mode NO_BACKSLASH_ESCAPES the server
   * would read that backslash as a character and the quote as the end of the string, and the rest of the
   * value as SQL. The mode is taken out of the session before any value is written in.
   */
  protected override async prepareConnection(connection: MysqlConnection): Promise<void> {
    if (this.prepared.has(connection)) return;
    await this.run(connection, ["SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))"]);
    this.prepared.add(connection);
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
    // Each statement ends on its own line: a statement's trailing `--` or `#` comment cannot swallow the next.
    if (connection.config.multipleStatements) return (await query(statements.join('\n;\n'))) as unknown[];
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

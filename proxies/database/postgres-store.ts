// PostgreSQL's commit path: a group is ONE round trip. Its statements go as one simple-query message,
// which PostgreSQL runs as one implicit transaction (all or nothing, committed when the message ends),
// so the commit costs one round trip and the server's fsync. The epoch check must be able to stop that
// transaction from inside it: it locks the epoch row and, when the epoch is not this node's, fails
// with an error that names the epoch it found (a cast of text that cannot be an integer; the text
// depends on the row, so the planner cannot fold it away).
import type { Knex } from 'knex';
import pg from 'pg';
import { chunksOf, FencedError, handOver, type DatabaseRecord, type Row } from './dialect.js';
import { markEpochStatement, ScriptedStore, type PooledConnection } from './scripted-store.js';

interface PgConnection extends PooledConnection {
  query(text: string): Promise<pg.QueryResult | pg.QueryResult[]>;
}

const FENCE = 'durable: fenced at epoch ';

/** pg's own conversion of a parameter to its text (exported by pg as utils, not in its types). */
const prepareValue = (pg as unknown as { utils: { prepareValue(value: unknown): string } }).utils.prepareValue;

/** Fails the transaction, naming the epoch it found, unless the epoch is `epoch`. Holds the row's lock. */
function epochCheck(epoch: number): string {
  return `SELECT CASE WHEN value = ${epoch} THEN 0 ELSE CAST('${FENCE}' || value AS INTEGER) END FROM durable_meta WHERE name = 'epoch' FOR UPDATE`;
}

export class PostgresStore extends ScriptedStore<PgConnection> {
  constructor(knex: Knex) {
    super(knex);
  }

  async commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void> {
    await this.withConnection(async (connection) => {
      const script = [epochCheck(epoch), ...(markEpoch ? [markEpochStatement(epoch)] : []), ...this.statements(connection, records)];
      await this.run(connection, script).catch((error: unknown) => {
        throw fencedOr(error, epoch);
      });
    }, false);
  }

  protected async begin(connection: PgConnection, epoch: number, markEpoch: boolean): Promise<void> {
    await this.run(connection, ['BEGIN', epochCheck(epoch), ...(markEpoch ? [markEpochStatement(epoch)] : [])]).catch((error: unknown) => {
      throw fencedOr(error, epoch);
    });
  }

  protected async run(connection: PgConnection, statements: readonly string[]): Promise<unknown[]> {
    const result = await connection.query(statements.join(';\n'));
    return Array.isArray(result) ? result : [result];
  }

  protected literal(_connection: PgConnection, value: unknown): string {
    if (value === null || value === undefined) return 'NULL';
    // The text pg would have sent as a parameter (a Buffer as bytea's hex form), quoted: of unknown type,
    // so the server gives it the type the context asks for, as it does a parameter.
    const text = Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : prepareValue(value);
    return pg.escapeLiteral(text);
  }

  /** Through a cursor in a read-only transaction, five batches a round trip. */
  async eachRows(sql: string, batch: number, take: (rows: Row[]) => void): Promise<void> {
    await this.knex.transaction(
      async (trx) => {
        await trx.raw(`DECLARE durable_recovery NO SCROLL CURSOR FOR ${sql}`);
        const fetch = batch * 5;
        async function* cursor(): AsyncGenerator<Row[]> {
          for (;;) {
            const rows = (await trx.raw(`FETCH ${fetch} FROM durable_recovery`)).rows as Row[];
            yield* chunksOf(rows, batch);
            if (rows.length < fetch) return;
          }
        }
        await handOver(cursor(), take);
        await trx.raw('CLOSE durable_recovery');
      },
      { readOnly: true },
    );
  }
}

/** The epoch check's failure as the FencedError it means; any other error as it is. */
function fencedOr(error: unknown, epoch: number): unknown {
  const message = (error as { message?: unknown }).message;
  const found = typeof message === 'string' ? message.match(/durable: fenced at epoch (\d+)/) : null;
  return found ? new FencedError(epoch, Number(found[1])) : error;
}

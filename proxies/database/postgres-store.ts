// PostgreSQL's commit path: a group is ONE round trip. Its statements go as one simple-query message,
// which PostgreSQL runs as one implicit transaction (all or nothing), ended by our COMMIT (which also
// ends a transaction a statement would have opened), so the commit costs one round trip and the
// server's fsync. The epoch check must stop that transaction from inside it: an anonymous block locks
// the epoch row and raises SQLSTATE DF001 when the epoch is not this node's (or missing) - a code no
// value a client sends can produce, unlike a message (a client's text appears in error messages).
import type pg from 'pg';
import { pgLibrary } from './pg-library.js';
import { chunksOf, FencedError, handOver, type DatabaseRecord, type Row } from './dialect.js';
import { markEpochStatement, ScriptedStore, type PooledConnection } from './scripted-store.js';

interface PgConnection extends PooledConnection {
  query(text: string): Promise<pg.QueryResult | pg.QueryResult[]>;
}

/** pg's own conversion of a parameter to its text (exported by pg as utils, not in its types). */
function prepareValue(value: unknown): string {
  return (pgLibrary() as unknown as { utils: { prepareValue(value: unknown): string } }).utils.prepareValue(value);
}

const FENCED = 'DF001';

/** Fails the transaction with SQLSTATE DF001 unless the epoch is `epoch`. Holds the row's lock. */
function epochCheck(epoch: number): string {
  return (
    `DO $durable$ DECLARE found bigint; BEGIN ` +
    `SELECT value INTO found FROM durable_meta WHERE name = 'epoch' FOR UPDATE; ` +
    `IF found IS DISTINCT FROM ${epoch} THEN RAISE EXCEPTION USING ERRCODE = '${FENCED}', MESSAGE = 'durable: fenced at epoch ' || COALESCE(found::text, 'none'); END IF; ` +
    `END $durable$`
  );
}

export class PostgresStore extends ScriptedStore<PgConnection> {
  // A group is one message (one implicit transaction), whatever its size; PostgreSQL takes up to 1 GB.
  protected override readonly maxMessageBytes = 512 * 1024 * 1024;

  async commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void> {
    await this.withConnection(async (connection) => {
      const script = [epochCheck(epoch), ...(markEpoch ? [markEpochStatement(epoch)] : []), ...this.statements(connection, records), 'COMMIT'];
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
    // Each statement ends on its own line: a statement's trailing `--` comment cannot swallow the next.
    const result = await connection.query(statements.join('\n;\n'));
    return Array.isArray(result) ? result : [result];
  }

  protected literal(_connection: PgConnection, value: unknown): string {
    if (value === null || value === undefined) return 'NULL';
    // PostgreSQL text cannot hold NUL: bound, the server refuses that value (22021); written into the
    // message, it would make the whole message unreadable (08P01) and fail every request of the group.
    if (typeof value === 'string' && value.includes('\u0000')) throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00 (a string with a NUL character)'), { code: '22021' });
    // The text pg would have sent as a parameter (a Buffer as bytea's hex form), quoted: of unknown type,
    // so the server gives it the type the context asks for, as it does a parameter.
    const text = Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : prepareValue(value);
    return pgLibrary().escapeLiteral(text);
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
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== FENCED) return error;
  const found = typeof message === 'string' ? /fenced at epoch (\d+)/.exec(message) : null;
  return new FencedError(epoch, found ? Number(found[1]) : 0);
}

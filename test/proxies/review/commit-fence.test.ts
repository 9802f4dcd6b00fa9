// With no epoch row, every dialect refuses to commit as fenced (review of issue 12).
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore, FencedError, type DatabaseRecord } from '../../../proxies/database/store.js';
import { openScratchDatabase, type ScratchDatabase } from '../../support/databases.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});
let seq = 0;
const rec = (sql: string, ...bindings: unknown[]): DatabaseRecord => ({ key: `m${++seq}`, replies: [], seq: ++seq, statements: [{ sql, parts: sql.split('?'), bindings }] });

describe.each(['sqlite', 'postgres', 'mysql'] as const)('%s', (dialect) => {
  it('with no epoch row, a commit is refused as fenced', async () => {
    db = await openScratchDatabase(dialect);
    const store = DatabaseStore.over(db.knex, dialect);
    await store.ensureSystemTables();
    await db.knex.raw('CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)');
    await db.knex.raw("DELETE FROM durable_meta WHERE name = 'epoch'");
    await expect(store.commit(7, [rec('INSERT INTO t (id, s) VALUES (1, ?)', 'x')])).rejects.toBeInstanceOf(FencedError);
  });
});

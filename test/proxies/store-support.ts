// What the database store's tests share: a record of SQL statements as the database proxy makes them, an
// `items` table to write, and a store over a scratch database holding it.
import type { Dialect } from '../../mappings/index.js';
import { DatabaseStore, type DatabaseRecord } from '../../proxies/database/store.js';
import { openScratchDatabase, type ScratchDatabase } from '../support/databases.js';

let seq = 0;

/** A record of `statements`, each SQL text with `?` where a value is bound. */
export function groupRecord(statements: [string, ...unknown[]][], key = `k${++seq}`): DatabaseRecord {
  return {
    key,
    replies: [{ key, reply: `{"reply":"${key}"}` }],
    seq: ++seq,
    statements: statements.map(([sql, ...bindings]) => ({ sql, parts: sql.split('?'), bindings })),
  };
}

export const insertItem = (id: number, label = `item ${id}`, n = 1): [string, ...unknown[]] => ['INSERT INTO items (id, label, n) VALUES (?, ?, ?)', id, label, n];

/** A store over a scratch database with its system tables and `items` (unique labels, n ≥ 0). */
export async function openItemsStore(dialect: Dialect): Promise<{ store: DatabaseStore; db: ScratchDatabase }> {
  const db = await openScratchDatabase(dialect);
  const store = DatabaseStore.over(db.knex, dialect);
  await store.ensureSystemTables();
  await db.knex.raw('CREATE TABLE items (id INTEGER PRIMARY KEY, label VARCHAR(200) NOT NULL UNIQUE, n INTEGER NOT NULL CHECK (n >= 0))');
  return { store, db };
}

export async function itemIds(db: ScratchDatabase): Promise<number[]> {
  return (await db.rows('SELECT id FROM items ORDER BY id')).map((r) => Number(r.id));
}

// The literal commit path of PostgreSQL and MariaDB against what parameter binding did, from an adversarial
// review (issue 12): a client value that looks like the fence message, a NUL, a statement ending in a comment,
// a statement opening a transaction, a MariaDB session with NO_BACKSLASH_ESCAPES (no injection), and a
// fenced MariaDB node with a statement that commits implicitly (writes nothing: the epoch is checked first).
import knexFactory from 'knex';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore, FencedError, isStatementRejection } from '../../../proxies/database/store.js';
import { knexConfig } from '../../../proxies/database/store.js';
import type { Dialect } from '../../../mappings/index.js';
import { MYSQL_URL, type ScratchDatabase } from '../../support/databases.js';
import { groupRecord, insertItem, itemIds, openItemsStore } from '../store-support.js';

let db: ScratchDatabase | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await db?.dispose();
  db = undefined;
  for (const c of cleanups.splice(0)) await c();
});

async function open(dialect: Dialect): Promise<DatabaseStore> {
  const opened = await openItemsStore(dialect);
  db = opened.db;
  return opened.store;
}
const ids = () => itemIds(db!);

describe('PostgreSQL literal path', () => {
  it('a value reading like the fence message is a refusal of its record, not a fence', async () => {
    const store = await open('postgres');
    const epoch = await store.epoch();
    // Parameter binding: the database refuses the statement (22P02), a refusal of this record only.
    const bound = await db!.knex.raw('UPDATE items SET n = ? WHERE id = 1', ['durable: fenced at epoch 99']).catch((e: Error) => e);
    expect(isStatementRejection(bound)).toBe(true);
    // The store: record 1 should commit, record 2 be refused. Instead the node is told it is fenced.
    const outcome = await store.commit(epoch, [groupRecord([insertItem(1)]), groupRecord([['UPDATE items SET n = ? WHERE id = 1', 'durable: fenced at epoch 99']])]).catch((e: Error) => e);
    expect(outcome).not.toBeInstanceOf(FencedError);
    expect(outcome).toMatchObject({ committed: 1 });
  });

  it('a NUL in a string is a refusal of its record alone, as bound', async () => {
    const store = await open('postgres');
    const epoch = await store.epoch();
    const bound = await db!.knex.raw('INSERT INTO items (id, label, n) VALUES (?, ?, ?)', [50, 'a\u0000b', 1]).catch((e: Error) => e);
    expect(isStatementRejection(bound)).toBe(true); // 22021
    const outcome = await store.commit(epoch, [groupRecord([insertItem(1)]), groupRecord([insertItem(2, 'a\u0000b')]), groupRecord([insertItem(3)])]).catch((e: Error & { code?: string }) => e);
    expect(outcome).toMatchObject({ committed: 1 });
  });

  it('a statement opening a transaction cannot leave the group uncommitted (the script ends with COMMIT)', async () => {
    const store = await open('postgres');
    const epoch = await store.epoch();
    const result = await store.commit(epoch, [groupRecord([['BEGIN'], insertItem(1)])]);
    expect(result).toEqual({ committed: 1 });
    // Read on another connection: the reported-committed row should be there.
    const other = knexFactory({ ...knexConfig('postgres://postgres@127.0.0.1:5432/test').config, pool: { min: 0, max: 1 } });
    try {
      const schema = (db!.knex.client.config as { searchPath: string[] }).searchPath[0];
      const rows = (await other.raw(`SELECT count(*)::int AS c FROM ${schema}.items`)).rows as { c: number }[];
      expect(rows[0]!.c).toBe(1);
    } finally {
      await other.destroy();
    }
  });
});

describe.each(['postgres', 'mysql'] as const)('%s: statement ending in a comment', (dialect) => {
  it('a statement with a trailing -- comment commits, as it does bound', async () => {
    const store = await open(dialect);
    const epoch = await store.epoch();
    const sql = 'INSERT INTO items (id, label, n) VALUES (?, ?, ?) -- a new item';
    await db!.knex.raw(sql, [100, 'bound', 1]); // binding: fine
    const result = await store.commit(epoch, [groupRecord([[sql, 1, 'x', 1]])]);
    expect(result).toEqual({ committed: 1 });
  });
});

describe('MariaDB literal path', () => {
  it('under NO_BACKSLASH_ESCAPES a value stays a value (the session mode is taken out)', async () => {
    const name = `review_${randomBytes(4).toString('hex')}`;
    const admin = knexFactory({ client: 'mysql2', connection: MYSQL_URL });
    await admin.raw(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.raw(`DROP DATABASE ${name}`);
      await admin.destroy();
    });
    const url = new URL(MYSQL_URL);
    url.pathname = `/${name}`;
    const base = knexConfig(url.toString()).config;
    const knex = knexFactory({
      ...base,
      pool: {
        ...(base.pool as object),
        afterCreate: (conn: { query(s: string, cb: (e: Error | null) => void): void }, done: (e: Error | null, c: unknown) => void) =>
          conn.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')", (e) => done(e, conn)),
      },
    });
    cleanups.unshift(() => knex.destroy());
    const store = DatabaseStore.over(knex, 'mysql');
    await store.ensureSystemTables();
    await knex.raw('CREATE TABLE items (id INTEGER PRIMARY KEY, label VARCHAR(200) NOT NULL, n INTEGER NOT NULL)');
    await knex.raw("INSERT INTO items VALUES (7, 'keep me', 1)");
    const epoch = await store.epoch();
    // mysql2 escapes ' as \' ; under NO_BACKSLASH_ESCAPES the backslash is a plain character and the quote ends the literal.
    const evil = "x', 1), (2, 0x70776e6564, 1); DELETE FROM items WHERE id = 7; -- ";
    const result = await store.commit(epoch, [groupRecord([insertItem(1, evil)])]).catch((e: Error) => e);
    const rows = (await knex.raw('SELECT id, label FROM items ORDER BY id'))[0] as { id: number; label: string }[];
    expect(rows).toEqual([
      { id: 1, label: evil },
      { id: 7, label: 'keep me' },
    ]);
    expect(result).toEqual({ committed: 1 });
  });

  it('a fenced node writes nothing, even with a statement that commits implicitly (the epoch is checked first)', async () => {
    const store = await open('mysql');
    const epoch = await store.epoch();
    await db!.knex.raw("INSERT INTO items VALUES (7, 'keep me', 1)");
    await store.commit(epoch, [groupRecord([insertItem(1)])], { markEpoch: true });
    expect(await store.claimEpoch(epoch + 1)).toEqual({ kind: 'claimed' }); // another node took over
    const group = [groupRecord([insertItem(2)]), groupRecord([['TRUNCATE TABLE items'], insertItem(3)])];
    await expect(store.commit(epoch, group)).rejects.toBeInstanceOf(FencedError);
    // A fenced node must write nothing: neither rows nor decision records.
    const written = { ids: await ids(), decided: [...(await store.decided(group.map((r) => r.key))).keys()] };
    expect(written).toEqual({ ids: [1, 7], decided: [] });
  });
});

// The database store's commit path on SQLite, PostgreSQL and MariaDB, for real (proxies/database/*-store.ts):
// - values written into a group's text land exactly as the driver's own parameter binding puts them,
//   whatever the string holds (quotes, backslashes, `?`, `$1`, comment and statement separators);
// - a refused statement commits the records before its record and nothing of the rest;
// - a fenced node writes nothing, on the fast path and on the savepoint path;
// - a connection killed at any point inside a group (the database server ends it, as a crash of either
//   side does) leaves nothing of that group, and the store goes on on a fresh connection.
// SQLite's crash is the process's own SIGKILL in the middle of its synchronous run: test/proxies/store-crash.test.ts.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type DatabaseStore, FencedError, isStatementRejection, type DatabaseRecord } from '../../proxies/database/store.js';
import { fromColumn, toBindable } from '../../proxies/database/values.js';
import type { Dialect } from '../../mappings/index.js';
import { DIALECTS_UNDER_TEST, optedOut, type ScratchDatabase } from '../support/databases.js';
import { groupRecord, insertItem, itemIds, openItemsStore } from './store-support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

async function open(dialect: Dialect): Promise<DatabaseStore> {
  const opened = await openItemsStore(dialect);
  db = opened.db;
  return opened.store;
}
const ids = () => itemIds(db!);
const requestKeys = async () => (await db!.rows('SELECT request_key FROM durable_requests ORDER BY seq')).map((r) => String(r.request_key));

describe.each(DIALECTS_UNDER_TEST)('a group commit on %s', (dialect) => {
  it.skipIf(optedOut(dialect))('writes values exactly as parameter binding does, whatever the text holds', async () => {
    const store = await open(dialect);
    const [blob, bool, big, stamp, json] =
      dialect === 'postgres'
        ? ['BYTEA', 'BOOLEAN', 'BIGINT', 'TIMESTAMPTZ', 'TEXT']
        : dialect === 'mysql'
          ? ['LONGBLOB', 'BOOLEAN', 'BIGINT', 'DATETIME(3)', 'LONGTEXT']
          : ['BLOB', 'INTEGER', 'INTEGER', 'INTEGER', 'TEXT'];
    for (const table of ['bound', 'scripted']) {
      await db!.knex.raw(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, s ${json}, f DOUBLE PRECISION, b ${bool}, g ${big}, d ${stamp}, x ${blob}, o ${json})`);
    }
    const text = fc
      .oneof(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.constantFrom("'", "''", '\\', "\\'", "'); DROP TABLE items; --", '?', '??', '$1', '$$', '/*', '*/', '--', ';', "E'x'", '\n', '\u00e9\u0301', '😀', ' '.repeat(3)),
        fc.array(fc.constantFrom("'", '\\', '?', '$', ';', '-', '/', '*', '"', '`', 'a'), { maxLength: 12 }).map((cs) => cs.join('')),
      )
      .filter((s) => !s.includes('\u0000')); // PostgreSQL text cannot hold NUL, bound or written in
    const row = fc.record({
      s: text,
      f: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }), fc.integer()),
      b: fc.boolean(),
      g: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
      d: fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
      x: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
      o: fc.option(
        fc.jsonValue({ maxDepth: 2 }).map((v) => ({ v })),
        { nil: null },
      ),
    });
    const rows = fc.sample(row, { numRuns: 60, seed: 42 });
    const columns = ['s', 'f', 'b', 'g', 'd', 'x', 'o'] as const;
    const sql = (table: string) => `INSERT INTO ${table} (id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`;
    const records: DatabaseRecord[] = [];
    for (const [i, r] of rows.entries()) {
      const values = [i, ...columns.map((c) => toBindable(r[c], dialect))];
      await db!.knex.raw(sql('bound'), values as never[]);
      records.push(groupRecord([[sql('scripted'), ...values]]));
    }
    expect(await store.commit(await store.epoch(), records)).toEqual({ committed: records.length });
    const read = (table: string) => db!.rows(`SELECT * FROM ${table} ORDER BY id`);
    const [bound, scripted] = [await read('bound'), await read('scripted')];
    expect(scripted).toHaveLength(rows.length);
    expect(scripted).toEqual(bound);
    const items = await ids();
    expect(items).toEqual([]); // nothing ran that the values held
  });

  it.skipIf(optedOut(dialect))('stores a boolean in a BOOLEAN, an integer or a text column alike, and reads it back as the boolean', async () => {
    const store = await open(dialect);
    const boolean = dialect === 'sqlite' ? 'INTEGER' : 'BOOLEAN';
    await db!.knex.raw(`CREATE TABLE flags (id INTEGER PRIMARY KEY, b ${boolean}, i INTEGER, n SMALLINT, t VARCHAR(10))`);
    const records = [true, false].map((flag, id) => groupRecord([['INSERT INTO flags (id, b, i, n, t) VALUES (?, ?, ?, ?, ?)', id, ...Array(4).fill(toBindable(flag, dialect))]]));
    expect(await store.commit(await store.epoch(), records)).toEqual({ committed: 2 });
    const rows = await db!.rows('SELECT b, i, n, t FROM flags ORDER BY id');
    const back = rows.map((row) => Object.entries(row).map(([column, value]) => fromColumn(value, { kind: 'boolean' }, column, 'flags')));
    expect(back).toEqual([
      [true, true, true, true],
      [false, false, false, false],
    ]);
  });

  it.skipIf(optedOut(dialect))('commits the records before a refused statement, and nothing of the rest', async () => {
    const store = await open(dialect);
    const epoch = await store.epoch();
    const group = [groupRecord([insertItem(1)]), groupRecord([insertItem(2), insertItem(3)]), groupRecord([insertItem(4), insertItem(5, 'item 1')]), groupRecord([insertItem(6)])];
    const result = await store.commit(epoch, group);
    expect(result.committed).toBe(2);
    expect(isStatementRejection(result.failure)).toBe(true);
    expect(await ids()).toEqual([1, 2, 3]);
    expect(await requestKeys()).toEqual([group[0]!.key, group[1]!.key]);

    // A refusal in the first record: nothing; then a check constraint in the last of a later group.
    expect((await store.commit(epoch, [groupRecord([insertItem(7, 'item 2')]), groupRecord([insertItem(8)])])).committed).toBe(0);
    expect((await store.commit(epoch, [groupRecord([insertItem(9)]), groupRecord([insertItem(10, 'ten', -1)])])).committed).toBe(1);
    expect(await ids()).toEqual([1, 2, 3, 9]);
    // And the store goes on.
    expect(await store.commit(epoch, [groupRecord([insertItem(11)])])).toEqual({ committed: 1 });
    expect(await ids()).toEqual([1, 2, 3, 9, 11]);
  });

  it.skipIf(optedOut(dialect))('writes nothing once fenced, on the fast path and on the savepoint path', async () => {
    const store = await open(dialect);
    const epoch = await store.epoch();
    await store.commit(epoch, [groupRecord([insertItem(1)])], { markEpoch: true });
    expect(await store.claimEpoch(epoch + 1)).toEqual({ kind: 'claimed' });
    const fenced = store.commit(epoch, [groupRecord([insertItem(2)])]);
    await expect(fenced).rejects.toBeInstanceOf(FencedError);
    await expect(fenced).rejects.toMatchObject({ epoch, current: epoch + 1 });
    // A group with a refused statement would go to the savepoint path: fenced there too, before anything.
    await expect(store.commit(epoch, [groupRecord([insertItem(3)]), groupRecord([insertItem(4, 'item 1')])])).rejects.toBeInstanceOf(FencedError);
    expect(await ids()).toEqual([1]);
    expect(await store.commit(epoch + 1, [groupRecord([insertItem(5)])], { markEpoch: true })).toEqual({ committed: 1 });
    expect(await ids()).toEqual([1, 5]);
  });
});

// A server ends a connection; SQLite has none (its crash is the process's: store-crash.test.ts).
describe.each(DIALECTS_UNDER_TEST.filter((d) => d !== 'sqlite'))('a group commit on %s, its connection ended', (dialect) => {
  const killer = dialect === 'postgres' ? 'SELECT pg_terminate_backend(pg_backend_pid())' : 'KILL CONNECTION_ID()';
  it.skipIf(optedOut(dialect))('leaves nothing of a group whose connection dies inside it, and goes on', async () => {
    const store = await open(dialect);
    const epoch = await store.epoch();
    // The server ends the connection where the group says: in its first, a middle or its last record.
    const die = (): [string] => [killer];
    const groups = [
      [groupRecord([die()]), groupRecord([insertItem(1)])],
      [groupRecord([insertItem(2)]), groupRecord([insertItem(3), die()]), groupRecord([insertItem(4)])],
      [groupRecord([insertItem(5)]), groupRecord([insertItem(6), die()])],
    ];
    for (const group of groups) await expectNothingOf(store, epoch, group);
    expect(await store.commit(epoch, [groupRecord([insertItem(12)])])).toEqual({ committed: 1 });
    expect(await ids()).toEqual([12]);
  });

  it.skipIf(optedOut(dialect))('leaves nothing of a group whose connection dies between any two of its round trips', async () => {
    const store = await open(dialect);
    const epoch = await store.epoch();
    // A group that takes the savepoint path (its third record is refused): each round trip of it, and
    // of the fast attempt before it, is preceded once by the server ending the connection.
    const group = () => [groupRecord([insertItem(1)]), groupRecord([insertItem(2)]), groupRecord([insertItem(3, 'item 1')]), groupRecord([insertItem(4)])];
    const dialectStore = (store as unknown as { dialectStore: { run(connection: object, statements: string[]): Promise<unknown[]> } }).dialectStore;
    const run = dialectStore.run.bind(dialectStore);
    let steps = 0;
    dialectStore.run = async (connection, statements) => {
      steps++;
      return run(connection, statements);
    };
    expect((await store.commit(epoch, group())).committed).toBe(2);
    const roundTrips = steps;
    await db!.knex.raw('DELETE FROM items');
    await db!.knex.raw('DELETE FROM durable_requests');
    let failures = 0;
    for (let cut = 1; cut <= roundTrips; cut++) {
      let step = 0;
      dialectStore.run = async (connection, statements) => {
        if (++step === cut) await endFromOutside(connection);
        return run(connection, statements);
      };
      // Either the group fails and nothing of it is kept, or (a cut that only cost a connection the
      // store could do without, such as one whose transaction had already ended) it commits as before.
      const why = `cut before round trip ${cut} of ${roundTrips}`;
      const attempt = group();
      const outcome = await store.commit(epoch, attempt).catch((error: Error) => error);
      if (outcome instanceof Error) {
        expect(isStatementRejection(outcome), why).toBe(false);
        expect(new Set((await store.decided(attempt.map((r) => r.key))).keys()), why).toEqual(new Set());
        expect(await ids(), why).toEqual([]);
      } else {
        expect(outcome.committed, why).toBe(2);
        expect(new Set((await store.decided(attempt.map((r) => r.key))).keys()), why).toEqual(new Set([attempt[0]!.key, attempt[1]!.key]));
        expect(await ids(), why).toEqual([1, 2]);
        await db!.knex.raw('DELETE FROM items');
      }
      failures += outcome instanceof Error ? 1 : 0;
    }
    // Every cut inside a transaction of the savepoint path failed the group.
    expect(failures).toBeGreaterThanOrEqual(roundTrips - 2);
    dialectStore.run = run;
    expect((await store.commit(epoch, group())).committed).toBe(2);
    expect(await ids()).toEqual([1, 2]);
  });
});

/** The group fails with an error that is not the database's verdict on a statement, and nothing of it was kept. */
async function expectNothingOf(store: DatabaseStore, epoch: number, group: DatabaseRecord[], why = JSON.stringify(group.map((r) => r.statements.map((s) => s.sql)))): Promise<void> {
  const outcome = await store.commit(epoch, group).then(
    (result) => ({ committed: result.committed }),
    (error: Error) => ({ error }),
  );
  expect(outcome, why).toHaveProperty('error');
  expect(isStatementRejection((outcome as { error: Error }).error), why).toBe(false);
  expect(new Set((await store.decided(group.map((r) => r.key))).keys()), why).toEqual(new Set());
  expect(await ids(), why).toEqual([]);
}

/** The server ends this connection (as when either side crashes), through another connection. */
async function endFromOutside(connection: object): Promise<void> {
  const { processID, threadId } = connection as { processID?: number; threadId?: number };
  if (db!.dialect === 'postgres') await db!.knex.raw('SELECT pg_terminate_backend(?)', [processID!]);
  else await db!.knex.raw(`KILL CONNECTION ${Number(threadId)}`);
}

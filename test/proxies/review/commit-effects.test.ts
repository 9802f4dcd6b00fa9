// What a client value could do to a running primary through the literal path, from the review of issue 12:
// a value reading like the fence message, or holding a NUL, fails its own request alone; a MariaDB group
// larger than max_allowed_packet commits (sent in pieces).
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore, type DatabaseRecord } from '../../../proxies/database/store.js';
import { openScratchDatabase, type ScratchDatabase } from '../../support/databases.js';
import { cluster, type Ledger } from '../support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

/** A primary (with a backup) whose ledger is on a scratch PostgreSQL database, and a way to send it repeatable requests. */
async function primaryOnPostgres() {
  db = await openScratchDatabase('postgres');
  const { primary } = await cluster(DatabaseStore.over(db.knex, 'postgres'));
  const ledger = () => primary.object<Ledger>('ledger');
  const request = (id: string, body: () => unknown) => primary.execute({ method: id, requestId: id, touches: ['ledger'], repeatable: true }, body);
  return { ledger, request };
}

describe('PostgreSQL primary', () => {
  it('a request whose value reads like the fence message fails alone; the primary goes on', async () => {
    const { ledger, request } = await primaryOnPostgres();
    const outcomes = await Promise.all([
      request('a', () => ledger().insertBill('alice', 1)),
      // balance is INTEGER: the database refuses this value (22P02), which should fail this request alone (422).
      request('b', () => ledger().insertBill('mallory', 'durable: fenced at epoch 99' as unknown as number)),
      request('c', () => ledger().insertBill('carol', 3)),
    ]);
    const later = await request('d', () => ledger().insertBill('dave', 4));
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'service-error', 'ok']);
    expect(later.kind).toBe('ok');
  });

  it('a request with a NUL in a string fails alone (as bound: 22021); the others commit', async () => {
    const { ledger, request } = await primaryOnPostgres();
    const outcomes = await Promise.all([
      request('a', () => ledger().insertBill('alice', 1)),
      request('b', () => ledger().insertBill('mal\u0000lory', 2)),
      request('c', () => ledger().insertBill('carol', 3)),
    ]);
    // Bound (the old path): b is refused alone (22021), a and c commit.
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'service-error', 'ok']);
  });
});

describe('MariaDB store', () => {
  it('a group bigger than max_allowed_packet commits (sent in pieces within its transaction)', async () => {
    db = await openScratchDatabase('mysql');
    const store = DatabaseStore.over(db.knex, 'mysql');
    await store.ensureSystemTables();
    await db.knex.raw('CREATE TABLE docs (id INTEGER PRIMARY KEY, body LONGTEXT NOT NULL)');
    const big = 'x'.repeat(6 * 1024 * 1024);
    let seq = 0;
    const rec = (id: number): DatabaseRecord => ({
      key: `k${id}`,
      replies: [],
      seq: ++seq,
      statements: [{ sql: 'INSERT INTO docs (id, body) VALUES (?, ?)', parts: ['INSERT INTO docs (id, body) VALUES (', ', ', ')'], bindings: [id, big] }],
    });
    const epoch = await store.epoch();
    expect(await store.commit(epoch, [rec(1)])).toEqual({ committed: 1 }); // alone: fine
    const outcome = await store.commit(epoch, [rec(2), rec(3), rec(4)]).catch((e: Error & { code?: string }) => ({ error: `${e.code}: ${e.message}` }));
    expect(outcome).toEqual({ committed: 3 });
  });
});

// One request of a group refused by the database (issue 12), on SQLite, PostgreSQL and MariaDB: the
// requests before it commit, it fails, and those after it, which ran on top of its changes, run again
// without them and commit, as if it had never run. Memory, the backup and the database agree after.
// A request that cannot run again (a transaction's commit; a body not marked repeatable) fails with a
// retryable answer instead.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { cluster, stateOf, type Ledger } from './support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

describe.each(DIALECTS_UNDER_TEST)('a request refused in the middle of a group on %s', (dialect) => {
  it.skipIf(optedOut(dialect))('fails alone: those before it commit, those after it run again and commit', async () => {
    db = await openScratchDatabase(dialect);
    const store = DatabaseStore.over(db.knex, dialect);
    const { primary, backups } = await cluster(store);
    const ledger = () => primary.object<Ledger>('ledger');
    await db.knex.raw(`INSERT INTO bills (client_id, balance) VALUES ('carol', 1)`); // behind the service's back

    const runs = new Map<string, number>();
    const request = (id: string, body: () => unknown, repeatable = true) =>
      primary.execute({ method: id, requestId: id, touches: ['ledger'], repeatable }, () => {
        runs.set(id, (runs.get(id) ?? 0) + 1);
        return body();
      });
    // Sent together: the first commits alone, the others queue behind it and commit as one group.
    const outcomes = await Promise.all([
      request('r1', () => ledger().insertBill('alice', 1)),
      request('r2', () => ledger().insertBill('bob', 2)),
      request('r3', () => ledger().insertBill('carol', 3)), // refused: carol's row exists
      request('r4', () => {
        // Reads what the requests before it left: on its second run, without r3's change.
        ledger().setBill('alice', ledger().getBill('alice')! + 10);
        return ledger().getBill('carol') ?? 'no carol';
      }),
      request('r5', () => ledger().insertBill('dave', 4)),
      request('r6', () => ledger().insertBill('erin', 5), false),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'service-error', 'ok', 'ok', 'unavailable']);
    expect(outcomes[2]).toMatchObject({ message: expect.stringContaining('refused') });
    expect(outcomes[3]).toMatchObject({ result: 'no carol' });
    expect(outcomes[5]).toMatchObject({ message: expect.stringContaining('Retry with the same request id') });
    // r4 and r5 ran on top of r3 and ran again; r1 and r2 once.
    expect(Object.fromEntries(runs)).toEqual({ r1: 1, r2: 1, r3: 1, r4: 2, r5: 2, r6: 1 });

    const expected = { alice: 11, bob: 2, dave: 4 };
    expect(stateOf(primary).ledger).toEqual(expected);
    const rows = await db.rows('SELECT client_id, balance FROM bills ORDER BY client_id');
    expect(Object.fromEntries(rows.map((r) => [r.client_id, Number(r.balance)]))).toEqual({ ...expected, carol: 1 });

    // The retryable one, retried, commits; a retry of a re-run one answers as it did.
    expect(await request('r6', () => ledger().insertBill('erin', 5))).toMatchObject({ kind: 'ok' });
    expect(await request('r4', () => 'ran a third time')).toEqual(outcomes[3]);
    expect(runs.get('r4')).toBe(2);

    // A backup that takes over holds exactly what committed (and, read from the database, carol's row).
    await backups[0]!.promote();
    expect(stateOf(backups[0]!).ledger).toEqual({ ...expected, erin: 5, carol: 1 });
  });
});

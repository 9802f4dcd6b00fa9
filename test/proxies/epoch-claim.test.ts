// The takeover's one step in the database, on SQLite, PostgreSQL and MariaDB: a backup claims the next
// epoch only if nothing was committed that it does not hold (no record beyond its last, no commit of an
// epoch after the one it followed); otherwise nothing is claimed and the primary goes on.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

const record = (seq: number) => ({ key: `r${seq}`, replies: [{ key: `r${seq}`, reply: '1' }], seq, statements: [] });

describe.each(DIALECTS_UNDER_TEST)('claiming an epoch on %s', (dialect) => {
  it.skipIf(optedOut(dialect))('claims only what the promoting backup holds, and only once', async () => {
    db = await openScratchDatabase(dialect);
    const store = DatabaseStore.over(db.knex, dialect);
    await store.ensureSystemTables();
    expect(await store.claimEpoch(2)).toEqual({ kind: 'claimed' }); // a primary starting
    await store.commit(2, [record(1), record(2), record(3)], { markEpoch: true });

    // A backup that missed record 3 (the primary went on without it) claims nothing: the primary goes on.
    expect(await store.claimEpoch(3, { held: 2, followed: 2 })).toEqual({ kind: 'behind', committedSeq: 3, committedEpoch: 2 });
    expect(await store.epoch()).toBe(2);
    await store.commit(2, [record(4)]);

    // One that holds everything claims it; the old primary is fenced; a second claim of it is refused.
    expect(await store.claimEpoch(3, { held: 4, followed: 2 })).toEqual({ kind: 'claimed' });
    await expect(store.commit(2, [record(5)])).rejects.toThrow(/epoch 2 is stale/);
    expect(await store.claimEpoch(3, { held: 9, followed: 2 })).toEqual({ kind: 'taken' });

    // Once the new primary has committed, a backup that followed the old one is behind, whatever it holds.
    await store.commit(3, [record(5)], { markEpoch: true });
    expect(await store.claimEpoch(4, { held: 99, followed: 2 })).toEqual({ kind: 'behind', committedSeq: 5, committedEpoch: 3 });
    expect(await store.claimEpoch(4, { held: 5, followed: 3 })).toEqual({ kind: 'claimed' });
  });
});

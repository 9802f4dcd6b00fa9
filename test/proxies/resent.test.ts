// A retry's reply-only record (a withheld request's, `resent`) in a group with database records, on the
// three databases, and a backup that takes that group from durable_log.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { Bank, cluster, crashAt, rejoin, stateOf, refuseNextBatch } from './support.js';

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.runIf(!optedOut(dialect))(`reply-only record on ${dialect}`, () => {
    let db: ScratchDatabase | undefined;
    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });

    it('a promoting backup that never received the [retry, db request] group takes it from the log; nothing runs twice', async () => {
      db = await openScratchDatabase(dialect);
      const store = DatabaseStore.over(db.knex, dialect);
      const { primary, backups, bank, link } = await cluster(store, 1, 1);
      expect(await bank.charge('alice', 5)).toMatchObject({ kind: 'ok' });
      refuseNextBatch(backups[0]!);
      expect(await bank.charge('alice', 7, { id: 'w' })).toMatchObject({ kind: 'unavailable' });
      rejoin(primary, backups[0]!, link);
      // The retry and a database request share a group; the primary dies after the database commit,
      // before the batch reached any backup.
      const repair = crashAt('after the database commit, before the backups received it', link, store);
      const [retry, other] = await Promise.all([bank.charge('alice', 7, { id: 'w' }), bank.charge('bob', 1, { id: 'b' })]);
      repair();
      expect(retry.kind).not.toBe('ok');
      expect(other.kind).not.toBe('ok');
      const logged = await db.rows('SELECT seq FROM durable_log ORDER BY seq');
      // The group it never received is in the log: it holds all that was committed, and may be named primary.
      expect(await backups[0]!.holdsAllCommitted()).toBe(true);
      await backups[0]!.promote();
      const promoted = new Bank(backups[0]!);
      expect(await promoted.charge('alice', 7, { id: 'w' })).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
      expect(await promoted.charge('bob', 1, { id: 'b' })).toEqual({ kind: 'ok', result: { count: 3, balance: 1 } });
      expect({ state: stateOf(backups[0]!), logged: logged.length }).toMatchObject({ state: { counter: 3, ledger: { alice: 12, bob: 1 } } });
      expect(await promoted.bump()).toEqual({ kind: 'ok', result: 4 });
    });

    it('a backup asks the database whether it holds everything committed before an authority would make it primary', async () => {
      db = await openScratchDatabase(dialect);
      const store = DatabaseStore.over(db.knex, dialect);
      const { backups, bank } = await cluster(store, 1, 1);
      expect(await bank.charge('alice', 5, { id: 'first' })).toMatchObject({ kind: 'ok' });
      expect(await backups[0]!.holdsAllCommitted()).toBe(true);
      // A record the database committed that reached this backup by no way (a primary that went on without it).
      const [{ top }] = (await db.rows('SELECT MAX(seq) AS top FROM durable_requests')) as [{ top: number }];
      await db.knex('durable_requests').insert({ request_key: 'elsewhere', reply: '{}', seq: Number(top) + 3 });
      expect(await backups[0]!.holdsAllCommitted()).toBe(false);
    });
  });
}

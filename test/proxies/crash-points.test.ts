// A crash at every step between a request's execution and its reply, on a request that touches a
// replicated object and a database object: after a backup takes over, the request is there in full
// (in memory, on the backup, in the database) or not at all, and a retry with the same id gives the
// same answer as the first execution would have.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { Bank, CRASH_POINTS, cluster, crashAt, stateOf, survives } from './support.js';

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.runIf(!optedOut(dialect))(`a crash at each step of a commit on ${dialect}`, () => {
    let db: ScratchDatabase | undefined;
    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });

    it.each(CRASH_POINTS)('%s: all or nothing after failover, and a retry answers consistently', async (point) => {
      db = await openScratchDatabase(dialect);
      const store = DatabaseStore.over(db.knex, dialect);
      const { primary, backups, bank, link } = await cluster(store);
      await bank.charge('alice', 5, { id: 'r1' });
      const before = stateOf(primary);

      const repair = crashAt(point, link, store);
      await bank.charge('alice', 7, { id: 'r2' }); // its reply never reaches the client
      repair();

      const promoted = backups[0]!;
      await promoted.promote();
      const after = stateOf(promoted);
      const bills = (await db.rows('SELECT balance FROM bills WHERE client_id = ?', ['alice'])).map((r) => Number(r.balance));
      const committed = after.counter === before.counter + 1;
      if (committed) {
        expect(after).toEqual({ counter: 2, log: [...before.log, { at: 1, text: 'alice+7' }], ledger: { alice: 12 } });
        expect(bills).toEqual([12]);
      } else {
        expect(after).toEqual(before);
        expect(bills).toEqual([5]);
      }
      expect(committed).toBe(survives(point));

      // The client retries r2 on the new primary: executed exactly once either way.
      const retry = await new Bank(promoted).charge('alice', 7, { id: 'r2' });
      expect(retry).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
      expect(stateOf(promoted).counter).toBe(2);
    });
  });
}

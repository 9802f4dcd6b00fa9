// A crash at every step between a request's execution and its reply, on a request that touches a
// replicated object and a database object: after a backup takes over, the request is there in full
// (in memory, on the backup, in the database) or not at all, and a retry with the same id gives the
// same answer as the first execution would have.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import type { ReplicationBatch } from '../../proxies/replication/link.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { Bank, cluster, stateOf } from './support.js';

class Crash extends Error {}

type CrashPoint = 'before shipping' | 'after shipping, before the database commit' | 'after the database commit, unacknowledged' | 'after the database commit, undecided' | 'after everything, before the reply';
const POINTS: CrashPoint[] = [
  'before shipping',
  'after shipping, before the database commit',
  'after the database commit, unacknowledged',
  'after the database commit, undecided',
  'after everything, before the reply',
];

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.runIf(!optedOut(dialect))(`a crash at each step of a commit on ${dialect}`, () => {
    let db: ScratchDatabase | undefined;
    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });

    it.each(POINTS)('%s: all or nothing after failover, and a retry answers consistently', async (point) => {
      db = await openScratchDatabase(dialect);
      const store = DatabaseStore.over(db.knex, dialect);
      const { primary, backups, bank, link } = await cluster(store);
      await bank.charge('alice', 5, { id: 'r1' });
      const before = stateOf(primary);

      // The old primary's view of the world after the crash point: it stops acting there.
      const replicate = link.replicate.bind(link);
      const commit = store.commit.bind(store);
      link.replicate = async (batch: ReplicationBatch, wait: boolean) => {
        if (point === 'before shipping') throw new Crash('crashed');
        return replicate(batch, wait);
      };
      store.commit = async (epoch, records) => {
        if (point === 'after shipping, before the database commit') throw new Crash('crashed');
        const result = await commit(epoch, records);
        if (point === 'after the database commit, unacknowledged') throw new Crash('crashed');
        return result;
      };
      // A dead primary tells nobody anything.
      link.dropDecisions = point !== 'after everything, before the reply';
      store.decided = async () => {
        throw new Crash('crashed');
      };

      await bank.charge('alice', 7, { id: 'r2' }); // its reply never reaches the client
      store.commit = commit;
      delete (store as Partial<DatabaseStore>).decided;

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
      const shouldCommit = point === 'after the database commit, unacknowledged' || point === 'after the database commit, undecided' || point === 'after everything, before the reply';
      expect(committed).toBe(shouldCommit);

      // The client retries r2 on the new primary: executed exactly once either way.
      const retry = await new Bank(promoted).charge('alice', 7, { id: 'r2' });
      expect(retry).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
      expect(stateOf(promoted).counter).toBe(2);
    });
  });
}

import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../../proxies/database/store.js';
import { openScratchDatabase, type ScratchDatabase } from '../../support/databases.js';
import { cluster, stateOf, type Ledger } from '../support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});
async function open(d: 'sqlite' | 'postgres' | 'mysql' = 'sqlite') {
  db = await openScratchDatabase(d);
  return DatabaseStore.over(db.knex, d);
}
const bills = async () => (await db!.rows('SELECT client_id, balance FROM bills ORDER BY client_id')).map((r) => [r.client_id, Number(r.balance)]);

describe('transactions running on top of a request the database later refuses', () => {
  for (const end of ['commit', 'abort'] as const) {
    it(`tx ${end}: a transaction that read a refused request is aborted, and memory and database agree`, async () => {
      const store = await open();
      const { primary } = await cluster(store);
      const ledger = () => primary.object<Ledger>('ledger');
      await primary.execute({ method: 'ins', touches: ['ledger'] }, () => ledger().insertBill('alice', 1));
      await db!.knex.raw(`INSERT INTO bills (client_id, balance) VALUES ('carol', 1)`); // behind the service's back
      // X: the database will refuse it (carol exists). Not awaited: its commit is in flight...
      const x = primary.execute({ method: 'x', touches: ['ledger'] }, () => {
        ledger().setBill('alice', 100);
        ledger().insertBill('carol', 100);
      });
      // ...while a transaction reads and writes on top of it.
      const tx = primary.beginTransaction();
      const seen = primary.execute({ method: 't', touches: ['ledger'], tx }, () => {
        const a = ledger().getBill('alice')!;
        ledger().setBill('alice', a + 1);
        return a;
      });
      expect(await x).toMatchObject({ kind: 'service-error' });
      expect(await seen).toEqual({ kind: 'ok', result: 100 }); // it did read X's change, pipelined
      const end2 = end === 'commit' ? await primary.commitTransaction(tx) : await primary.abortTransaction(tx);
      expect(end2).toMatchObject({ kind: 'tx-aborted', message: expect.stringContaining('could not be made durable') });
      expect({ memoryAlice: stateOf(primary).ledger.alice, databaseAlice: Object.fromEntries(await bills()).alice }).toEqual({ memoryAlice: 1, databaseAlice: 1 });
    });
  }
});

// The run-time's guarantees with real databases and real objects: all-or-nothing per request and across
// mechanisms, exactly once across failover, transactions, group commit, and fencing. The database runs
// for real on SQLite, PostgreSQL and MariaDB.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { Bank, cluster, stateOf } from './support.js';

describe('without a database (replication and reconstruction)', () => {
  it('replicates every committed request to the backup, calls and changes alike', async () => {
    const { primary, backups, bank } = await cluster(undefined, 2);
    for (let i = 0; i < 5; i++) expect(await bank.charge('alice', 10)).toMatchObject({ kind: 'ok' });
    expect(await bank.charge('bob', 1)).toEqual({ kind: 'ok', result: { count: 6, balance: 1 } });
    const replicated = (s: ReturnType<typeof stateOf>) => ({ counter: s.counter, log: s.log });
    for (const b of backups) expect(replicated(stateOf(b))).toEqual(replicated(stateOf(primary)));
  });

  it.each(['counter', 'log', 'ledger'] as const)('leaves no partial change anywhere when the method throws after the %s', async (failAt) => {
    const { primary, backups, bank, link } = await cluster(undefined);
    await bank.charge('alice', 5);
    const before = stateOf(primary);
    const batches = link.batches;
    const outcome = await bank.charge('alice', 7, { failAt });
    expect(outcome).toMatchObject({ kind: 'service-error', message: `failed after the ${failAt}` });
    expect(stateOf(primary)).toEqual(before);
    expect(link.batches).toBe(batches); // nothing shipped
    expect(stateOf(backups[0]!).counter).toBe(before.counter);
  });

  it('executes a retried request id once and answers it with the original reply', async () => {
    const { primary, bank } = await cluster(undefined);
    const first = await bank.charge('alice', 3, { id: 'req-1' });
    const again = await bank.charge('alice', 3, { id: 'req-1' });
    expect(again).toEqual(first);
    expect(stateOf(primary).counter).toBe(1);
  });

  it('answers a retry on the promoted backup with the reply the old primary gave', async () => {
    const { primary, backups, bank } = await cluster(undefined);
    const reply = await bank.bump({ id: 'req-7' });
    await backups[0]!.promote();
    const promoted = new Bank(backups[0]!);
    expect(await promoted.bump({ id: 'req-7' })).toEqual(reply);
    expect(stateOf(backups[0]!).counter).toBe(stateOf(primary).counter);
    expect(await promoted.bump()).toEqual({ kind: 'ok', result: 2 });
  });

  it('refuses writes while fewer backups than required are live, and resumes when they are back', async () => {
    const { primary, bank, link } = await cluster(undefined, 1, 1);
    link.down.add(link.backups[0]!);
    expect(await bank.bump()).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('0 backup(s) live, 1 required') });
    expect(stateOf(primary).counter).toBe(0); // undone
    link.down.clear();
    expect(await bank.bump()).toEqual({ kind: 'ok', result: 1 });
  });
});

describe('transactions', () => {
  it('abort restores every object the transaction touched, and the backups never see it', async () => {
    const { primary, backups, bank } = await cluster(undefined);
    await bank.charge('alice', 1);
    const before = stateOf(primary);
    const tx = primary.beginTransaction();
    expect(await bank.charge('alice', 5, { tx })).toMatchObject({ kind: 'ok' });
    expect(await bank.charge('bob', 2, { tx })).toMatchObject({ kind: 'ok' });
    expect(await primary.abortTransaction(tx)).toMatchObject({ kind: 'ok' });
    expect(stateOf(primary)).toEqual(before);
    expect(stateOf(backups[0]!).log).toEqual(before.log);
    expect(await bank.charge('x', 1, { tx })).toMatchObject({ kind: 'tx-aborted' });
  });

  it('a request that throws inside a transaction undoes only itself', async () => {
    const { primary, bank } = await cluster(undefined);
    const tx = primary.beginTransaction();
    await bank.charge('alice', 5, { tx });
    const inside = stateOf(primary);
    expect(await bank.charge('alice', 9, { tx, failAt: 'ledger' })).toMatchObject({ kind: 'service-error' });
    expect(stateOf(primary)).toEqual(inside);
    expect(await primary.commitTransaction(tx)).toMatchObject({ kind: 'ok' });
    expect(stateOf(primary).counter).toBe(1);
  });

  it('commit makes the whole transaction durable at once; another request waits, then 409', async () => {
    const { primary, backups, bank } = await cluster(undefined);
    const tx = primary.beginTransaction();
    await bank.charge('alice', 5, { tx });
    expect(await bank.bump()).toMatchObject({ kind: 'tx-conflict' });
    expect(stateOf(backups[0]!).counter).toBe(0);
    expect(await primary.commitTransaction(tx)).toMatchObject({ kind: 'ok' });
    expect(stateOf(backups[0]!).counter).toBe(1);
    expect(await bank.bump()).toEqual({ kind: 'ok', result: 2 });
  });
});

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.runIf(!optedOut(dialect))(`with the database on ${dialect}`, () => {
    let db: ScratchDatabase | undefined;
    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });
    const open = async () => {
      db = await openScratchDatabase(dialect);
      return DatabaseStore.over(db.knex, dialect);
    };
    const rows = async () => (await db!.rows('SELECT client_id, balance FROM bills ORDER BY client_id')).map((r) => [r.client_id, Number(r.balance)]);

    it('commits the database and the backups together, and recovers the ledger from the database', async () => {
      const store = await open();
      const { primary, backups, bank } = await cluster(store);
      await bank.charge('alice', 5);
      await bank.charge('alice', 6);
      await bank.charge('bob', 1);
      expect(await rows()).toEqual([
        ['alice', 11],
        ['bob', 1],
      ]);
      await backups[0]!.promote();
      expect(stateOf(backups[0]!)).toEqual(stateOf(primary));
    });

    it.each(['counter', 'log', 'ledger'] as const)('writes nothing anywhere when the method throws after the %s', async (failAt) => {
      const store = await open();
      const { primary, backups, bank } = await cluster(store);
      await bank.charge('alice', 5);
      const before = stateOf(primary);
      expect(await bank.charge('alice', 7, { failAt })).toMatchObject({ kind: 'service-error' });
      expect(await rows()).toEqual([['alice', 5]]);
      expect(stateOf(primary)).toEqual(before);
      await backups[0]!.promote();
      expect(stateOf(backups[0]!)).toEqual(before);
    });

    it('commits in neither when the primary dies before the database commit', async () => {
      const store = await open();
      const { backups, bank } = await cluster(store);
      await bank.charge('alice', 5);
      // The database refuses the commit (the primary "dies" between shipping prepared and committing).
      const commit = store.commit.bind(store);
      store.commit = async () => {
        throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
      };
      store.decided = async () => new Map();
      expect(await bank.charge('alice', 7)).toMatchObject({ kind: 'unavailable' });
      store.commit = commit;
      delete (store as Partial<DatabaseStore>).decided;
      await backups[0]!.promote();
      expect(stateOf(backups[0]!)).toMatchObject({ counter: 1, ledger: { alice: 5 } });
      expect(await rows()).toEqual([['alice', 5]]);
    });

    it('settles a retried request by the record that committed it, not by its id (found by simulation seed 399)', async () => {
      const store = await open();
      const { backups, bank, link } = await cluster(store);
      await bank.charge('alice', 5);
      link.dropDecisions = true; // the backup never hears how either attempt ended
      const commit = store.commit.bind(store);
      store.commit = async () => {
        throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
      };
      store.decided = async () => new Map();
      expect(await bank.charge('alice', 7, { id: 'r' })).toMatchObject({ kind: 'unavailable' });
      store.commit = commit;
      delete (store as Partial<DatabaseStore>).decided;
      expect(await bank.charge('alice', 7, { id: 'r' })).toMatchObject({ kind: 'ok', result: { count: 2, balance: 12 } });
      // Both attempts are held as prepared under the key 'r'; only the second committed.
      expect(backups[0]!.replica.undecided().map((r) => r.prepared!.key)).toEqual(['r', 'r']);
      await backups[0]!.promote();
      expect(stateOf(backups[0]!)).toMatchObject({ counter: 2, ledger: { alice: 12 } });
      expect(await rows()).toEqual([['alice', 12]]);
    });

    it('takes a group the backup never received from the database, where the primary committed it while shipping it', async () => {
      const store = await open();
      const { primary, backups, bank, link } = await cluster(store);
      await bank.charge('alice', 5);
      // The batch is lost on its way (the primary dies as it sends it); the database commit goes through.
      link.replicate = async () => {
        throw new Error('the primary died while sending');
      };
      expect(await bank.charge('alice', 7, { id: 'lost-batch' })).toMatchObject({ kind: 'unavailable' });
      expect(await rows()).toEqual([['alice', 12]]);
      expect(backups[0]!.replica.lastReceived).toBe(1);
      expect(primary.stopped).toMatchObject({ fenced: false }); // it stopped: a backup takes over
      await backups[0]!.promote();
      expect(stateOf(backups[0]!)).toMatchObject({ counter: 2, ledger: { alice: 12 } });
      // The client's retry gets the reply the request earned, without running it again.
      expect(await new Bank(backups[0]!).charge('alice', 7, { id: 'lost-batch' })).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
    });

    it('commits in both when the primary dies after the database commit, before telling the backups', async () => {
      const store = await open();
      const { primary, backups, bank, link } = await cluster(store);
      await bank.charge('alice', 5);
      link.dropDecisions = true;
      expect(await bank.charge('alice', 7, { id: 'late' })).toMatchObject({ kind: 'ok' });
      expect(backups[0]!.replica.undecided()).toHaveLength(1);
      await backups[0]!.promote();
      expect(stateOf(backups[0]!)).toEqual(stateOf(primary));
      expect(await new Bank(backups[0]!).charge('alice', 7, { id: 'late' })).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
    });

    it('fences the old primary once a backup has taken over', async () => {
      const store = await open();
      const { backups, bank } = await cluster(store);
      await bank.charge('alice', 5);
      await backups[0]!.promote();
      expect(await bank.charge('alice', 1)).toMatchObject({ kind: 'not-primary' });
      expect(await rows()).toEqual([['alice', 5]]);
    });

    it('groups concurrent requests into fewer database transactions than requests', async () => {
      const store = await open();
      const { primary, bank } = await cluster(store);
      let transactions = 0;
      const commit = store.commit.bind(store);
      store.commit = (epoch, records) => {
        transactions++;
        return commit(epoch, records);
      };
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => bank.charge(`c${i % 7}`, 1, { id: `g${i}` })));
      expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
      expect(transactions).toBeLessThan(40);
      expect(stateOf(primary).counter).toBe(40);
      expect((await rows()).reduce((sum, [, b]) => sum + (b as number), 0)).toBe(40);
    });

    it('a statement the database refuses fails that request and the ones that ran on top of it, and undoes them', async () => {
      const store = await open();
      const { primary, bank } = await cluster(store);
      await bank.charge('alice', 5);
      await db!.knex.raw(`INSERT INTO bills (client_id, balance) VALUES ('carol', 1)`); // behind the service's back
      const before = stateOf(primary);
      const [refused, after] = await Promise.all([bank.charge('carol', 2), bank.charge('alice', 1)]);
      expect(refused).toMatchObject({ kind: 'service-error', message: expect.stringContaining('the database refused the change') });
      expect((refused as { message: string }).message).not.toContain('carol'); // the rule it broke, not the value
      expect((refused as { detail?: string }).detail).toMatch(/carol|UNIQUE|duplicate/i); // the log's
      expect(after).toMatchObject({ kind: 'unavailable' });
      expect(stateOf(primary)).toEqual(before);
      const next = await bank.charge('alice', 1);
      expect(next, JSON.stringify(next)).toMatchObject({ kind: 'ok', result: { balance: 6 } });
    });
  });
}

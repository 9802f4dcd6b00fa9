// Withheld replies (a group the database committed while its backups were dropped) and the log's
// recipients: the second adversarial review's cases, each asserting what DESIGN.md promises.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import type { ServiceRuntime } from '../../proxies/runtime.js';
import { openScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { Bank, cluster, stateOf, refuseNextBatch } from './support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});
const open = async () => {
  db = await openScratchDatabase('sqlite');
  return DatabaseStore.over(db.knex, 'sqlite');
};
const rows = async () => (await db!.rows('SELECT client_id, balance FROM bills ORDER BY client_id')).map((r) => [r.client_id, Number(r.balance)]);


/** The backup receives (holds) the next batch, then is dropped by the link (as if its ack never came). */
function holdNextThenDrop(runtime: ServiceRuntime): void {
  const replica = runtime.replica;
  const receive = replica.receive.bind(replica);
  replica.receive = (batch) => {
    replica.receive = receive;
    receive(batch);
    throw new Error('held it, then dropped before acknowledging');
  };
}

function rejoin(primary: ServiceRuntime, backup: ServiceRuntime, link: { down: Set<unknown> }): void {
  backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
  link.down.delete(backup.replica);
}

describe('withheld: transactions', () => {
  it('a withheld transaction commit is answered on retry (not TX_ABORTED), once backups are back', async () => {
    const store = await open();
    const { primary, backups, bank, link } = await cluster(store, 1, 1);
    expect(await bank.charge('alice', 5)).toMatchObject({ kind: 'ok' });
    const tx = primary.beginTransaction();
    expect(await bank.charge('alice', 7, { id: 'in-tx', tx })).toMatchObject({ kind: 'ok' });
    refuseNextBatch(backups[0]!);
    const first = await primary.commitTransaction(tx);
    expect(first).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('Retry with the same request id') });
    expect(await rows()).toEqual([['alice', 12]]); // committed in the database
    rejoin(primary, backups[0]!, link);
    const retry = await primary.commitTransaction(tx);
    expect(retry).toEqual({ kind: 'ok', result: { committed: tx } });
  });
});

describe('withheld: requests without a request id', () => {
  it('tells a request without an id that it committed and must not be sent again as if it had not', async () => {
    const store = await open();
    const { primary, backups, bank } = await cluster(store, 1, 1);
    expect(await bank.charge('alice', 5)).toMatchObject({ kind: 'ok' });
    refuseNextBatch(backups[0]!);
    const first = await bank.charge('alice', 7);
    expect(first).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('do not send it again as if it had not run') });
    expect({ ledger: await rows(), counter: stateOf(primary).counter }).toEqual({ ledger: [['alice', 12]], counter: 2 });
  });
});

describe('withheld: promotion of a backup that held the group as prepared', () => {
  it('a promoted backup that held the withheld group answers the retry without running it again', async () => {
    const store = await open();
    const { primary, backups, bank } = await cluster(store, 1, 1);
    expect(await bank.charge('alice', 5)).toMatchObject({ kind: 'ok' });
    holdNextThenDrop(backups[0]!);
    expect(await bank.charge('alice', 7, { id: 'w' })).toMatchObject({ kind: 'unavailable' });
    expect(primary.stopped).toBeUndefined();
    await backups[0]!.promote();
    const promoted = new Bank(backups[0]!);
    expect(await promoted.charge('alice', 7, { id: 'w' })).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
    expect(stateOf(backups[0]!)).toMatchObject({ counter: 2, ledger: { alice: 12 } });
  });
});

describe('the recipients guard, for a backup dropped while the group was on its way', () => {
  it('refuses a backup dropped mid-flight of a database group, when replicated-only groups were acknowledged after it', async () => {
    const store = await open();
    const { primary, backups, bank } = await cluster(store, 2, 1);
    expect(await bank.charge('alice', 5)).toMatchObject({ kind: 'ok' }); // seq 1: both backups
    refuseNextBatch(backups[0]!); // backup 0 is dropped while seq 2 travels (it is named a recipient)
    expect(await bank.charge('alice', 7)).toMatchObject({ kind: 'ok' }); // seq 2: db + backup 1
    expect(await bank.bump()).toMatchObject({ kind: 'ok', result: 3 }); // seq 3: replicated only, acked by backup 1
    expect(backups[0]!.replica.lastReceived).toBe(1);
    // The group's log rows were withdrawn when backup 0 was found gone, before seq 3 was acknowledged.
    const logged = await db!.rows('SELECT seq, record FROM durable_log ORDER BY seq');
    const outcome = await backups[0]!.promote().then(
      () => 'promoted',
      (error: Error) => error.constructor.name,
    );
    expect({ logged: logged.map((r) => JSON.parse(String(r.record)).to), outcome, promotedCounter: stateOf(backups[0]!).counter, acknowledgedCounter: stateOf(primary).counter }).toEqual({
      logged: [['backup-0', 'backup-1']],
      outcome: 'BehindError',
      promotedCounter: 1,
      acknowledgedCounter: 3,
    });
  });
});

describe('a reply-only record in a group with database records', () => {
  it('commits, is logged, decided on the backups, and a promotion after it keeps everything once', async () => {
    const store = await open();
    const { primary, backups, bank, link } = await cluster(store, 1, 1);
    expect(await bank.charge('alice', 5)).toMatchObject({ kind: 'ok' });
    refuseNextBatch(backups[0]!);
    expect(await bank.charge('alice', 7, { id: 'w' })).toMatchObject({ kind: 'unavailable' });
    rejoin(primary, backups[0]!, link);
    // The retry's reply-only record and a database request in one group.
    const [retry, other] = await Promise.all([bank.charge('alice', 7, { id: 'w' }), bank.charge('bob', 1, { id: 'b' })]);
    expect(retry).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
    expect(other).toMatchObject({ kind: 'ok' });
    const requests = await db!.rows('SELECT request_key, reply, seq FROM durable_requests ORDER BY seq');
    const log = await db!.rows('SELECT seq FROM durable_log ORDER BY seq');
    expect(link.batches).toBeGreaterThan(0);
    for (const b of backups) expect(stateOf(b)).toMatchObject({ counter: 3 });
    // The retry wrote no request row of its own (its request's row is there once), and nothing was logged twice.
    expect(requests.filter((r) => r.request_key === 'w')).toHaveLength(1);
    expect(new Set(log.map((r) => Number(r.seq))).size).toBe(log.length);
    // Promote the backup with everything decided; the retry is answered from its memory.
    await backups[0]!.promote();
    const promoted = new Bank(backups[0]!);
    expect(await promoted.charge('alice', 7, { id: 'w' })).toEqual({ kind: 'ok', result: { count: 2, balance: 12 } });
    expect(stateOf(backups[0]!)).toMatchObject({ counter: 3, ledger: { alice: 12, bob: 1 } });
  });
});

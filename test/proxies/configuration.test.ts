// The configuration authority's decisions (proxies/coordination/configuration.ts), one rule at a time,
// then the compare-and-set runner over a store that loses races, then the real stores: a database table
// on SQLite, PostgreSQL and MariaDB, swapped by many writers at once, exactly one of which wins.
import { describe, expect, it } from 'vitest';
import { addMember, claimPrimary, parseConfiguration, promoteByHand, removeMember, takeOver, type Configuration, type Proposal } from '../../proxies/coordination/configuration.js';
import { Coordination, type CoordinatorStore } from '../../proxies/coordination/coordination.js';
import { clusterName, openCoordinatorStore } from '../../proxies/coordination/stores.js';
import { DIALECTS_UNDER_TEST, optedOut, scratchDatabaseUrl } from '../support/databases.js';

const p = { id: 'p', address: 'p:1' };
const a = { id: 'a', address: 'a:1' };
const b = { id: 'b', address: 'b:1' };
const at = (epoch: number, primary = p, members = [a, b], version = 3): Configuration => ({ version, epoch, primary, members });

describe('the configuration rules', () => {
  it('a starting primary claims an epoch above the stored one, with no members', () => {
    expect(claimPrimary(undefined, p, 1)).toEqual({ kind: 'write', next: { epoch: 1, primary: p, members: [] } });
    expect(claimPrimary(at(4), p, 5)).toEqual({ kind: 'write', next: { epoch: 5, primary: p, members: [] } });
    expect(claimPrimary(at(5, a), p, 5).kind).toBe('refuse');
    expect(claimPrimary(at(5, p, []), p, 5)).toEqual({ kind: 'done' }); // its own claim, read back after a lost answer
  });

  it('only the configured primary of the latest epoch changes the members', () => {
    expect(addMember(at(2, p, [a]), p, 2, b)).toEqual({ kind: 'write', next: { epoch: 2, primary: p, members: [a, b] } });
    expect(addMember(at(2, p, [a]), p, 2, a)).toEqual({ kind: 'done' });
    expect(removeMember(at(2), p, 2, 'a')).toEqual({ kind: 'write', next: { epoch: 2, primary: p, members: [b] } });
    expect(removeMember(at(2, p, [b]), p, 2, 'a')).toEqual({ kind: 'done' });
    expect(removeMember(at(3, a, []), p, 2, 'b')).toMatchObject({ kind: 'fenced', reason: expect.stringMatching(/a:1 is primary at epoch 3/) });
    expect(addMember(undefined, p, 2, a).kind).toBe('fenced');
    // A primary whose run-time epoch went past the configuration's (a database claimed higher) writes its own.
    expect(addMember(at(2, p, []), p, 4, a)).toEqual({ kind: 'write', next: { epoch: 4, primary: p, members: [a] } });
  });

  it('a member at the epoch it holds takes over, with no members yet; anyone else is refused or told whom to follow', () => {
    expect(takeOver(at(2), a, 2, 'p')).toEqual({ kind: 'write', next: { epoch: 3, primary: a, members: [] } });
    expect(takeOver(at(2, p, [b]), a, 2, 'p')).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/not a member of the latest configuration/) });
    expect(takeOver(at(2), a, 1, 'p')).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/holds the state of epoch 1/) });
    expect(takeOver(at(3, b, []), a, 2, 'p')).toEqual({ kind: 'follow', primary: b });
    expect(takeOver(at(3, a, []), a, 2, 'p')).toEqual({ kind: 'done' }); // its own write, read back
    expect(takeOver(undefined, a, 2, 'p').kind).toBe('refuse');
  });

  it('an operator promotes any node above every epoch seen', () => {
    expect(promoteByHand(at(2, p, []), a, 2)).toEqual({ kind: 'write', next: { epoch: 3, primary: a, members: [] } });
    expect(promoteByHand(undefined, a, 4)).toEqual({ kind: 'write', next: { epoch: 5, primary: a, members: [] } });
  });

  it('refuses a stored record it did not write', () => {
    expect(() => parseConfiguration('{', 1, 'here')).toThrow(/not JSON/);
    expect(() => parseConfiguration('{"epoch":1,"primary":{"id":"p"},"members":[]}', 1, 'here')).toThrow(/malformed/);
    expect(parseConfiguration(JSON.stringify({ epoch: 1, primary: p, members: [a] }), 7, 'here')).toEqual({ version: 7, epoch: 1, primary: p, members: [a] });
  });
});

/** A store in memory; `interfere` changes the record between a read and the swap that follows it. */
function memoryStore(interfere?: (stored: { version: number; value: Proposal } | undefined) => { version: number; value: Proposal } | undefined): CoordinatorStore {
  let stored: { version: number; value: Proposal } | undefined;
  return {
    description: 'memory',
    read: async () => stored && { ...stored.value, version: stored.version },
    swap: async (expected, next) => {
      if (interfere) stored = interfere(stored);
      if ((stored?.version ?? 0) !== expected) return false;
      stored = { version: expected + 1, value: next };
      return true;
    },
    close: async () => undefined,
  };
}

describe('the compare-and-set runner', () => {
  it('decides again after losing a race, on what the winner wrote', async () => {
    let raced = false;
    const store = memoryStore((stored) => {
      if (raced || !stored) return stored;
      raced = true; // b took over between a's read and its swap
      return { version: stored.version + 1, value: { epoch: 3, primary: b, members: [] } };
    });
    const coordination = new Coordination(store);
    expect((await coordination.claimPrimary(p, 2)).kind).toBe('written');
    await coordination.addMember(p, 2, a);
    expect(await coordination.takeOver(a, 2, 'p')).toEqual({ kind: 'follow', primary: b });
  });
});

describe.each(DIALECTS_UNDER_TEST)('the configuration table on %s', (dialect) => {
  it.skipIf(optedOut(dialect) !== undefined)('lets exactly one of many concurrent writers win each swap, and keeps clusters apart', async () => {
    const { url, dispose } = await scratchDatabaseUrl(dialect);
    const cluster = clusterName('Counter', Buffer.from('key-1'));
    const stores = await Promise.all(Array.from({ length: 4 }, () => openCoordinatorStore(url, cluster)));
    try {
      const first = { epoch: 1, primary: p, members: [] };
      const inserted = await Promise.all(stores.map((s) => s.swap(0, first)));
      expect(inserted.filter(Boolean)).toHaveLength(1);
      const takeovers = await Promise.all(stores.map((s, i) => s.swap(1, { epoch: 2, primary: { id: `n${i}`, address: `n${i}:1` }, members: [] })));
      expect(takeovers.filter(Boolean)).toHaveLength(1);
      const winner = takeovers.indexOf(true);
      expect(await stores[3]!.read()).toEqual({ version: 2, epoch: 2, primary: { id: `n${winner}`, address: `n${winner}:1` }, members: [] });
      // Another cluster (another key) in the same database sees nothing of it.
      const other = await openCoordinatorStore(url, clusterName('Counter', Buffer.from('key-2')));
      expect(await other.read()).toBeUndefined();
      await other.close();
    } finally {
      for (const s of stores) await s.close();
      await dispose();
    }
  });
});

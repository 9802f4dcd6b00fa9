// The protocol's pure cores, event by event: the primary's BackupSet and a backup's Follower with the
// succession decision. The simulation (test/simulation) drives them through thousands of interleavings;
// these pin down each rule on its own.
import { describe, expect, it } from 'vitest';
import { StateGraph } from '../../proxies/core/graph.js';
import { Replicator } from '../../proxies/replication/replicator.js';
import { BackupReplica } from '../../proxies/replication/backup.js';
import { decideSuccession, Follower, supersedes, type Greeting, type Member } from '../../proxies/replication/following.js';
import { ReplicationUnavailableError } from '../../proxies/replication/link.js';
import { BackupSet } from '../../proxies/replication/shipping.js';

function joinedSet(minAcks: number, backups: string[]): BackupSet {
  const set = new BackupSet({ minAcks, ackTimeoutMs: 100 });
  backups.forEach((b, i) => {
    set.connected(String(i), b, 0);
    set.joined(String(i), 0, 0);
  });
  return set;
}

describe('BackupSet: the primary and its backups', () => {
  it('refuses to ship, sending nothing, when fewer backups than --min-acks are live', () => {
    const set = joinedSet(2, ['a']);
    expect(() => set.ship(1, true)).toThrow(expect.objectContaining({ shipped: false, fenced: false }));
  });

  it('lets a group go on once every backup it was sent to acknowledged it', () => {
    const set = joinedSet(1, ['a', 'b']);
    const { to, ticket } = set.ship(3, true);
    expect(to).toEqual(['0', '1']);
    expect(set.acknowledged('0', 3, 1)).toEqual([]);
    expect(set.result(ticket!)).toBeUndefined();
    expect(set.acknowledged('1', 5, 1)).toEqual([ticket]);
    expect(set.result(ticket!)).toEqual({ ok: true });
  });

  it('fails a group when backups are dropped below --min-acks, and says whether a live one holds it', () => {
    const set = joinedSet(2, ['a', 'b']);
    const { ticket } = set.ship(1, true);
    set.acknowledged('0', 1, 1);
    set.dropped('1');
    const held = set.result(ticket!);
    expect(held).toMatchObject({ ok: false, error: expect.objectContaining({ heldByLive: true }) });

    const alone = joinedSet(1, ['a']);
    const second = alone.ship(1, true).ticket!;
    alone.dropped('0');
    const result = alone.result(second);
    expect(result?.ok).toBe(false);
    expect((result as { error: ReplicationUnavailableError }).error.heldByLive).toBe(false);
  });

  it('is fenced by a newer epoch, or by a refusal at its own epoch from a greater process id', () => {
    const set = joinedSet(0, ['a']);
    const { ticket } = set.ship(1, true);
    expect(set.peerEpoch(3, 3, 'same epoch, smaller id', true, { theirs: 'a', mine: 'b' }).fenced).toBe(false);
    expect(set.peerEpoch(3, 3, 'heartbeat at my epoch', false).fenced).toBe(false);
    expect(set.peerEpoch(3, 3, 'same epoch, greater id', true, { theirs: 'c', mine: 'b' })).toEqual({ fenced: true, done: [ticket] });
    expect(set.result(ticket!)).toMatchObject({ ok: false, error: expect.objectContaining({ fenced: true }) });
    expect(() => set.ship(2, false)).toThrow(/fenced/);
  });

  it('drops a backup silent past the timeout with records unacknowledged, and heartbeats the others', () => {
    const set = joinedSet(0, ['a', 'b']);
    set.ship(1, false);
    set.acknowledged('1', 1, 150);
    expect(set.tick(150)).toEqual({ drop: [{ key: '0', reason: 'no acknowledgement for 150 ms' }], heartbeat: ['1'] });
  });

  it('keeps the succession in first-join order across reconnections, and one connection per backup process', () => {
    const set = joinedSet(0, ['a', 'b']);
    set.dropped('0');
    set.connected('2', 'a', 10);
    expect(set.joined('2', 5, 10)).toEqual([]);
    expect(set.members.map((m) => m.id)).toEqual(['a', 'b']);
    set.connected('3', 'b', 20);
    expect(set.joined('3', 6, 20)).toEqual(['1']); // the older connection to b is to be closed
  });

  it('is ready only once --min-acks backups acknowledged their snapshot', () => {
    const set = new BackupSet({ minAcks: 1, ackTimeoutMs: 100 });
    set.connected('0', 'a', 0);
    set.joined('0', 7, 0);
    expect(set.ready).toBe(false);
    set.acknowledged('0', 7, 1);
    expect(set.ready).toBe(true);
  });
});

describe('Follower and the succession', () => {
  const self: Member = { id: 'me', address: 'me:1' };
  const follower = (peers: Member[], primary?: Member) => {
    const f = new Follower(new BackupReplica(new Replicator(new StateGraph(), new Map(), new Map())), self);
    f.replica.loadSnapshot({ epoch: 2, seq: 0, objects: {}, nextId: 1, replies: [] });
    f.receive({ type: 'heartbeat', epoch: 2, at: 0, peers, primary }, 0);
    return f;
  };
  const probes = (answers: Record<string, Greeting | undefined>) => async (m: Member) => answers[m.id];

  it('asks its own primary first, and follows it again if it answers', async () => {
    const f = follower([self], { id: 'p', address: 'p:1' });
    expect(await decideSuccession(f, 2, probes({ p: { role: 'primary', epoch: 2 } }))).toEqual({ kind: 'follow', member: { id: 'p', address: 'p:1' } });
  });

  it('takes over when it comes first, defers to an earlier backup holding state, skips one that cannot lead', async () => {
    const earlier = { id: 'e', address: 'e:1' };
    expect(await decideSuccession(follower([self, earlier]), 2, probes({}))).toEqual({ kind: 'promote' });
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { role: 'backup', epoch: 2, holdsState: true } }))).toEqual({ kind: 'defer', member: earlier });
    for (const answer of [{ role: 'behind' }, { role: 'stopped' }, { role: 'backup', holdsState: false }, undefined]) {
      expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: answer }))).toEqual({ kind: 'promote' });
    }
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { role: 'primary', epoch: 3 } }))).toEqual({ kind: 'follow', member: earlier });
    // A backup that already follows a newer primary says where it is.
    const newer = { id: 'n', address: 'n:1' };
    const following = { role: 'backup', epoch: 3, holdsState: true, following: newer };
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: following, n: { role: 'primary', epoch: 3 } }))).toEqual({ kind: 'follow', member: newer });
    // ...unless that primary is gone: then the backup that knows of it is the one to wait for.
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: following }))).toEqual({ kind: 'defer', member: earlier });
    // A backup of an older primary than this one's is not waited for.
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { role: 'backup', epoch: 1, holdsState: true } }))).toEqual({ kind: 'promote' });
  });

  it('comes last when the primary did not list it, and never takes over once it found itself behind', async () => {
    const other = { id: 'o', address: 'o:1' };
    expect(follower([other]).succession()).toEqual([other, self]);
    const f = follower([self]);
    f.cannotLead = 'behind';
    expect(await decideSuccession(f, 2, probes({}))).toEqual({ kind: 'wait' });
    f.receive({ type: 'snapshot', snapshot: { epoch: 3, seq: 0, objects: {}, replies: [] } }, 1);
    expect(f.cannotLead).toBeUndefined();
  });

  it('refuses its old primary while it takes over', () => {
    const f = follower([self]);
    f.takingOver = true;
    expect(f.receive({ type: 'heartbeat', epoch: 2, at: 1 }, 1)).toMatchObject({ type: 'refuse' });
    expect(f.admit({ epoch: 2, node: 'p' }, 2, false, 1)).toMatchObject({ type: 'refuse' });
  });

  it('orders two primaries of one epoch by process id', () => {
    expect(supersedes({ epoch: 4, id: 'a' }, { epoch: 3, id: 'z' })).toBe(true);
    expect(supersedes({ epoch: 3, id: 'b' }, { epoch: 3, id: 'a' })).toBe(true);
    expect(supersedes({ epoch: 3, id: 'a' }, { epoch: 3, id: 'b' })).toBe(false);
    expect(supersedes({ epoch: 3 }, { epoch: 3, id: 'b' })).toBe(false);
  });
});

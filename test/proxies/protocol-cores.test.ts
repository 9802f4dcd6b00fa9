// The protocol's pure cores, event by event: the primary's BackupSet and a backup's Follower with the
// succession decision. The simulation (test/simulation) drives them through thousands of interleavings;
// these pin down each rule on its own.
import { describe, expect, it } from 'vitest';
import { StateGraph } from '../../proxies/core/graph.js';
import { Replicator } from '../../proxies/replication/replicator.js';
import { BackupReplica } from '../../proxies/replication/backup.js';
import { decideSuccession, Follower, supersedes, type Greeting, type Member } from '../../proxies/replication/following.js';
import type { ReplicationUnavailableError } from '../../proxies/replication/link.js';
import { BackupSet, backupProcessGone } from '../../proxies/replication/shipping.js';

function joinedSet(minAcks: number, backups: string[]): BackupSet {
  const set = new BackupSet({ minAcks, ackTimeoutMs: 100 });
  backups.forEach((b, i) => {
    set.connected(String(i), b, 0);
    set.joined(String(i), 0, 0);
    set.acknowledged(String(i), 0, 0); // it holds the snapshot: live
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
    set.dropped('1', 1);
    const held = set.result(ticket!);
    expect(held).toMatchObject({ ok: false, error: expect.objectContaining({ heldByLive: true }) });

    const alone = joinedSet(1, ['a']);
    const second = alone.ship(1, true).ticket!;
    alone.dropped('0', 1);
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
    expect(set.tick(150)).toEqual({ drop: [{ key: '0', reason: 'no acknowledgement for 150 ms' }], heartbeat: ['1'], done: [] });
  });

  it('keeps the succession in first-join order across reconnections, and one connection per backup process', () => {
    const set = joinedSet(0, ['a', 'b']);
    set.dropped('0', 10);
    set.connected('2', 'a', 10);
    expect(set.joined('2', 5, 10)).toEqual([]);
    expect(set.members.map((m) => m.id)).toEqual(['b']); // not before it holds its snapshot
    set.acknowledged('2', 5, 11);
    expect(set.members.map((m) => m.id)).toEqual(['a', 'b']);
    set.connected('3', 'b', 20);
    expect(set.joined('3', 6, 20)).toEqual(['1']); // the older connection to b is to be closed
  });

  it('acknowledges nothing without a backup it dropped until the timeout has passed since it last heard from it', () => {
    const set = joinedSet(0, ['a', 'b']);
    set.acknowledged('0', 0, 50, 7);
    expect(set.echo('0')).toBe(7);
    set.dropped('0', 60); // its connection broke 10 ms after it was last heard: it may still take over until 150
    const { ticket } = set.ship(1, true);
    expect(set.acknowledged('1', 1, 70)).toEqual([]);
    expect(set.result(ticket!)).toBeUndefined();
    expect(set.tick(149).done).toEqual([]);
    expect(set.tick(151).done).toEqual([ticket]);
    expect(set.result(ticket!)).toEqual({ ok: true });
  });

  it('does not wait for a backup dropped for silence, and lifts a lease once the backup holds everything again', () => {
    const silent = joinedSet(0, ['a', 'b']);
    silent.dropped('0', 200); // last heard at 0: its lease ran out at 100
    const first = silent.ship(1, true).ticket!;
    expect(silent.acknowledged('1', 1, 200)).toEqual([first]);

    const back = joinedSet(0, ['a']);
    back.acknowledged('0', 0, 50);
    back.dropped('0', 60);
    back.connected('1', 'a', 61);
    back.joined('1', 0, 61);
    const { ticket } = back.ship(1, true);
    expect(back.acknowledged('1', 1, 70)).toEqual([ticket]); // it acknowledged its snapshot and the group
  });

  it('with an authority, waits for a dropped backup until it is removed there; a removal meant for an earlier drop ends nothing', () => {
    // Found by an adversarial review: a backup dropped, rejoined, caught up and dropped again while the
    // first removal was still on its way; that removal's release must not end the second drop's lease.
    const set = new BackupSet({ minAcks: 0, ackTimeoutMs: 100, coordinated: true });
    set.connected('1', 'b', 0);
    set.identified('1', 'B');
    set.joined('1', 10, 0);
    set.acknowledged('1', 10, 1, 1);
    const first = set.dropped('1', 100).lease!;
    set.connected('2', 'b', 150);
    set.identified('2', 'B');
    set.joined('2', 10, 150);
    set.acknowledged('2', 10, 151, 7); // caught up again: the first drop's lease ends
    const second = set.dropped('2', 200).lease!;
    const { ticket } = set.ship(11, true);
    expect(set.tick(10_000).done).toEqual([]); // no time runs such a lease out
    expect(set.released('B', first)).toEqual([]);
    expect(set.result(ticket!)).toBeUndefined();
    expect(set.released('B', second)).toEqual([ticket]);
    expect(set.result(ticket!)).toEqual({ ok: true });
  });

  it("ends a dropped backup's lease at once when its process is found gone, and only then", () => {
    const set = joinedSet(0, ['a', 'b']);
    set.identified('0', 'A');
    set.acknowledged('0', 0, 50);
    const { ticket } = set.ship(1, true);
    expect(set.acknowledged('1', 1, 55)).toEqual([]); // waits for A too
    const lease = set.dropped('0', 60).lease!; // heard at 50: its lease runs until 150
    expect(set.result(ticket!)).toBeUndefined();
    // What its port says: nothing proves a live process gone but a refusal or another process there.
    expect(backupProcessGone(undefined, 'A')).toBe(false); // no answer: paused, cut off
    expect(backupProcessGone({ reset: true } as never, 'A')).toBe(false);
    expect(backupProcessGone({ id: 'A' }, 'A')).toBe(false); // it is alive, it only closed the connection
    expect(backupProcessGone({ id: 'A2' }, 'A')).toBe(true); // restarted: the old process let go of the port
    expect(backupProcessGone({ refused: true }, 'A')).toBe(true);
    expect(set.gone('A', lease + 1)).toEqual([]); // another drop's
    expect(set.gone('A', lease)).toEqual([ticket]);
    expect(set.result(ticket!)).toEqual({ ok: true });
  });

  it('names as holders the backups that hold everything acknowledged, a dropped one too when it does', () => {
    const set = joinedSet(2, ['a', 'b']);
    set.acknowledged('0', 0, 1);
    set.acknowledged('1', 0, 1);
    const { ticket } = set.ship(3, true);
    set.acknowledged('0', 3, 2);
    set.acknowledged('1', 3, 2);
    expect(set.result(ticket!)).toEqual({ ok: true });
    set.dropped('1', 3); // --min-acks 2: nothing more can be acknowledged without it
    expect(() => set.ship(4, true)).toThrow(/1 backup\(s\) live, 2 required/);
    expect(set.holders.map((m) => m.id)).toEqual(['a', 'b']);
    // With --min-acks 0 the primary goes on without it (once its lease ran out): then it is no holder.
    const alone = joinedSet(0, ['a', 'b']);
    alone.acknowledged('0', 0, 1);
    alone.acknowledged('1', 0, 1);
    alone.dropped('1', 200);
    const { ticket: later } = alone.ship(5, true);
    alone.acknowledged('0', 5, 201);
    expect(alone.result(later!)).toEqual({ ok: true });
    expect(alone.holders.map((m) => m.id)).toEqual(['a']);
  });

  it('drops nobody on the first tick after its own stall: what the backups sent is still unread', () => {
    const set = joinedSet(0, ['a']);
    set.ship(1, false);
    set.tick(10);
    expect(set.tick(400)).toMatchObject({ drop: [], heartbeat: ['0'] });
    expect(set.tick(450).drop).toHaveLength(1);
  });

  it('streams to a joining backup without waiting for it, and counts on it only once it holds everything acknowledged', () => {
    const set = new BackupSet({ minAcks: 1, ackTimeoutMs: 100, transferTimeoutMs: 1_000 });
    set.connected('0', 'a', 0);
    set.joined('0', 0, 0);
    set.acknowledged('0', 0, 0, 1);
    set.connected('1', 'j', 0);
    set.joined('1', 3, 0); // its snapshot is as of record 3
    const first = set.ship(4, true);
    expect(first.to).toEqual(['0', '1']); // sent to the joiner too, which holds it until its snapshot is complete
    expect(set.acknowledged('0', 4, 1)).toEqual([first.ticket]); // but not waited for
    expect(set.result(first.ticket!)).toEqual({ ok: true });
    expect(set.members.map((m) => m.id)).toEqual(['a']);
    const second = set.ship(5, true);
    // Its first acknowledgement (snapshot read, records up to 4 held): live, so later groups wait for it;
    // it holds everything acknowledged only once it acknowledged what was sent before (5), and only then
    // is it echoed (counted on).
    expect(set.acknowledged('1', 4, 2, 9)).toEqual([]);
    expect(set.members.map((m) => m.id)).toEqual(['a', 'j']);
    expect(set.echo('1')).toBeUndefined();
    expect(set.acknowledged('0', 5, 3)).toEqual([second.ticket]); // shipped before it was live
    expect(set.result(second.ticket!)).toEqual({ ok: true });
    expect(set.holders.map((m) => m.id)).toEqual(['a']);
    const third = set.ship(6, true);
    expect(set.acknowledged('1', 5, 3, 10)).toEqual([]);
    expect(set.echo('1')).toBe(10);
    expect(set.holders.map((m) => m.id)).toEqual(['a', 'j']);
    set.acknowledged('0', 6, 4);
    expect(set.result(third.ticket!)).toBeUndefined();
    expect(set.acknowledged('1', 6, 4)).toEqual([third.ticket]);
    // A joiner silent while its snapshot streams is let go only after the transfer timeout, and without a lease.
    set.connected('2', 'k', 10);
    set.joined('2', 5, 10);
    set.tick(950);
    expect(set.tick(1_000).drop.map((d) => d.key)).not.toContain('2');
    expect(set.tick(1_050).drop.map((d) => d.key)).toContain('2');
    expect(set.dropped('2', 1_100)).toMatchObject({ wasLive: false, lease: undefined, joinFailures: 1 });
    // Broken transfers to one address count in a row; one replaced by a newer connection does not; a join that completes clears them.
    set.connected('3', 'k', 1_200);
    set.joined('3', 6, 1_200);
    expect(set.dropped('3', 1_210).joinFailures).toBe(2);
    set.connected('4', 'k', 1_300);
    set.joined('4', 6, 1_300);
    set.connected('5', 'k', 1_301);
    expect(set.dropped('4', 1_302).joinFailures).toBeUndefined(); // '5' goes on
    set.joined('5', 6, 1_302);
    set.acknowledged('5', 6, 1_303);
    expect(set.dropped('5', 1_304, false).joinFailures).toBeUndefined(); // live, and not a failure anyway
    set.connected('6', 'k', 1_400);
    set.joined('6', 6, 1_400);
    expect(set.dropped('6', 1_401).joinFailures).toBe(1);
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

/** A primary at `epoch` streams an empty snapshot to the follower: begin, then end (no parts). */
function receiveSnapshot(f: Follower, epoch: number, at: number): void {
  f.receive({ type: 'snapshot-begin', header: { epoch, seq: 0, nextId: 1, roots: {} } }, at);
  f.receive({ type: 'snapshot-end', parts: 0 }, at);
}

describe('Follower and the succession', () => {
  const self: Member = { id: 'me', address: 'me:1' };
  const primary: Member = { id: 'p', address: 'p:1' };
  /** A backup of `primary` (drop timeout 100 ms) that answered a heartbeat at 0, echoed back at 1; its connection ended at 5. */
  const follower = (peers: Member[], from: Member = primary) => {
    const f = new Follower(new BackupReplica(new Replicator(new StateGraph(), new Map(), new Map())), self, 100);
    f.replica.loadSnapshot({ header: { epoch: 2, seq: 0, nextId: 1, roots: {} }, parts: [] });
    const reply = f.receive({ type: 'heartbeat', epoch: 2, at: 0, peers, primary: from }, 0);
    f.receive({ type: 'heartbeat', epoch: 2, at: 1, peers, primary: from, echo: (reply as { ping: number }).ping }, 1);
    f.connectionEnded(5);
    return f;
  };
  const clock = () => 10;
  /** The primary's port refuses (its process is gone) unless an answer for it is given. */
  const probes = (answers: Record<string, Greeting | undefined>) => async (m: Member) => (m.id in answers ? answers[m.id] : m.id === 'p' ? { refused: true } : undefined);

  it('asks its own primary first, and follows it again if it answers', async () => {
    const f = follower([self]);
    expect(await decideSuccession(f, 2, probes({ p: { role: 'primary', epoch: 2 } }), clock)).toEqual({ kind: 'follow', member: { id: 'p', address: 'p:1' } });
  });

  it('takes over when it comes first, defers to an earlier backup holding state, skips one that cannot lead', async () => {
    const earlier = { id: 'e', address: 'e:1' };
    expect(await decideSuccession(follower([self, earlier]), 2, probes({}), clock)).toEqual({ kind: 'promote' });
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { role: 'backup', epoch: 2, holdsState: true } }), clock)).toEqual({ kind: 'defer', member: earlier });
    // Passed over only when it says it will not take over.
    for (const answer of [{ role: 'behind' }, { role: 'unsure' }, { role: 'stopped', id: 'e', holders: [self] }, { role: 'backup', holdsState: false }]) {
      expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: answer }), clock)).toEqual({ kind: 'promote' });
    }
    // Silent (cut off from this backup, maybe taking over now): ask again later. Gone, or stopped without
    // naming this backup: it may have taken over first; this backup must not (found by an adversarial review).
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: undefined }), clock)).toEqual({ kind: 'wait' });
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { reset: true } }), clock)).toEqual({ kind: 'wait' });
    for (const answer of [{ refused: true }, { role: 'stopped', id: 'e', holders: [{ id: 'x', address: 'x:1' }] }]) {
      const f = follower([earlier, self]);
      expect(await decideSuccession(f, 2, probes({ e: answer }), clock)).toMatchObject({
        kind: 'doubt',
        reason: expect.stringMatching(/e:1, before this backup in the succession, .*may have taken over first/),
      });
      expect(f.greetingRole).toBe('unsure');
    }
    const left = follower([earlier, self]);
    expect(await decideSuccession(left, 2, probes({ e: { role: 'primary', epoch: 3 } }), clock)).toEqual({ kind: 'follow', member: earlier });
    // Until the node that took over has taken it on, it must not take over itself, even if that node falls silent.
    expect(await decideSuccession(left, 2, probes({ e: undefined }), clock)).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/took over at epoch 3/) });
    // A backup that already follows a newer primary says where it is.
    const newer = { id: 'n', address: 'n:1' };
    const following = { role: 'backup', epoch: 3, holdsState: true, following: newer };
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: following, n: { role: 'primary', epoch: 3 } }), clock)).toEqual({ kind: 'follow', member: newer });
    // ...unless that primary is gone: then the backup that knows of it is the one to wait for.
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: following }), clock)).toEqual({ kind: 'defer', member: earlier });
    // A backup of an older primary than this one's is not waited for.
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { role: 'backup', epoch: 1, holdsState: true } }), clock)).toEqual({ kind: 'promote' });
  });

  it('comes last when the primary did not list it, and never takes over once it found itself behind', async () => {
    const other = { id: 'o', address: 'o:1' };
    expect(follower([other]).succession()).toEqual([other, self]);
    const f = follower([self]);
    f.cannotLead = 'behind';
    expect(await decideSuccession(f, 2, probes({}), clock)).toEqual({ kind: 'wait' });
    receiveSnapshot(f, 3, 1);
    expect(f.cannotLead).toBeUndefined();
  });

  it('does not take over when the primary was found gone too late, or not found gone at all', async () => {
    expect(await decideSuccession(follower([self]), 2, probes({}), () => 89)).toEqual({ kind: 'promote' });
    expect(await decideSuccession(follower([self]), 2, probes({}), () => 91)).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/last confirmed counting on this backup 91 ms ago/) });
    expect(await decideSuccession(follower([self]), 2, probes({ p: undefined }), clock)).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/neither answered nor refused/) });
    // Another process at its address, or the primary stopped: gone too.
    expect(await decideSuccession(follower([self]), 2, probes({ p: { id: 'q', role: 'backup', epoch: 1 } }), clock)).toEqual({ kind: 'promote' });
    expect(await decideSuccession(follower([self]), 2, probes({ p: { id: 'p', role: 'stopped', epoch: 2 } }), clock)).toEqual({ kind: 'promote' });
    // A reset before the greeting (a listener dying as it was reached) is asked again, while the lease lasts.
    const answers: Greeting[] = [{ reset: true }, { reset: true }, { refused: true }];
    expect(await decideSuccession(follower([self]), 2, async () => answers.shift(), clock)).toEqual({ kind: 'promote' });
    expect(
      await decideSuccession(
        follower([self]),
        2,
        async () => ({ reset: true }),
        () => 95,
      ),
    ).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/neither answered nor refused/) });
    // A stopped primary's holders are the succession: the one it names first takes over, the others wait.
    const first = { id: 'f', address: 'f:1' };
    const named = follower([self]);
    expect(await decideSuccession(named, 2, probes({ p: { id: 'p', role: 'stopped', holders: [first, self] }, f: { role: 'backup', epoch: 2, holdsState: true } }), clock)).toEqual({
      kind: 'defer',
      member: first,
    });
    // A doubt it already had stands even when the stopped primary names it: others may have heard it say
    // 'unsure' and gone ahead (found by a second adversarial review).
    const doubting = follower([self]);
    doubting.receive({ type: 'dropped', reason: 'silent' }, 6);
    expect(await decideSuccession(doubting, 2, probes({ p: { id: 'p', role: 'stopped', holders: [self] } }), clock)).toMatchObject({ kind: 'doubt' });
    // A primary replaced by a newer one names nobody: its backups follow the newer one.
    expect(await decideSuccession(follower([self]), 2, probes({ p: { id: 'p', role: 'stopped', replacedAt: 3 } }), clock)).toMatchObject({
      kind: 'doubt',
      reason: expect.stringMatching(/replaced by a newer one \(epoch 3\)/),
    });
    // Another backup answering at the primary's address (a shared or loopback address advertised) proves nothing either.
    expect(await decideSuccession(follower([{ id: 'o', address: 'o:1' }, self]), 2, probes({ p: { id: 'o', role: 'backup', epoch: 2 } }), clock)).toMatchObject({
      kind: 'doubt',
      reason: expect.stringMatching(/reaches another backup/),
    });
    // Its own greeting (the primary advertised an address that means "this host") proves nothing.
    expect(await decideSuccession(follower([self]), 2, probes({ p: { id: 'me', role: 'backup', epoch: 2 } }), clock)).toMatchObject({
      kind: 'doubt',
      reason: expect.stringMatching(/reaches this backup itself/),
    });
    // A 'dropped' notice outweighs a proof that looks timely (its clock may have stopped: a suspended host).
    const told = follower([self]);
    told.receive({ type: 'dropped', reason: 'silent' }, 6);
    expect(await decideSuccession(told, 2, probes({}), clock)).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/dropped it/) });
    // No echo on this connection: the primary never showed it counted on this backup.
    const fresh = follower([self]);
    fresh.admit({ epoch: 2, node: 'p' }, 2, false, 6);
    fresh.connectionEnded(7);
    expect(await decideSuccession(fresh, 2, probes({}), clock)).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/never confirmed/) });
  });

  it('never suspects on silence alone, says why it would not take over, and heeds being dropped', async () => {
    const f = new Follower(new BackupReplica(new Replicator(new StateGraph(), new Map(), new Map())), self, 100);
    f.replica.loadSnapshot({ header: { epoch: 2, seq: 0, nextId: 1, roots: {} }, parts: [] });
    f.receive({ type: 'heartbeat', epoch: 2, at: 0, peers: [self], primary }, 0);
    expect(f.suspects()).toBe(false);
    expect(f.takeoverBlocked(50)).toBeUndefined();
    expect(f.takeoverBlocked(500)).toMatch(/silent for 500 ms .* never takes over on silence alone/);
    expect(f.suspects()).toBe(false);

    f.receive({ type: 'dropped', reason: 'no acknowledgement for 120 ms' }, 501);
    f.connectionEnded(502);
    expect(f.suspects()).toBe(true); // it looks for a primary to follow, but will not take over
    expect(await decideSuccession(f, 2, probes({}), () => 503)).toMatchObject({ kind: 'doubt', reason: expect.stringMatching(/dropped it/) });
    expect(await decideSuccession(f, 2, probes({ p: { role: 'primary', epoch: 2 } }), () => 503)).toEqual({ kind: 'follow', member: primary });
    expect(f.greetingRole).toBe('unsure');
    expect(f.takeoverBlocked(503)).toMatch(/dropped it \(no acknowledgement for 120 ms\)/);
    receiveSnapshot(f, 2, 504);
    expect(f.greetingRole).toBe('backup');
    expect(f.doubt).toBeUndefined();
  });

  it('skips an earlier backup that is unsure it was not dropped', async () => {
    const earlier = { id: 'e', address: 'e:1' };
    expect(await decideSuccession(follower([earlier, self]), 2, probes({ e: { role: 'unsure', epoch: 2, holdsState: true } }), clock)).toEqual({ kind: 'promote' });
  });

  it('counts as caught up only once its current primary sent it a snapshot', () => {
    const f = new Follower(new BackupReplica(new Replicator(new StateGraph(), new Map(), new Map())), self, 100);
    receiveSnapshot(f, 1, 0);
    expect(f.caughtUp).toBe(true);
    f.admit({ epoch: 2, node: 'q' }, 1, false, 1); // a new primary: the old snapshot is not its state
    expect(f.caughtUp).toBe(false);
    receiveSnapshot(f, 2, 2);
    expect(f.caughtUp).toBe(true);
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

// The replication port's handshake as plain decisions (transport/backup-session.ts and join.ts's
// JoinRequest), message by message: what TCP (transport/server.ts) and the simulation both drive.
import { describe, expect, it } from 'vitest';
import { StateGraph } from '../../proxies/core/graph.js';
import { BackupReplica } from '../../proxies/replication/backup.js';
import { Follower } from '../../proxies/replication/following.js';
import { Replicator } from '../../proxies/replication/replicator.js';
import { BackupSession, type AcceptingNode } from '../../proxies/transport/backup-session.js';
import type { Message } from '../../proxies/transport/frames.js';
import { backupProof, primaryProof, proofsMatch } from '../../proxies/transport/handshake.js';
import { JoinRefusedError, JoinRequest } from '../../proxies/transport/join.js';

const KEY = Buffer.from('the-cluster-key-of-these-tests');

function node(role: 'primary' | 'backup' | 'stopped', epoch = 3): AcceptingNode & { follower: Follower } {
  const follower = new Follower(new BackupReplica(new Replicator(new StateGraph(), new Map(), new Map())), { id: 'self', address: 'self:1' }, 100);
  return { follower, key: KEY, node: () => 'http://self', epoch: () => epoch, isPrimary: () => role !== 'backup', role: () => role };
}

/** A primary's auth over the session's nonce (as primary-link.ts sends it). */
function auth(session: BackupSession, epoch: number, key = KEY, id = 'p1'): Message {
  const hello = session.hello() as { nonce: string };
  return { type: 'auth', nonce: 'pn', node: 'http://primary', id, role: 'primary', epoch, mac: primaryProof(key, hello.nonce, 'pn', 'http://primary', epoch, id) };
}

describe('BackupSession: one accepted connection', () => {
  it('greets with its nonce and what it is, and admits a primary that proves the key, with a welcome it can check', () => {
    const session = new BackupSession(node('backup'), 'bn');
    expect(session.hello()).toMatchObject({ type: 'hello', nonce: 'bn', id: 'self', role: 'backup', epoch: 3, holdsState: false });
    const step = session.receive(auth(session, 3), 0, false);
    expect(step.admitted).toEqual({ node: 'http://primary', epoch: 3 });
    expect(step.refuse).toBeUndefined();
    expect(proofsMatch(backupProof(KEY, 'bn', 'pn'), (step.send as { mac: string }).mac)).toBe(true);
    expect(session.authenticated).toBe(true);
  });

  it('refuses a wrong key, a message before the handshake, and a primary at an older epoch (fencing it with its own)', () => {
    expect(new BackupSession(node('backup'), 'bn').receive(auth(new BackupSession(node('backup'), 'bn'), 3, Buffer.from('another-key-of-sixteen')), 0, false).refuse?.reason).toBe('wrong cluster key');
    expect(new BackupSession(node('backup'), 'bn').receive({ type: 'batch', batch: {} }, 0, false).refuse?.reason).toBe('expected auth, got batch');
    const session = new BackupSession(node('backup', 5), 'bn');
    const step = session.receive(auth(session, 4), 0, false);
    expect(step.refuse).toMatchObject({ epoch: 5 });
    expect(session.farewell(step.refuse!)).toMatchObject({ type: 'refuse', epoch: 5, id: 'self' });
    expect(session.authenticated).toBe(false);
  });

  it('tells a primary it was replaced when a newer one proves the key to it, and refuses that one', () => {
    const session = new BackupSession(node('primary', 3), 'bn');
    const step = session.receive(auth(session, 4), 0, false);
    expect(step.replacedBy).toBe(4);
    expect(step.refuse).toBeDefined();
    const older = new BackupSession(node('primary', 3), 'bn');
    expect(older.receive(auth(older, 2), 0, false).replacedBy).toBeUndefined();
  });

  it('refuses the stream of a connection a newer primary connection replaced', () => {
    const session = new BackupSession(node('backup'), 'bn');
    session.receive(auth(session, 3), 0, true);
    expect(session.receive({ type: 'heartbeat', epoch: 3, at: 0 }, 0, false).refuse?.reason).toBe('replaced by a newer connection from a primary');
  });
});

describe('JoinRequest against BackupSession', () => {
  function converse(accepting: AcceptingNode, key = KEY): { join?: string; error?: Error } {
    const session = new BackupSession(accepting, 'bn');
    const request = new JoinRequest(key, 'joiner:9', 'jn', 'self:1');
    const join = request.receive(session.hello()).send!;
    const step = session.receive(join, 0, false);
    const answer = request.receive(step.send ?? session.farewell(step.refuse!));
    return { join: step.join, error: answer.error };
  }

  it('a primary takes the backup on, and the joiner checks its welcome', () => {
    expect(converse(node('primary'))).toEqual({ join: 'joiner:9', error: undefined });
  });

  it('a backup sends the joiner on to the primary it follows; a stopped primary takes no one; a wrong key is refused', () => {
    const backup = node('backup');
    backup.follower.primary = { id: 'p1', address: 'primary:7' };
    backup.follower.primaryNode = 'http://primary';
    const redirected = converse(backup);
    expect(redirected.join).toBeUndefined();
    expect(redirected.error).toBeInstanceOf(JoinRefusedError);
    expect((redirected.error as JoinRefusedError).primary).toBe('primary:7');
    const stopped = converse(node('stopped'));
    expect(stopped.join).toBeUndefined();
    expect((stopped.error as JoinRefusedError).primary).toBeUndefined();
    expect(converse(node('primary'), Buffer.from('another-key-of-sixteen')).error?.message).toMatch(/wrong cluster key/);
  });
});

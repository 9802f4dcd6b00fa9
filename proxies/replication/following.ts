// A backup's side of the protocol, as plain decisions: whether to accept a primary that authenticates,
// what to answer each message from it, when to suspect it, and who takes over when it falls silent. The
// replica (backup.ts) holds the state; this holds what the backup knows about its primary. The TCP
// server (transport/server.ts), the node (serving/node.ts) and the simulation drive the same code.
import type { BackupReplica } from './backup.js';
import type { Decision, ReplicationBatch } from './link.js';

export interface Member {
  /** A process id: addresses can be spelled many ways, ids cannot. */
  id: string;
  address: string;
}

/** What a backup answers its primary; `refuse` closes the connection with that reason. */
export type FollowerReply =
  | { type: 'ack'; epoch: number; upTo: number }
  | { type: 'heartbeat'; epoch: number; at: number }
  | { type: 'refuse'; reason: string; epoch?: number }
  | undefined;

/** What the primary sends a backup after the handshake. */
export type PrimaryMessage =
  | { type: 'snapshot'; snapshot: unknown }
  | { type: 'batch'; batch: unknown }
  | { type: 'decide'; decision: unknown }
  | { type: 'heartbeat'; epoch: number; at: number; peers?: unknown }
  | { type: string };

export class Follower {
  /** When the current primary was last heard from (any message): for failure detection. */
  lastHeard = 0;
  /** The primary's name as it introduced itself (its HTTP address): where clients should go. */
  primaryNode: string | undefined;
  /** The primary's live backups, in the order they joined (from its heartbeats): the succession. */
  peers: Member[] = [];

  constructor(
    readonly replica: BackupReplica,
    readonly self: Member,
  ) {}

  /**
   * A primary proved the key and claims `epoch`. A node that is primary itself (at `ownEpoch`), or that
   * follows a newer epoch, refuses it and says its epoch, which fences the caller off.
   */
  admit(primary: { epoch: number; node: string }, ownEpoch: number, isPrimary: boolean, now: number): FollowerReply {
    if (isPrimary || !(primary.epoch >= ownEpoch)) return { type: 'refuse', reason: `stale epoch ${primary.epoch}: this node is at epoch ${ownEpoch}`, epoch: ownEpoch };
    this.primaryNode = primary.node;
    this.lastHeard = now;
    return undefined;
  }

  /** A message from the admitted primary: apply it and say what to answer. Throws to refuse it. */
  receive(message: PrimaryMessage, now: number): FollowerReply {
    const replica = this.replica;
    this.lastHeard = now;
    switch (message.type) {
      case 'snapshot': {
        const snapshot = (message as { snapshot: Parameters<BackupReplica['loadSnapshot']>[0] }).snapshot;
        // A primary with less than this backup holds (one restarted empty, say) must not erase it.
        if (replica.hasSnapshot && Number(snapshot?.epoch) <= replica.currentEpoch && Number(snapshot?.seq) < replica.lastApplied) {
          throw new Error(`the snapshot (epoch ${snapshot.epoch}, record ${snapshot.seq}) is older than what this backup holds (epoch ${replica.currentEpoch}, record ${replica.lastApplied})`);
        }
        replica.loadSnapshot(snapshot);
        return { type: 'ack', epoch: replica.currentEpoch, upTo: replica.lastApplied };
      }
      case 'batch': {
        const ack = replica.receive((message as { batch: ReplicationBatch }).batch);
        return { type: 'ack', epoch: ack.epoch, upTo: ack.upTo };
      }
      case 'decide':
        replica.decide((message as { decision: Decision }).decision);
        return undefined;
      case 'heartbeat': {
        const peers = (message as { peers?: unknown }).peers;
        if (Array.isArray(peers)) this.peers = peers.filter((p): p is Member => typeof p?.id === 'string' && typeof p?.address === 'string');
        return { type: 'heartbeat', epoch: replica.currentEpoch, at: now };
      }
      default:
        throw new Error(`unexpected ${message.type} from the primary`);
    }
  }

  /** Only a backup that holds a primary's snapshot may suspect it (and so take over). */
  suspects(now: number, timeoutMs: number): boolean {
    return this.replica.hasSnapshot && now - this.lastHeard > timeoutMs;
  }

  /** Who takes over, in order: the primary's live backups as it last listed them (this one first if absent). */
  succession(): Member[] {
    return this.peers.some((m) => m.id === this.self.id) ? this.peers : [this.self, ...this.peers];
  }
}

/** What a node says it is when asked (its greeting); undefined when it does not answer. */
export interface Greeting {
  role?: string;
  epoch?: number;
}

export type SuccessionDecision =
  /** This node is the first live one in the succession: it takes over. */
  | { kind: 'promote' }
  /** An earlier member already took over (a newer epoch): join it. */
  | { kind: 'follow'; member: Member }
  /** An earlier member is alive and has not taken over yet: give it time. */
  | { kind: 'defer'; member: Member };

/**
 * The primary is silent. Among its backups (in the order they joined) the first one alive takes over;
 * the others join whichever has become primary. So one backup is promoted, not all of them.
 */
export async function decideSuccession(follower: Follower, ownEpoch: number, probe: (member: Member) => Promise<Greeting | undefined>): Promise<SuccessionDecision> {
  for (const member of follower.succession()) {
    if (member.id === follower.self.id) return { kind: 'promote' };
    const found = await probe(member);
    if (found?.role === 'primary' && (found.epoch ?? 0) > ownEpoch) return { kind: 'follow', member };
    if (found) return { kind: 'defer', member };
  }
  return { kind: 'promote' };
}

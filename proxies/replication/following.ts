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
  | { type: 'refuse'; reason: string; epoch?: number; id?: string }
  | undefined;

/** What the primary sends a backup after the handshake. */
export type PrimaryMessage =
  | { type: 'snapshot'; snapshot: unknown }
  | { type: 'batch'; batch: unknown }
  | { type: 'decide'; decision: unknown }
  | { type: 'heartbeat'; epoch: number; at: number; peers?: unknown; primary?: unknown }
  | { type: string };

export class Follower {
  /** When the current primary was last heard from (any message): for failure detection. */
  lastHeard = 0;
  /** The primary's name as it introduced itself (its HTTP address): where clients should go. */
  primaryNode: string | undefined;
  /** The primary's live backups, in the order they joined (from its heartbeats): the succession. */
  peers: Member[] = [];
  /** The primary itself, as its heartbeats name it: asked first when it falls silent. */
  primary: Member | undefined;
  /**
   * Set when this backup found it holds less than was committed (a failed promotion): it must not take
   * over, and says so to nodes that ask, until a primary sends it a fresh snapshot.
   */
  cannotLead: string | undefined;
  /**
   * Set while this backup takes over: its replica must not change under the promotion, which settles
   * exactly the records it held when it began (one that arrived later would be decided without being
   * looked up). The old primary's messages are refused meanwhile; it drops this backup.
   */
  takingOver = false;

  constructor(
    readonly replica: BackupReplica,
    readonly self: Member,
  ) {}

  /**
   * A primary proved the key and claims `epoch`. A node that is primary itself (at `ownEpoch`), or that
   * follows a newer epoch, refuses it and says its epoch, which fences the caller off.
   */
  admit(primary: { epoch: number; node: string }, ownEpoch: number, isPrimary: boolean, now: number): FollowerReply {
    if (this.takingOver) return { type: 'refuse', reason: 'this backup is taking over' };
    if (isPrimary || !(primary.epoch >= ownEpoch)) return { type: 'refuse', reason: `stale epoch ${primary.epoch}: this node is at epoch ${ownEpoch}`, epoch: ownEpoch, id: this.self.id };
    this.primaryNode = primary.node;
    this.lastHeard = now;
    return undefined;
  }

  /** A message from the admitted primary: apply it and say what to answer. Throws to refuse it. */
  receive(message: PrimaryMessage, now: number): FollowerReply {
    const replica = this.replica;
    if (this.takingOver) return { type: 'refuse', reason: 'this backup is taking over' };
    this.lastHeard = now;
    switch (message.type) {
      case 'snapshot': {
        const snapshot = (message as { snapshot: Parameters<BackupReplica['loadSnapshot']>[0] }).snapshot;
        // A primary with less than this backup holds (one restarted empty, say) must not erase it.
        if (replica.hasSnapshot && Number(snapshot?.epoch) <= replica.currentEpoch && Number(snapshot?.seq) < replica.lastApplied) {
          throw new Error(`the snapshot (epoch ${snapshot.epoch}, record ${snapshot.seq}) is older than what this backup holds (epoch ${replica.currentEpoch}, record ${replica.lastApplied})`);
        }
        replica.loadSnapshot(snapshot);
        this.cannotLead = undefined;
        // The succession as of the snapshot, so a backup that loses its primary before the first
        // heartbeat knows whom to ask.
        const { peers, primary } = message as { peers?: unknown; primary?: unknown };
        if (Array.isArray(peers)) this.peers = peers.filter(isMember);
        if (isMember(primary)) this.primary = primary;
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
        const { peers, primary } = message as { peers?: unknown; primary?: unknown };
        if (Array.isArray(peers)) this.peers = peers.filter(isMember);
        if (isMember(primary)) this.primary = primary;
        return { type: 'heartbeat', epoch: replica.currentEpoch, at: now };
      }
      default:
        throw new Error(`unexpected ${message.type} from the primary`);
    }
  }

  /** What this backup says it is when asked: a backup that must not take over says 'behind'. */
  get greetingRole(): 'backup' | 'behind' {
    return this.cannotLead ? 'behind' : 'backup';
  }

  /** Only a backup that holds a primary's snapshot may suspect it (and so take over). */
  suspects(now: number, timeoutMs: number): boolean {
    return this.replica.hasSnapshot && now - this.lastHeard > timeoutMs;
  }

  /**
   * Who takes over, in order: the primary's live backups as it last listed them. A backup missing from
   * the list (the primary dropped it, or it joined after the last heartbeat) comes last: the others
   * may hold records it does not.
   */
  succession(): Member[] {
    return this.peers.some((m) => m.id === this.self.id) ? this.peers : [...this.peers, this.self];
  }
}

/**
 * Whether a primary supersedes another: a newer epoch, or (two backups took over at once, neither
 * reaching the other before) the same epoch and the greater process id. Both ends of a meeting
 * decide alike, so exactly one of two such primaries steps down.
 */
export function supersedes(other: { epoch: number; id?: string }, own: { epoch: number; id: string }): boolean {
  return other.epoch > own.epoch || (other.epoch === own.epoch && typeof other.id === 'string' && other.id > own.id);
}

function isMember(value: unknown): value is Member {
  const m = value as Member | undefined;
  return typeof m?.id === 'string' && typeof m?.address === 'string';
}

/** What a node says it is when asked (its greeting); undefined when it does not answer. */
export interface Greeting {
  role?: string;
  epoch?: number;
  /** Whether it holds a primary's snapshot: a backup that does not cannot take over. */
  holdsState?: boolean;
  /** The primary a backup follows (its replication port): where a backup of an older epoch should go. */
  following?: Member;
}

export type SuccessionDecision =
  /** This node is the first live one in the succession: it takes over. */
  | { kind: 'promote' }
  /** An earlier member already took over (a newer epoch): join it. */
  | { kind: 'follow'; member: Member }
  /** An earlier member is alive and has not taken over yet: give it time. */
  | { kind: 'defer'; member: Member }
  /** Nobody can take over now (this backup is behind, and no one else answered): ask again later. */
  | { kind: 'wait' };

/**
 * The primary is silent. It is asked first: a connection that broke while both ends live (a reset, a
 * gap refused, a timeout on a slow link) is not a crash, and taking over from a live primary would leave
 * two. If it answers as the primary of this epoch or a newer one, this backup asks it to take it on
 * again. Otherwise, among its backups (in the order they joined) the first one alive takes over; the
 * others join whichever has become primary. So one backup is promoted, not all of them.
 */
export async function decideSuccession(follower: Follower, ownEpoch: number, probe: (member: Member) => Promise<Greeting | undefined>): Promise<SuccessionDecision> {
  const primary = follower.primary;
  if (primary && primary.id !== follower.self.id) {
    const found = await probe(primary);
    if (found?.role === 'primary' && (found.epoch ?? 0) >= ownEpoch) return { kind: 'follow', member: primary };
  }
  for (const member of follower.succession()) {
    if (member.id === follower.self.id) {
      if (!follower.cannotLead) return { kind: 'promote' };
      continue;
    }
    const found = await probe(member);
    if (found?.role === 'primary' && (found.epoch ?? 0) > ownEpoch) return { kind: 'follow', member };
    // A backup that follows a newer primary says where it is: joined, if it is there.
    if (found?.role === 'backup' && (found.epoch ?? 0) > ownEpoch && isMember(found.following) && found.following.id !== follower.self.id) {
      const primary = await probe(found.following);
      if (primary?.role === 'primary' && (primary.epoch ?? 0) > ownEpoch) return { kind: 'follow', member: found.following };
    }
    // A backup that may take over is given time to; one that is gone, behind, stopped, stale, still
    // waiting for its first snapshot, or following an older primary than this one is not.
    if (found?.role === 'backup' && found.holdsState !== false && (found.epoch ?? 0) >= ownEpoch) return { kind: 'defer', member };
  }
  return follower.cannotLead ? { kind: 'wait' } : { kind: 'promote' };
}

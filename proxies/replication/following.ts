// A backup's side of the protocol, as plain decisions: whether to accept a primary that authenticates,
// what to answer each message from it, whether it may take over when the primary's connection ends, and
// who takes over then. The replica (backup.ts) holds the state; this holds what the backup knows about
// its primary. The TCP server (transport/server.ts), the node (serving/node.ts) and the simulation drive
// the same code.
//
// Without a configuration authority, a backup takes over only when it can prove that the primary never
// acknowledged a write without it. The primary drops a backup, and acknowledges without it, only once
// it has not heard from it for the drop timeout T (shipping.ts: the lease). Every answer this backup
// sends carries a ping number, and the primary echoes the newest ping it has heard; so the primary counts
// on this backup until at least T after the echoed ping was sent. If the primary's process is found gone
// (its connection ended and its port refused, or it answered as another process or stopped) before that
// lease ran out, it died before it could have acknowledged anything without this backup. A backup that
// cannot show that (it heard nothing for longer, its own clock jumped in a stall, the primary said it
// dropped it, the primary only fell silent) does not take over: it says why, and an operator decides.
import type { BackupReplica } from './backup.js';
import type { Decision, ReplicationBatch } from './link.js';
import type { SnapshotHeader, SnapshotPart } from './snapshot.js';

export interface Member {
  /** A process id: addresses can be spelled many ways, ids cannot. */
  id: string;
  address: string;
}

/** What a backup answers its primary; `refuse` closes the connection with that reason. */
export type FollowerReply =
  | { type: 'ack'; epoch: number; upTo: number; ping: number }
  /** A part of the snapshot arrived and was read: the primary may send another (its window). */
  | { type: 'snapshot-ack'; part: number; ping: number }
  | { type: 'heartbeat'; epoch: number; at: number; ping: number }
  | { type: 'refuse'; reason: string; epoch?: number; id?: string }
  | undefined;

/** What the primary sends a backup after the handshake; `echo` is the newest ping it heard from it. */
export type PrimaryMessage =
  /** A snapshot begins (streamed, replication/snapshot.ts), with the succession it joins (as a heartbeat names it). */
  (
    | { type: 'snapshot-begin'; header: unknown; peers?: unknown; primary?: unknown }
    | { type: 'snapshot-part'; part: number; records: unknown; replies?: unknown }
    | { type: 'snapshot-end'; parts: number }
    | { type: 'batch'; batch: unknown }
    | { type: 'decide'; decision: unknown }
    | { type: 'heartbeat'; epoch: number; at: number; peers?: unknown; primary?: unknown }
    /** The primary no longer counts on this backup: it may acknowledge writes this backup does not hold. */
    | { type: 'dropped'; reason?: unknown }
    | { type: string }
  ) & { echo?: unknown };

/**
 * The share of the drop timeout a backup relies on: the primary's and the backup's clocks may run at
 * slightly different rates, and the backup must err on the side of not taking over.
 */
const LEASE_SHARE = 0.9;

/** How many unanswered pings a backup remembers: a primary that echoes none for this long is not counting on it anyway. */
const MAX_PINGS = 4096;

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
   * The host the primary's connection comes from: where to ask it when it advertised an address that
   * means "any host" (0.0.0.0, ::), which would reach this backup itself.
   */
  primaryHost: string | undefined;
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
  /**
   * When the newest ping the primary echoed was sent (this backup's monotonic clock): the primary
   * counts on this backup, and acknowledges nothing without it, until at least `dropTimeoutMs` later.
   */
  countedSince: number | undefined;
  /** The primary's connection ended from its side at this time, without it saying it dropped this backup. */
  primaryEndedAt: number | undefined;
  /** The primary was found gone while it still counted on this backup: it may take over. */
  primaryGoneInTime = false;
  /**
   * Why this backup must not take over on its own: it may have been dropped, and the primary may have
   * acknowledged writes it does not hold. Cleared by a primary's snapshot; an operator may promote anyway.
   */
  doubt: string | undefined;
  /**
   * This connection's primary has sent its snapshot: the backup holds that primary's state (a snapshot of
   * an earlier primary does not count). /health says `ready` only then.
   */
  caughtUp = false;
  /** Why the last succession decision would not take over (a doubt, or no answer from the primary yet). */
  unsure: string | undefined;
  /** Snapshots begun on this backup (a join loop counts those that broke off). */
  transfersBegun = 0;
  /** The snapshot being received on this connection: its begin (to know a duplicate), parts read, parts that came early, its end. */
  private transfer: { begin: string; read: number; waiting: Map<number, SnapshotPart>; end: number | undefined } | undefined;
  private nextPing = 1;
  private readonly pingsSent = new Map<number, number>();

  constructor(
    readonly replica: BackupReplica,
    readonly self: Member,
    /** How long a primary waits without hearing from a backup before it acknowledges without it. */
    readonly dropTimeoutMs = 1_000,
  ) {}

  /** Until when (this backup's clock) the primary surely still counts on it; -Infinity when unknown. */
  get countedUntil(): number {
    return this.countedSince === undefined ? -Infinity : this.countedSince + LEASE_SHARE * this.dropTimeoutMs;
  }

  private ping(now: number): number {
    const ping = this.nextPing++;
    this.pingsSent.set(ping, now);
    if (this.pingsSent.size > MAX_PINGS) this.pingsSent.delete(this.pingsSent.keys().next().value!);
    return ping;
  }

  private echoed(echo: unknown): void {
    if (typeof echo !== 'number') return;
    const sentAt = this.pingsSent.get(echo);
    if (sentAt === undefined) return;
    this.countedSince = Math.max(this.countedSince ?? -Infinity, sentAt);
    for (const ping of this.pingsSent.keys()) {
      if (ping > echo) break;
      this.pingsSent.delete(ping);
    }
  }

  /**
   * The current primary's connection ended from its side (a FIN or a reset; not one this backup closed,
   * and not after the primary said it dropped it). The detector then checks whether the primary is gone.
   */
  connectionEnded(now: number): void {
    if (!this.replica.hasSnapshot || this.takingOver) return;
    this.primaryEndedAt ??= now;
  }

  /**
   * Whether to run the succession: the primary's connection ended and no primary has connected since.
   * A backup in doubt runs it too, to find a primary to follow; it never decides to take over.
   */
  suspects(): boolean {
    return this.replica.hasSnapshot && this.primaryEndedAt !== undefined;
  }

  /**
   * Why this backup would not take over if its primary were lost now, or undefined if it would: for
   * /health and the log, so that an operator knows before the outage.
   */
  takeoverBlocked(now: number): string | undefined {
    if (!this.replica.hasSnapshot) return "it holds no primary's state yet";
    if (this.cannotLead) return this.cannotLead;
    if (this.doubt) return this.doubt;
    if (this.primaryEndedAt !== undefined && this.unsure) return this.unsure;
    if (this.primaryEndedAt === undefined && now - this.lastHeard > this.dropTimeoutMs) {
      return `its primary has been silent for ${Math.round(now - this.lastHeard)} ms while its connection stays open: it may be paused or cut off, and may have dropped this backup; a backup never takes over on silence alone`;
    }
    return undefined;
  }

  /**
   * A primary proved the key and claims `epoch`. A node that is primary itself (at `ownEpoch`), or that
   * follows a newer epoch, refuses it and says its epoch, which fences the caller off.
   */
  admit(primary: { epoch: number; node: string }, ownEpoch: number, isPrimary: boolean, now: number): FollowerReply {
    if (this.takingOver) return { type: 'refuse', reason: 'this backup is taking over' };
    if (isPrimary || !(primary.epoch >= ownEpoch)) return { type: 'refuse', reason: `stale epoch ${primary.epoch}: this node is at epoch ${ownEpoch}`, epoch: ownEpoch, id: this.self.id };
    this.primaryNode = primary.node;
    this.lastHeard = now;
    // A new connection: whether this primary counts on this backup is learnt afresh.
    this.countedSince = undefined;
    this.primaryEndedAt = undefined;
    this.primaryGoneInTime = false;
    this.unsure = undefined;
    this.caughtUp = false;
    this.transfer = undefined;
    this.pingsSent.clear();
    return undefined;
  }

  /** A message from the admitted primary: apply it and say what to answer. Throws to refuse it. */
  receive(message: PrimaryMessage, now: number): FollowerReply {
    const replica = this.replica;
    if (this.takingOver) return { type: 'refuse', reason: 'this backup is taking over' };
    this.lastHeard = now;
    this.echoed((message as { echo?: unknown }).echo);
    switch (message.type) {
      case 'snapshot-begin': {
        const header = (message as { header: SnapshotHeader }).header;
        // The same begin again (a duplicate the network made) changes nothing.
        const begin = JSON.stringify(header);
        if (begin === this.transfer?.begin) return undefined;
        // A primary with less than this backup holds (one restarted empty, say) must not erase it.
        if (replica.hasSnapshot && Number(header?.epoch) <= replica.currentEpoch && Number(header?.seq) < replica.lastApplied) {
          throw new Error(`the snapshot (epoch ${header.epoch}, record ${header.seq}) is older than what this backup holds (epoch ${replica.currentEpoch}, record ${replica.lastApplied})`);
        }
        replica.beginSnapshot(header);
        this.transfer = { begin, read: 0, waiting: new Map(), end: undefined };
        this.transfersBegun++;
        this.caughtUp = false;
        // The succession as of the snapshot, so a backup that loses its primary before the first
        // heartbeat knows whom to ask.
        const { peers, primary } = message as { peers?: unknown; primary?: unknown };
        if (Array.isArray(peers)) this.peers = peers.filter(isMember);
        if (isMember(primary)) this.primary = this.reachable(primary);
        return undefined;
      }
      case 'snapshot-part':
      case 'snapshot-end': {
        const transfer = this.transfer;
        if (!transfer) throw new Error(`${message.type} before the snapshot began`);
        const n = Number((message as { part?: unknown; parts?: unknown })[message.type === 'snapshot-part' ? 'part' : 'parts']);
        if (!Number.isSafeInteger(n) || n < 0) throw new Error(`malformed ${message.type}`);
        // Parts are read in order; one that overtook another waits for it (a window's worth at most),
        // and one read before (a duplicate) is ignored.
        if (message.type === 'snapshot-end') transfer.end = n;
        else if (n > transfer.read) {
          if (transfer.waiting.size >= 64) throw new Error(`snapshot part ${n} came while part ${transfer.read + 1} is still missing`);
          transfer.waiting.set(n, message as unknown as SnapshotPart);
        }
        const before = transfer.read;
        for (let next = transfer.waiting.get(transfer.read + 1); next; next = transfer.waiting.get(transfer.read + 1)) {
          transfer.waiting.delete(transfer.read + 1);
          replica.snapshotPart(next);
          transfer.read++;
        }
        if (transfer.end !== undefined && transfer.end < transfer.read) throw new Error(`the snapshot ended after ${transfer.end} parts; ${transfer.read} came`);
        if (transfer.end === transfer.read && replica.loading) {
          replica.finishSnapshot();
          this.cannotLead = undefined;
          this.doubt = undefined;
          this.caughtUp = true;
          // Holding the snapshot and every record since: the primary counts on it from this acknowledgement.
          return { type: 'ack', epoch: replica.currentEpoch, upTo: replica.lastReceived, ping: this.ping(now) };
        }
        return transfer.read > before ? { type: 'snapshot-ack', part: transfer.read, ping: this.ping(now) } : undefined;
      }
      case 'batch': {
        // Every connection starts with a snapshot: a batch before it belongs to no state this backup holds.
        if (!this.transfer) throw new Error('a batch came before the snapshot');
        const ack = replica.receive((message as { batch: ReplicationBatch }).batch);
        // Held until the snapshot is complete; acknowledged with it (the primary does not wait for it before).
        if (replica.loading) return undefined;
        return { type: 'ack', epoch: ack.epoch, upTo: ack.upTo, ping: this.ping(now) };
      }
      case 'decide':
        if (!this.transfer) throw new Error('a decision came before the snapshot');
        replica.decide((message as { decision: Decision }).decision);
        return undefined;
      case 'heartbeat': {
        const { peers, primary } = message as { peers?: unknown; primary?: unknown };
        if (Array.isArray(peers)) this.peers = peers.filter(isMember);
        if (isMember(primary)) this.primary = this.reachable(primary);
        return { type: 'heartbeat', epoch: replica.currentEpoch, at: now, ping: this.ping(now) };
      }
      case 'dropped': {
        const reason = typeof (message as { reason?: unknown }).reason === 'string' ? ` (${(message as { reason: string }).reason})` : '';
        this.doubt = `its primary dropped it${reason} and may since have acknowledged writes it does not hold; it is taken on again with a fresh snapshot`;
        return undefined;
      }
      default:
        throw new Error(`unexpected ${message.type} from the primary`);
    }
  }

  private reachable(primary: Member): Member {
    const match = /^(?:0\.0\.0\.0|\[?::\]?|):(\d+)$/.exec(primary.address);
    if (!match || !this.primaryHost) return primary;
    const host = this.primaryHost.includes(':') ? `[${this.primaryHost}]` : this.primaryHost;
    return { id: primary.id, address: `${host}:${match[1]}` };
  }

  /** What this backup says it is when asked: one that must not take over says 'behind' or 'unsure'. */
  get greetingRole(): 'backup' | 'behind' | 'unsure' {
    return this.cannotLead ? 'behind' : this.doubt ? 'unsure' : 'backup';
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
  /** Nothing listens on the node's port: its process is gone (the host answered with a reset). */
  refused?: boolean;
  /** The connection was reset before the greeting: a listener dying as it was reached, or shedding load. Ask again. */
  reset?: boolean;
  /** The process id it introduced itself with. */
  id?: string;
  /** A primary that stopped for good: the backups that hold everything it acknowledged, in succession order. */
  holders?: Member[];
  /** A primary that was replaced (fenced): the newer epoch. It names no holders; its backups follow the newer one. */
  replacedAt?: number;
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
  | { kind: 'wait' }
  /** This backup cannot show that the primary never acknowledged without it: it must not take over. */
  | { kind: 'doubt'; reason: string };

/**
 * The primary's connection ended. The primary is asked first: a connection that broke while both ends
 * live (a reset, a gap refused) is not a crash, and taking over from a live primary would leave two. If
 * it answers as the primary of this epoch or a newer one, this backup asks it to take it on again. If it
 * is gone (its port refuses, or another process or a stopped one answers) while it still counted on this
 * backup (see the top of this file), then among its backups, in the order they joined, the first one
 * alive takes over; the others join whichever has become primary. So one backup is promoted, not all of
 * them. Anything else (no answer: paused or cut off; found gone too late) is doubt: no takeover.
 * `now` is read after each probe: a late answer counts as late.
 */
export async function decideSuccession(
  follower: Follower,
  ownEpoch: number,
  probe: (member: Member) => Promise<Greeting | undefined>,
  now: () => number,
  /** Other nodes this one was told of (--backups): asked last, for a primary to follow, by one that may not take over. */
  others: Member[] = [],
): Promise<SuccessionDecision> {
  const primary = follower.primary;
  // A primary that connected while the probes were out (its admission clears primaryEndedAt) makes this
  // decision moot: nothing learnt about the old connection may touch what the backup knows of the new one.
  const ended = follower.primaryEndedAt;
  const moot = () => follower.primaryEndedAt !== ended;
  // Why this backup must not take over (it still looks for a primary to follow: the old one, or a new one).
  let doubt = follower.doubt;
  if (!follower.primaryGoneInTime) {
    if (primary && primary.id !== follower.self.id) {
      let found = await probe(primary);
      // A reset before the greeting proves nothing yet: asked again while the primary still counts on this backup.
      while (found?.reset && now() < follower.countedUntil && !moot()) found = await probe(primary);
      if (moot()) return { kind: 'wait' };
      if (found?.role === 'primary' && (found.epoch ?? 0) >= ownEpoch) return { kind: 'follow', member: primary };
      const verdict = goneInTime(follower, primary, found, now());
      if (verdict === 'named' || verdict === 'in time') {
        // Proof: the stopped primary names this backup, or it died while it still counted on it. A doubt
        // this backup already had still stands, whatever the proof: others may have heard it say 'unsure'
        // and gone ahead (found by a second adversarial review), and a 'dropped' notice outweighs a clock
        // that may have stopped (a suspended host). Only being taken on again ends a doubt.
        follower.primaryGoneInTime = follower.doubt === undefined;
      } else {
        // Too late, or the primary says so: that will not change. No answer: ask again next time.
        if (verdict.lasting) follower.doubt ??= verdict.reason;
        doubt ??= verdict.reason;
      }
    } else {
      doubt ??= 'it does not know where its primary was, to check that it is gone';
    }
  }
  follower.unsure = doubt;
  for (const member of follower.succession()) {
    if (member.id === follower.self.id) {
      if (!follower.cannotLead && doubt === undefined) return { kind: 'promote' };
      continue;
    }
    const found = await probe(member);
    if (moot()) return { kind: 'wait' };
    if (found?.id === follower.self.id) continue; // its address reaches this very node: nothing learnt of it
    if (found?.role === 'primary' && (found.epoch ?? 0) > ownEpoch) return tookOver(follower, member, found.epoch!);
    // A backup that follows a newer primary says where it is: joined, if it is there.
    if (found?.role === 'backup' && (found.epoch ?? 0) > ownEpoch && isMember(found.following) && found.following.id !== follower.self.id) {
      const primary = await probe(found.following);
      if (moot()) return { kind: 'wait' };
      if (primary?.role === 'primary' && (primary.epoch ?? 0) > ownEpoch) return tookOver(follower, found.following, primary.epoch!);
    }
    // Passed over only when it says it will not take over: it may not (unsure, behind), it holds no state,
    // it follows an older primary, or it stopped naming this backup among those holding all it acknowledged.
    const willNot =
      found !== undefined &&
      (found.role === 'unsure' ||
        found.role === 'behind' ||
        (found.role === 'backup' && (found.holdsState === false || (found.epoch ?? 0) < ownEpoch)) ||
        (found.role === 'stopped' && Array.isArray(found.holders) && found.holders.some((m) => m?.id === follower.self.id)));
    if (willNot) continue;
    // A backup that may take over is given time to. (One that may not itself looks again later.)
    if (found?.role === 'backup') {
      if (doubt === undefined) return { kind: 'defer', member };
      continue;
    }
    if (doubt !== undefined) continue;
    // Silent, or reset: it may be cut off from this backup and taking over now. Ask again later.
    if (found === undefined || found.reset || !(found.refused || found.role === 'stopped')) return { kind: 'wait' };
    // Gone, or stopped without naming this backup: it may have taken over first and acknowledged writes
    // this backup does not hold.
    doubt =
      follower.doubt ??= `${member.address}, before this backup in the succession, ${found.refused ? 'is gone' : 'stopped without naming this backup'}: it may have taken over first and acknowledged writes this backup does not hold`;
  }
  if (doubt === undefined && !follower.cannotLead) return { kind: 'promote' };
  // A backup that may not take over may have been left behind by a takeover it heard nothing of.
  const listed = new Set(follower.succession().map((m) => m.id));
  for (const member of others) {
    if (listed.has(member.id) || member.id === follower.self.id || member.address === follower.self.address) continue;
    const found = await probe(member);
    if (moot()) return { kind: 'wait' };
    if (found?.id === follower.self.id) continue;
    if (found?.role === 'primary' && (found.epoch ?? 0) > ownEpoch) return tookOver(follower, member, found.epoch!);
    if (found?.role === 'backup' && (found.epoch ?? 0) > ownEpoch && isMember(found.following) && found.following.id !== follower.self.id) return tookOver(follower, found.following, found.epoch!);
  }
  return doubt !== undefined ? { kind: 'doubt', reason: doubt } : { kind: 'wait' };
}

/**
 * Another node took over: follow it. Until it has taken this backup on (its snapshot), this backup may
 * lack what it acknowledged, so it must not take over itself, even if that node falls silent or dies.
 */
function tookOver(follower: Follower, member: Member, epoch: number): SuccessionDecision {
  follower.doubt ??= `${member.address} took over at epoch ${epoch} and has not taken this backup on yet: it may have acknowledged writes this backup does not hold`;
  return { kind: 'follow', member };
}

/**
 * 'named' when the stopped primary names this backup among those holding all it acknowledged; 'in time'
 * when `found` shows the primary gone while it still counted on this backup; else why not, and whether
 * that will last (found gone too late, or a stopped primary says so) or may change (no answer).
 */
function goneInTime(follower: Follower, primary: Member, found: Greeting | undefined, at: number): 'named' | 'in time' | { reason: string; lasting: boolean } {
  // A primary replaced by a newer one: that one may acknowledge what this backup lacks; follow it instead.
  if (found?.role === 'stopped' && found.id === primary.id && typeof found.replacedAt === 'number') {
    return { reason: `its primary was replaced by a newer one (epoch ${found.replacedAt}): this backup follows that one once it is taken on`, lasting: true };
  }
  // A primary that stopped for good (it acknowledges nothing more) knows which backups hold all it did.
  if (found?.role === 'stopped' && found.id === primary.id && Array.isArray(found.holders)) {
    if (!found.holders.some((m) => m?.id === follower.self.id)) return { reason: 'its primary stopped, and says this backup does not hold everything it acknowledged', lasting: true };
    // Its list is the succession now: every backup it names reads the same one, so one of them takes over.
    follower.peers = found.holders.filter(isMember);
    return 'named';
  }
  if (found?.id !== undefined && (found.id === follower.self.id || follower.peers.some((m) => m.id === found.id))) {
    return {
      reason: `its primary's address ${primary.address} reaches ${found.id === follower.self.id ? 'this backup itself' : 'another backup'} (a loopback, wildcard or shared address was advertised): it cannot tell whether the primary is gone`,
      lasting: false,
    };
  }
  const gone = found?.refused === true || (found !== undefined && !found.reset && (found.role !== 'primary' || (found.id !== undefined && found.id !== primary.id)));
  if (!gone)
    return {
      reason: `its primary's connection ended but the primary at ${primary.address} neither answered nor refused: it may be alive, paused or cut off, and may have dropped this backup`,
      lasting: false,
    };
  if (at < follower.countedUntil) return 'in time';
  const since =
    follower.countedSince === undefined
      ? 'it never confirmed, on its last connection, that it counted on this backup'
      : `it last confirmed counting on this backup ${Math.round(at - follower.countedSince)} ms ago, longer than ${LEASE_SHARE} of the ${follower.dropTimeoutMs} ms drop timeout`;
  return { reason: `its primary is gone, but ${since} (a stall, a slow network or a drop), so it may have acknowledged writes this backup does not hold`, lasting: true };
}

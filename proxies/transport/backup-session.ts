// One connection accepted on a node's replication port, as plain decisions: what the node greets it
// with, and for each message that arrives what to send, whether to take it as the primary's connection,
// whether to connect to a backup that asked to join, or why to close it. No sockets and no clock of its
// own: transport/server.ts drives it over TCP or TLS, the simulation over its network, so both speak the
// same protocol (hello with a nonce, the primary's auth MAC, the backup's welcome MAC, joins with theirs).
// The replica's decisions (admission, the stream) are the Follower's; this is the handshake around them.
import { supersedes, type Follower, type Member } from '../replication/following.js';
import type { Message } from './frames.js';
import { backupProof, joinProof, primaryProof, proofsMatch } from './handshake.js';

/** What the node tells a session about itself, read when a message arrives (its role changes). */
export interface AcceptingNode {
  readonly follower: Follower;
  readonly key: Buffer;
  /** The node's name for clients (its HTTP address). */
  node(): string;
  /** This node's epoch now (after a promotion, higher than the replica's). */
  epoch(): number;
  /** Whether this node has become a primary (fenced or stopped ones too): its replica follows no one any more. */
  isPrimary(): boolean;
  /** What it says it is: a primary that stopped or was fenced does not say primary, and takes no joins. */
  role(): 'primary' | 'backup' | 'stopped' | 'behind' | 'unsure';
  /** A primary that stopped for good: the backups holding everything it acknowledged. */
  holders?(): Member[] | undefined;
  /** A primary that was replaced: the newer epoch. */
  replacedAt?(): number | undefined;
}

/** What to do with one message; several may apply, in the order the fields are listed. */
export interface SessionStep {
  /** A primary at a newer epoch proved the key while this node is primary: this node was replaced. */
  replacedBy?: number;
  /** The primary proved the key and was admitted: this connection is now the node's primary connection. */
  admitted?: { node: string; epoch: number };
  /** Send this. */
  send?: Message;
  /** A backup proved the key and asked to join: send `send`, end the connection, connect to this address. */
  join?: string;
  /** Close the connection with this farewell (a refuse that says why). */
  refuse?: Refusal;
}

export interface Refusal {
  reason: string;
  /** This node's epoch, when the refusal fences the peer off. */
  epoch?: number;
  /** The primary this backup follows, when it refused a join. */
  primary?: Member;
}

export class BackupSession {
  private proven = false;

  constructor(
    private readonly self: AcceptingNode,
    /** This end's fresh nonce: the peer's MAC binds it, so no proof can be replayed. */
    private readonly nonce: string,
  ) {}

  /** Whether the peer proved the cluster key (past the handshake's limits and deadline). */
  get authenticated(): boolean {
    return this.proven;
  }

  /** The first message on every connection: who this node is (probes read only this) and the nonce to prove the key over. */
  hello(): Message {
    const { follower } = this.self;
    const replica = follower.replica;
    const primary = this.self.isPrimary();
    return {
      type: 'hello',
      nonce: this.nonce,
      node: this.self.node(),
      id: follower.self.id,
      role: this.self.role(),
      epoch: this.self.epoch(),
      seq: replica.lastApplied,
      holdsState: replica.hasSnapshot,
      following: primary ? undefined : follower.primary,
      holders: this.self.holders?.(),
      replacedAt: this.self.replacedAt?.(),
    };
  }

  /** The refuse message that closes a connection (for the caller's own reasons too: a bad frame, a deadline). */
  farewell(refusal: Refusal): Message {
    const { reason, epoch, primary } = refusal;
    return { type: 'refuse', reason, epoch, id: epoch === undefined ? undefined : this.self.follower.self.id, primary };
  }

  /**
   * One message from the peer. `current` says whether this connection is still the node's primary
   * connection (a newer primary's replaces it). The Follower may throw on a message it cannot apply:
   * that is a refusal too.
   */
  receive(message: Message, now: number, current: boolean): SessionStep {
    try {
      return this.proven ? this.stream(message, current, now) : this.handshake(message, now);
    } catch (error) {
      return { refuse: { reason: `refused: ${(error as Error).message}` } };
    }
  }

  private handshake(message: Message, now: number): SessionStep {
    const { follower, key } = this.self;
    if (message.type === 'join') {
      if (!proofsMatch(joinProof(key, this.nonce, String(message.nonce), String(message.address)), message.mac)) return { refuse: { reason: 'wrong cluster key' } };
      // Only a primary still serving takes a backup on; one fenced or stopped sends it on (a backup to its primary).
      if (this.self.role() !== 'primary') {
        const primary = this.self.isPrimary() ? undefined : follower.primary;
        return { refuse: { reason: `this node is not the primary${primary && follower.primaryNode ? `; the primary is ${follower.primaryNode}` : ''}`, primary } };
      }
      return { send: this.welcome(String(message.nonce), 0, 0), join: String(message.address) };
    }
    if (message.type !== 'auth') return { refuse: { reason: `expected auth, got ${message.type}` } };
    const id = typeof message.id === 'string' ? message.id : '';
    const expected = primaryProof(key, this.nonce, String(message.nonce), String(message.node), Number(message.epoch), id);
    if (!proofsMatch(expected, message.mac)) return { refuse: { reason: 'wrong cluster key' } };
    const ownEpoch = this.self.epoch();
    const isPrimary = this.self.isPrimary();
    const refusal = follower.admit({ epoch: Number(message.epoch), node: String(message.node) }, ownEpoch, isPrimary, now);
    if (refusal?.type === 'refuse') {
      const replaced = isPrimary && supersedes({ epoch: Number(message.epoch), id: message.id }, { epoch: ownEpoch, id: follower.self.id });
      return { replacedBy: replaced ? Number(message.epoch) : undefined, refuse: { reason: refusal.reason, epoch: refusal.epoch } };
    }
    this.proven = true;
    const replica = follower.replica;
    return { admitted: { node: String(message.node), epoch: Number(message.epoch) }, send: this.welcome(String(message.nonce), replica.lastApplied, replica.currentEpoch) };
  }

  private stream(message: Message, current: boolean, now: number): SessionStep {
    if (this.self.isPrimary()) return { refuse: { reason: `stale epoch: this node became the primary at epoch ${this.self.epoch()}`, epoch: this.self.epoch() } };
    if (!current) return { refuse: { reason: 'replaced by a newer connection from a primary' } };
    const reply = this.self.follower.receive(message, now);
    if (reply?.type === 'refuse') return { refuse: { reason: reply.reason, epoch: reply.epoch } };
    return reply ? { send: reply as Message } : {};
  }

  /** The backup's proof over both nonces, with what it holds (the primary decides what to send from it). */
  private welcome(peerNonce: string, seq: number, epoch: number): Message {
    return { type: 'welcome', mac: backupProof(this.self.key, this.nonce, peerNonce), seq, epoch };
  }
}

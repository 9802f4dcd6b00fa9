// The primary's replication link over TCP (node:net). One connection per backup: handshake, then the
// snapshot, then batches, pipelined (many in flight; a backup's acknowledgement covers everything up to
// it) with back-pressure from the socket. A backup that stops acknowledging for `ackTimeoutMs` is
// dropped from the live set, so the primary keeps serving; fewer live backups than `minAcks` fails the
// commit (the committer then stops the primary rather than promise less).
import net from 'node:net';
import type { Decision, ReplicationBatch, ReplicationLink } from '../replication/link.js';
import { ReplicationUnavailableError } from '../replication/link.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameDecoder, type Message } from './frames.js';
import { backupProof, newNonce, primaryProof, proofsMatch } from './handshake.js';

export interface TcpLinkOptions {
  key: Buffer;
  /** This primary's name for its backups (its HTTP address, where clients should go). */
  node: string | (() => string);
  epoch: () => number;
  /** Backups that must acknowledge each group; below that, commits fail. */
  minAcks?: number;
  /** A live backup that has not acknowledged for this long is dropped. */
  ackTimeoutMs?: number;
  /** How often an idle connection is probed. */
  heartbeatMs?: number;
  maxFrame?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** A peer is at a newer epoch: another node took over, and this primary must stop. */
  onFenced?: (epoch: number, reason: string) => void;
}

interface Peer {
  address: string;
  /** The backup's process id, from its greeting. */
  id: string;
  socket: net.Socket;
  acked: number;
  sent: number;
  live: boolean;
  waiters: { upTo: number; resolve: () => void; reject: (error: Error) => void }[];
  lastHeard: number;
}

export class TcpLink implements ReplicationLink {
  private readonly peers = new Set<Peer>();
  private timer: NodeJS.Timeout;
  /** Set once a peer showed a newer epoch: nothing more is committed through this link. */
  private fenced: string | undefined;

  constructor(private readonly options: TcpLinkOptions) {
    this.timer = setInterval(() => this.tick(), Math.max(5, Math.min(options.heartbeatMs ?? 200, (options.ackTimeoutMs ?? 1_000) / 2)));
    this.timer.unref();
  }

  /** Backups acknowledging now. */
  get liveBackups(): string[] {
    return [...this.peers].filter((p) => p.live).map((p) => p.address);
  }

  /** The live backups in the order they joined: the succession, by identity and address. */
  get members(): { id: string; address: string }[] {
    return [...this.peers].filter((p) => p.live).map((p) => ({ id: p.id, address: p.address }));
  }

  /**
   * Connects to a backup and authenticates. The backup receives nothing until it is joined: with nothing
   * in flight (ServiceRuntime.join), send it the snapshot and start its stream after the snapshot's
   * sequence number; it receives every later batch.
   */
  async connect(host: string, port: number): Promise<{ join(snapshot: { seq: number }): void }> {
    const address = `${host}:${port}`;
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(this.options.maxFrame ?? DEFAULT_MAX_FRAME);
    const peer: Peer = { address, id: address, socket, acked: 0, sent: 0, live: false, waiters: [], lastHeard: Date.now() };
    this.peers.add(peer);
    await new Promise<void>((resolve, reject) => {
      let myNonce = '';
      let theirNonce = '';
      const fail = (why: string, reason: string) => {
        reject(new Error(why));
        this.drop(peer, reason);
      };
      socket.on('error', (error) => fail(`Cannot reach the backup at ${address}: ${error.message}`, error.message));
      socket.on('close', () => fail(`The backup at ${address} closed the connection.`, 'connection closed'));
      socket.on('data', (chunk) => {
        let messages: Message[];
        try {
          messages = decoder.push(chunk);
        } catch (error) {
          return fail(`The backup at ${address} sent a bad frame.`, `bad frame: ${(error as Error).message}`);
        }
        for (const message of messages) {
          peer.lastHeard = Date.now();
          if (message.type === 'hello') {
            if (typeof message.id === 'string') peer.id = message.id;
            theirNonce = String(message.nonce);
            myNonce = newNonce();
            const epoch = this.options.epoch();
            const node = typeof this.options.node === 'function' ? this.options.node() : this.options.node;
            this.send(peer, { type: 'auth', nonce: myNonce, node, role: 'primary', epoch, mac: primaryProof(this.options.key, theirNonce, myNonce, node, epoch) });
          } else if (message.type === 'welcome') {
            if (!proofsMatch(backupProof(this.options.key, theirNonce, myNonce), message.mac)) return fail(`The backup at ${address} does not hold the cluster key.`, 'wrong cluster key');
            resolve();
          } else if (message.type === 'ack') {
            this.acknowledged(peer, Number(message.upTo));
          } else if (message.type === 'refuse') {
            if (typeof message.epoch === 'number' && message.epoch >= this.options.epoch()) this.fence(message.epoch, `${address} is at epoch ${message.epoch}: ${message.reason}`);
            return fail(`The backup at ${address} refused: ${message.reason}`, `refused: ${message.reason}`);
          } else if (message.type === 'heartbeat' && Number(message.epoch) > this.options.epoch()) {
            this.fence(Number(message.epoch), `${address} follows epoch ${message.epoch}`);
          }
        }
      });
    });
    return {
      join: (snapshot) => {
        this.send(peer, { type: 'snapshot', snapshot });
        peer.acked = peer.sent = snapshot.seq;
        peer.live = true;
        this.options.log?.('replication.backup.joined', { backup: address, seq: snapshot.seq });
      },
    };
  }

  async replicate(batch: ReplicationBatch, wait: boolean): Promise<void> {
    if (this.fenced) throw new ReplicationUnavailableError(`fenced: ${this.fenced}`, false, true);
    const live = [...this.peers].filter((p) => p.live);
    if (live.length < (this.options.minAcks ?? 0)) {
      throw new ReplicationUnavailableError(`${live.length} backup(s) live, ${this.options.minAcks} required to acknowledge.`, false);
    }
    const upTo = batch.records.length > 0 ? batch.records[batch.records.length - 1]!.seq : 0;
    const acks = live.map((peer) => {
      peer.sent = Math.max(peer.sent, upTo);
      const acked = peer.acked >= upTo ? Promise.resolve() : new Promise<void>((resolve, reject) => peer.waiters.push({ upTo, resolve, reject }));
      this.send(peer, { type: 'batch', batch });
      return acked;
    });
    // Back-pressure: a backup whose socket buffer is full is given time to drain before the next group
    // is handed over, so a slow backup slows the primary rather than fill its memory.
    await Promise.all(live.map((peer) => (peer.socket.writableNeedDrain ? drained(peer.socket) : undefined)));
    if (!wait) {
      for (const a of acks) a.catch(() => undefined);
      return;
    }
    await Promise.all(acks);
    if (this.fenced) throw new ReplicationUnavailableError(`fenced: ${this.fenced}`, true, true);
    const stillLive = live.filter((p) => p.live).length;
    if (stillLive < (this.options.minAcks ?? 0)) {
      throw new ReplicationUnavailableError(`only ${stillLive} backup(s) acknowledged; ${this.options.minAcks} required.`);
    }
  }

  decide(decision: Decision): void {
    for (const peer of this.peers) if (peer.live) this.send(peer, { type: 'decide', decision });
  }

  /** Another node took over (a peer is at a newer epoch): refuse every commit from now on. */
  private fence(epoch: number, reason: string): void {
    if (this.fenced) return;
    this.fenced = reason;
    this.options.log?.('replication.fenced', { epoch, reason });
    for (const peer of this.peers) {
      for (const w of peer.waiters) w.reject(new ReplicationUnavailableError(`fenced: ${reason}`, true, true));
      peer.waiters = [];
    }
    this.options.onFenced?.(epoch, reason);
  }

  close(): void {
    clearInterval(this.timer);
    for (const peer of this.peers) this.drop(peer, 'link closed');
  }

  private send(peer: Peer, message: Message): void {
    if (peer.socket.destroyed) return;
    peer.socket.write(encodeFrame(message));
  }

  private acknowledged(peer: Peer, upTo: number): void {
    peer.acked = Math.max(peer.acked, upTo);
    peer.waiters = peer.waiters.filter((w) => {
      if (w.upTo > peer.acked) return true;
      w.resolve();
      return false;
    });
  }

  /** A backup is dropped: its waiters are released (the commit counts who is still live). */
  private drop(peer: Peer, reason: string): void {
    if (!this.peers.has(peer) && peer.socket.destroyed) return;
    const wasLive = peer.live;
    peer.live = false;
    this.peers.delete(peer);
    peer.socket.destroy();
    for (const w of peer.waiters) w.resolve();
    peer.waiters = [];
    if (wasLive) this.options.log?.('replication.backup.dropped', { backup: peer.address, reason });
  }

  /** Heartbeats for idle connections, and the timeout for backups that stopped acknowledging. */
  private tick(): void {
    const now = Date.now();
    const timeout = this.options.ackTimeoutMs ?? 1_000;
    for (const peer of this.peers) {
      if (!peer.live) continue;
      const behind = peer.sent > peer.acked;
      if (now - peer.lastHeard > timeout && (behind || now - peer.lastHeard > 2 * timeout)) {
        this.drop(peer, `no acknowledgement for ${now - peer.lastHeard} ms`);
        continue;
      }
      this.send(peer, { type: 'heartbeat', epoch: this.options.epoch(), at: now, peers: this.members });
    }
  }
}

function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

// A backup's replication port: it accepts its primary's connection, checks the cluster key (handshake),
// then takes the snapshot and the update stream into the BackupReplica and acknowledges, in order. Bad
// input of any kind (a wrong key, an oversized or malformed frame, a message out of place, a stale
// epoch) closes that connection with a logged reason and changes nothing.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { BackupReplica } from '../replication/backup.js';
import type { Decision, ReplicationBatch } from '../replication/link.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameDecoder, FrameError, HANDSHAKE_MAX_FRAME, type Message } from './frames.js';
import { backupProof, joinProof, newNonce, primaryProof, proofsMatch } from './handshake.js';

export interface ReplicationServerOptions {
  replica: BackupReplica;
  key: Buffer;
  node: string;
  maxFrame?: number;
  /** A peer must authenticate within this long. */
  handshakeTimeoutMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Set while this node is the primary: a backup asking to join is connected to at its address. */
  onJoin?: (address: string) => void;
  /** This node's epoch now (after a promotion, higher than the replica's). */
  epoch: () => number;
  /** This process's identity among the primary's backups (addresses can be spelled many ways). */
  id: string;
}

/** Connections that have not proven the key yet, at most: a flood of them cannot exhaust memory. */
const MAX_UNAUTHENTICATED = 32;

export class ReplicationServer {
  private readonly server: net.Server;
  private primary: net.Socket | undefined;
  /** When the current primary was last heard from (any message): for failure detection. */
  lastHeard = 0;
  /** The primary's name as it introduced itself (its HTTP address): where clients should go. */
  primaryNode: string | undefined;
  /** The primary's live backups, in the order they joined (from its heartbeats): the succession. */
  peers: { id: string; address: string }[] = [];
  private unauthenticated = 0;

  constructor(readonly options: ReplicationServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    this.primary?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Whether a primary is connected and authenticated now. */
  get following(): boolean {
    return this.primary !== undefined && !this.primary.destroyed;
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }

  private accept(socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.unauthenticated >= MAX_UNAUTHENTICATED) {
      this.log('replication.peer.closed', { peer, reason: 'too many connections waiting to authenticate' });
      socket.destroy();
      return;
    }
    this.unauthenticated++;
    const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME);
    const nonce = newNonce();
    let authenticated = false;
    let counted = true;
    const authenticatedNow = () => {
      authenticated = true;
      decoder.maxFrame = this.options.maxFrame ?? DEFAULT_MAX_FRAME;
      if (counted) this.unauthenticated--;
      counted = false;
    };
    const close = (reason: string, epoch?: number) => {
      this.log('replication.peer.closed', { peer, reason });
      if (!socket.destroyed) socket.end(encodeFrame({ type: 'refuse', reason, epoch }));
      socket.destroy();
    };
    const timer = setTimeout(() => close('no handshake in time'), this.options.handshakeTimeoutMs ?? 5_000);
    timer.unref();
    socket.setNoDelay(true);
    const replica = this.options.replica;
    socket.write(encodeFrame({ type: 'hello', nonce, node: this.options.node, id: this.options.id, role: this.options.onJoin ? 'primary' : 'backup', epoch: this.options.epoch(), seq: replica.lastApplied, holdsState: replica.hasSnapshot }));
    socket.on('error', (error) => this.log('replication.peer.error', { peer, error: error.message }));
    socket.on('close', () => {
      clearTimeout(timer);
      if (counted) this.unauthenticated--;
      counted = false;
      if (this.primary === socket) this.primary = undefined;
    });
    socket.on('data', (chunk) => {
      let messages: Message[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        return close(error instanceof FrameError ? `bad frame: ${error.message}` : `bad input: ${(error as Error).message}`);
      }
      for (const message of messages) {
        if (socket.destroyed) return;
        try {
          if (!authenticated && message.type === 'join') {
            if (!proofsMatch(joinProof(this.options.key, nonce, String(message.nonce), String(message.address)), message.mac)) return close('wrong cluster key');
            if (!this.options.onJoin) return close(`this node is not the primary${this.primaryNode ? `; the primary is ${this.primaryNode}` : ''}`);
            clearTimeout(timer);
            this.log('replication.join.requested', { peer, address: message.address });
            socket.end(encodeFrame({ type: 'welcome', mac: backupProof(this.options.key, nonce, String(message.nonce)), seq: 0, epoch: 0 }));
            this.options.onJoin(String(message.address));
            return;
          }
          if (!authenticated) {
            if (message.type !== 'auth') return close(`expected auth, got ${message.type}`);
            const expected = primaryProof(this.options.key, nonce, String(message.nonce), String(message.node), Number(message.epoch));
            if (!proofsMatch(expected, message.mac)) return close('wrong cluster key');
            // A node that is primary itself, or follows a newer epoch, fences the caller off.
            const epoch = this.options.epoch();
            if (this.options.onJoin || Number(message.epoch) < epoch) return close(`stale epoch ${message.epoch}: this node is at epoch ${epoch}`, epoch);
            clearTimeout(timer);
            authenticatedNow();
            this.primary?.destroy(); // a newer primary replaces an older connection
            this.primary = socket;
            this.primaryNode = String(message.node);
            this.lastHeard = Date.now();
            this.log('replication.primary.connected', { peer, node: message.node, epoch: message.epoch });
            socket.write(encodeFrame({ type: 'welcome', mac: backupProof(this.options.key, nonce, String(message.nonce)), seq: this.options.replica.lastApplied, epoch: this.options.replica.currentEpoch }));
            continue;
          }
          if (this.options.onJoin) return close(`stale epoch: this node became the primary at epoch ${this.options.epoch()}`, this.options.epoch());
          this.lastHeard = Date.now();
          this.handle(socket, message);
        } catch (error) {
          return close(`refused: ${(error as Error).message}`);
        }
      }
    });
  }

  private handle(socket: net.Socket, message: Message): void {
    const replica = this.options.replica;
    switch (message.type) {
      case 'snapshot': {
        const snapshot = message.snapshot as Parameters<BackupReplica['loadSnapshot']>[0];
        // A primary with less than this backup holds (one restarted empty, say) must not erase it.
        if (replica.hasSnapshot && Number(snapshot?.epoch) <= replica.currentEpoch && Number(snapshot?.seq) < replica.lastApplied) {
          throw new Error(`the snapshot (epoch ${snapshot.epoch}, record ${snapshot.seq}) is older than what this backup holds (epoch ${replica.currentEpoch}, record ${replica.lastApplied})`);
        }
        replica.loadSnapshot(snapshot);
        socket.write(encodeFrame({ type: 'ack', epoch: replica.currentEpoch, upTo: replica.lastApplied }));
        return;
      }
      case 'batch': {
        const ack = replica.receive(message.batch as ReplicationBatch);
        socket.write(encodeFrame({ type: 'ack', epoch: ack.epoch, upTo: ack.upTo }));
        return;
      }
      case 'decide':
        replica.decide(message.decision as Decision);
        return;
      case 'heartbeat':
        if (Array.isArray(message.peers)) this.peers = message.peers.filter((p) => typeof p?.id === 'string' && typeof p?.address === 'string');
        socket.write(encodeFrame({ type: 'heartbeat', epoch: replica.currentEpoch, at: Date.now() }));
        return;
      default:
        throw new Error(`unexpected ${message.type} from the primary`);
    }
  }
}

// A node's replication port: the sockets, limits and deadlines around backup-session.ts, which decides
// each connection (the handshake, joins, the primary's snapshot and stream into the replica). Bad
// input of any kind (a wrong key, an oversized or malformed frame, a message out of place, a stale
// epoch) closes that connection with a logged reason and changes nothing. When the primary's connection
// ends from its side, the follower hears of it: that, not silence, is what may start a takeover.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Follower } from '../replication/following.js';
import { BackupSession, type AcceptingNode, type Refusal } from './backup-session.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameDecoder, FrameError, HANDSHAKE_MAX_FRAME, type Message } from './frames.js';
import { newNonce } from './handshake.js';
import { serverTls, type TlsFiles } from './tls.js';

export interface ReplicationServerOptions {
  /** The backup's replica and what it knows of its primary: every decision is made there. */
  follower: Follower;
  key: Buffer;
  node: string;
  maxFrame?: number;
  /** TLS for this port (transport/tls.ts); plain TCP without. */
  tls?: TlsFiles;
  /** A peer must authenticate within this long. */
  handshakeTimeoutMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** A backup proved the key and asked to join: a primary connects to it at its address. */
  onJoin?: (address: string) => void;
  /** Whether this node has become a primary (its replica follows no one); without it, whether onJoin is set. */
  isPrimary?: () => boolean;
  /** This node's epoch now (after a promotion, higher than the replica's). */
  epoch: () => number;
  /** A primary at a newer epoch proved the key to this node while it is primary: this one was replaced. */
  onNewerPrimary?: (epoch: number) => void;
  /** A primary that stopped for good: the backups holding everything it acknowledged (said in its greeting). */
  holders?: () => { id: string; address: string }[] | undefined;
  /** A primary that was replaced: the newer epoch (said in its greeting, with no holders). */
  replacedAt?: () => number | undefined;
  /** The primary's connection ended from its side: the node checks at once whether to take over. */
  onPrimaryLost?: () => void;
  /** The backup's clock for its lease (transport/clock.ts); the monotonic clock when not given. */
  clock?: () => number;
  /** What this node says it is in its greeting: a primary that stopped or was fenced does not say primary. */
  role?: () => 'primary' | 'backup' | 'stopped' | 'behind' | 'unsure';
}

/**
 * Connections that have not proven the key yet, at most, in all and from one address. Past either, the
 * oldest such connection is closed to make room, not the newcomer: idle connections cannot keep the
 * primary out, since its own proves the key within a round trip of arriving (issue 15).
 */
const MAX_UNAUTHENTICATED = 64;
const MAX_UNAUTHENTICATED_PER_ADDRESS = 8;
/** Log lines about connections that never authenticated: at most this many per window, then one summary. */
const UNAUTHENTICATED_LOG_LINES = 10;
const UNAUTHENTICATED_LOG_WINDOW_MS = 10_000;

/** A connection's remote address and port: the same for its TCP socket and the TLS socket over it. */
function peerOf(socket: net.Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/** A connection still to prove the key: where from, and how to close it (telling it why, once it can be told). */
interface Waiting {
  address: string;
  close: (reason: string) => void;
}

export class ReplicationServer {
  private readonly server: net.Server;
  private readonly accepting: AcceptingNode;
  private primary: net.Socket | undefined;
  /** Connections still to prove the key, oldest first, with their remote address and how to close them. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly quiet = new LogLimiter(
    UNAUTHENTICATED_LOG_LINES,
    UNAUTHENTICATED_LOG_WINDOW_MS,
    (event, fields) => this.log(event, fields),
    () => this.now(),
  );

  constructor(readonly options: ReplicationServerOptions) {
    // What a session reads of this node (backup-session.ts): the options, which the node keeps current.
    this.accepting = {
      follower: options.follower,
      key: options.key,
      node: () => options.node,
      epoch: () => options.epoch(),
      isPrimary: () => options.isPrimary?.() ?? options.onJoin !== undefined,
      role: () => options.role?.() ?? (options.onJoin ? 'primary' : 'backup'),
      holders: () => options.holders?.(),
      replacedAt: () => options.replacedAt?.(),
    };
    const files = options.tls;
    if (files) {
      // TLS: limits and the deadline apply from the TCP connection ('connection', before the TLS
      // handshake), so that a peer that never finishes the handshake counts like one that never proves the key.
      this.server = serverTls(
        files,
        (secure) => {
          const entry = this.waiting.get(peerOf(secure));
          if (entry) this.accept(secure, entry);
          else secure.destroy(); // closed to make room meanwhile
        },
        options.handshakeTimeoutMs,
      );
      this.server.on('connection', (raw: net.Socket) => this.admit(raw));
    } else {
      this.server = net.createServer((raw) => this.accept(raw, this.admit(raw)));
    }
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  private closing = false;

  close(): Promise<void> {
    this.closing = true;
    this.primary?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Why the last primary connection ended (this side's reason, or the primary's), for the log. */
  lastEnded: string | undefined;

  /** Whether a primary is connected and authenticated now. */
  get following(): boolean {
    return this.primary !== undefined && !this.primary.destroyed;
  }

  private now(): number {
    return this.options.clock ? this.options.clock() : performance.now();
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }

  /** Closes the oldest connection still to prove the key where a newcomer would pass a limit. */
  private makeRoomFor(address: string): void {
    const oldest = (from?: string) => [...this.waiting.values()].find((w) => from === undefined || w.address === from);
    const makeRoom = 'closed to make room: too many connections waiting to prove the cluster key';
    if ([...this.waiting.values()].filter((w) => w.address === address).length >= MAX_UNAUTHENTICATED_PER_ADDRESS) oldest(address)?.close(makeRoom);
    if (this.waiting.size >= MAX_UNAUTHENTICATED) oldest()?.close(makeRoom);
  }

  /**
   * A TCP connection: counted against the limits, and given until the deadline to prove the key, TLS
   * handshake included (a peer that never finishes it is closed like one that never proves the key).
   */
  private admit(raw: net.Socket): Waiting {
    const address = raw.remoteAddress ?? 'unknown';
    const peer = peerOf(raw);
    this.makeRoomFor(address);
    const entry: Waiting = {
      address,
      close: (reason) => {
        this.waiting.delete(peer);
        this.quiet.log('replication.peer.closed', { peer, reason });
        raw.destroy();
      },
    };
    this.waiting.set(peer, entry);
    const deadline = setTimeout(() => this.waiting.get(peer)?.close('no handshake in time'), this.options.handshakeTimeoutMs ?? 5_000);
    deadline.unref();
    raw.on('close', () => {
      clearTimeout(deadline);
      if (this.waiting.get(peer) === entry) this.waiting.delete(peer);
    });
    raw.on('error', () => undefined); // said by the socket that reads it, or nothing to say
    return entry;
  }

  /** A connection ready to speak (after TLS, where configured): the session decides, this reads and writes. */
  private accept(socket: net.Socket, entry: Waiting): void {
    const peer = peerOf(socket);
    const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME);
    const session = new BackupSession(this.accepting, newNonce());
    let closedHere = false;
    // Before the key is proven, anyone may cause these lines: they are rate-limited.
    const log = (event: string, fields: Record<string, unknown>) => (session.authenticated ? this.log(event, fields) : this.quiet.log(event, fields));
    const close = (refusal: Refusal) => {
      closedHere = true;
      this.waiting.delete(peer);
      if (this.primary === socket) this.lastEnded = refusal.reason;
      log('replication.peer.closed', { peer, reason: refusal.reason });
      if (!socket.destroyed) socket.end(encodeFrame(session.farewell(refusal)));
      socket.destroy();
    };
    entry.close = (reason) => close({ reason }); // from now on, a closed peer is told why
    socket.setNoDelay(true);
    const { follower } = this.options;
    socket.write(encodeFrame(session.hello()));
    socket.on('error', (error) => log('replication.peer.error', { peer, error: error.message }));
    socket.on('close', () => {
      this.waiting.delete(peer);
      if (this.primary !== socket) return;
      this.primary = undefined;
      if (!closedHere) this.lastEnded = 'the primary closed the connection';
      // Closed here too when this backup refused what its primary sent (a snapshot that broke off, say):
      // it then finds out, as after a connection that failed, whether that primary is still there to take
      // it on again; were it only to wait, a primary that died meanwhile would leave it orphaned.
      if (this.closing) return;
      follower.connectionEnded(this.now());
      this.log('replication.primary.lost', { peer, lastHeardMs: Math.round(this.now() - follower.lastHeard) });
      this.options.onPrimaryLost?.();
    });
    socket.on('data', (chunk) => {
      let messages: Message[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        return close({ reason: error instanceof FrameError ? `bad frame: ${error.message}` : `bad input: ${(error as Error).message}` });
      }
      for (const message of messages) {
        if (socket.destroyed) return;
        const step = session.receive(message, this.now(), this.primary === socket);
        if (step.replacedBy !== undefined) this.options.onNewerPrimary?.(step.replacedBy);
        if (step.admitted) {
          decoder.maxFrame = this.options.maxFrame ?? DEFAULT_MAX_FRAME;
          this.waiting.delete(peer); // proven: the deadline and the limits no longer apply
          this.primary?.destroy(); // a newer primary replaces an older connection
          this.primary = socket;
          follower.primaryHost = socket.remoteAddress?.replace(/^::ffff:/, '');
          this.log('replication.primary.connected', { peer, node: step.admitted.node, epoch: step.admitted.epoch });
        }
        if (step.join !== undefined) {
          this.waiting.delete(peer);
          this.log('replication.join.requested', { peer, address: step.join });
          socket.end(encodeFrame(step.send!));
          this.options.onJoin?.(step.join);
          return;
        }
        if (step.send) socket.write(encodeFrame(step.send));
        if (step.refuse) return close(step.refuse);
      }
    });
  }
}

/** At most `lines` log lines per window; the rest counted, and said in one line when the window ends. */
class LogLimiter {
  private windowEnds = 0;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly lines: number,
    private readonly windowMs: number,
    private readonly write: (event: string, fields: Record<string, unknown>) => void,
    /** The server's clock (its lease clock): windows are measured as the rest of the port measures time. */
    private readonly now: () => number,
  ) {}

  log(event: string, fields: Record<string, unknown>): void {
    const now = this.now();
    if (now >= this.windowEnds) {
      this.windowEnds = now + this.windowMs;
      this.written = 0;
    }
    if (this.written < this.lines) {
      this.written++;
      this.write(event, fields);
      return;
    }
    if (this.suppressed++ === 0) {
      setTimeout(
        () => {
          this.write('replication.peer.suppressed', { lines: this.suppressed, windowMs: this.windowMs, reason: 'connections that did not prove the cluster key' });
          this.suppressed = 0;
        },
        Math.max(0, this.windowEnds - now),
      ).unref();
    }
  }
}

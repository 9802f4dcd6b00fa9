// The primary's replication link over TCP (node:net). One connection per backup: handshake, then the
// snapshot, then batches, pipelined (many in flight; a backup's acknowledgement covers everything up to
// it) with back-pressure from the socket. A backup that stops acknowledging for `ackTimeoutMs` is
// dropped from the live set (told so first), and once its lease has run out (replication/shipping.ts)
// the primary goes on without it; fewer live backups than `minAcks` fails the commit (the committer then
// stops the primary rather than promise less). Times are monotonic (performance.now): a wall clock that
// jumps must not shorten a lease.
import type net from 'node:net';
import type { Decision, ReplicationBatch, ReplicationLink } from '../replication/link.js';
import { BackupSet, backupProcessGone, TicketWaiters } from '../replication/shipping.js';
import type { SnapshotWriter } from '../replication/snapshot.js';
import { SnapshotTransfer } from '../replication/transfer.js';
import { DEFAULT_MAX_FRAME, encodeFrame, encodeText, FrameDecoder, type Message } from './frames.js';
import { backupProof, newNonce, primaryProof, proofsMatch } from './handshake.js';
import { probeRole } from './join.js';
import { connectPeer, type TlsFiles } from './tls.js';

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
  /** TLS for the connections to the backups (transport/tls.ts); plain TCP without. */
  tls?: TlsFiles;
  /** A backup must finish the handshake within this long (default five ack timeouts). */
  handshakeTimeoutMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** A peer is at a newer epoch: another node took over, and this primary must stop. */
  onFenced?: (epoch: number, reason: string) => void;
  /** A live backup was dropped (its connection broke or it fell silent): the node connects again. */
  onDropped?: (address: string, id: string, lease: number, reconnect: boolean) => void;
  /** With a configuration authority: dropped backups wait for `released`, and caught-up ones are reported. */
  coordinated?: boolean;
  /** A backup acknowledged its snapshot: it holds everything (with a configuration authority, a member to add). */
  onCaughtUp?: (backup: { id: string; address: string }) => void;
  /**
   * A backup's snapshot broke off (its connection ended, it fell silent or behind): `failures` in a row
   * for that address. The node connects again after a wait that grows with them.
   */
  onJoinFailed?: (address: string, failures: number) => void;
  /** This primary's own replication port, named in heartbeats so a backup that lost it asks it first. */
  self?: () => { id: string; address: string } | undefined;
}

/** One connection to a backup; what it has sent and acknowledged lives in the BackupSet. */
interface Connection {
  key: string;
  address: string;
  socket: net.Socket;
  /** Its snapshot, while it is being sent. */
  transfer?: SnapshotTransfer;
  pumping?: boolean;
}

/**
 * A joining backup that has not read this much of what was sent to it (its snapshot's parts wait for
 * it; the batches since do not) has fallen too far behind: it is let go and asks to join again later.
 */
const MAX_JOINING_BUFFER = 256 * 1024 * 1024;

export class TcpLink implements ReplicationLink {
  private readonly backups: BackupSet;
  private readonly connections = new Map<string, Connection>();
  private readonly tickets: TicketWaiters;
  private nextKey = 1;
  private timer: NodeJS.Timeout;

  constructor(private readonly options: TcpLinkOptions) {
    this.backups = new BackupSet({ minAcks: options.minAcks ?? 0, ackTimeoutMs: options.ackTimeoutMs ?? 1_000, coordinated: options.coordinated });
    this.tickets = new TicketWaiters(this.backups);
    this.timer = setInterval(() => this.tick(), Math.max(5, Math.min(options.heartbeatMs ?? 200, (options.ackTimeoutMs ?? 1_000) / 2)));
    this.timer.unref();
  }

  /** Whether a connection to the backup at this address is open (joining or live). */
  connectedTo(address: string): boolean {
    return this.backups.connectedTo(address);
  }

  /** Backups acknowledging now. */
  get liveBackups(): string[] {
    return this.backups.liveBackups;
  }

  /** Records sent to each live backup and not yet acknowledged (see BackupSet.lag). */
  get replicationLag(): { address: string; records: number }[] {
    return this.backups.lag;
  }

  /** Whether enough backups hold this primary's state for it to serve (see BackupSet.ready). */
  get ready(): boolean {
    return this.backups.ready;
  }

  /** The backups that hold everything acknowledged, in succession order (see BackupSet.holders). */
  get holders(): { id: string; address: string }[] {
    return this.backups.holders;
  }

  /** The live backups in the order they joined: the succession, by identity and address. */
  get members(): { id: string; address: string }[] {
    return this.backups.members;
  }

  /**
   * Connects to a backup and authenticates. The backup receives nothing until it is joined: with nothing
   * in flight (ServiceRuntime.join), send it the snapshot and start its stream after the snapshot's
   * sequence number; it receives every later batch.
   */
  async connect(host: string, port: number): Promise<{ join(snapshot: SnapshotWriter): void }> {
    const address = `${host}:${port}`;
    const socket = connectPeer(host, port, this.options.tls);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(this.options.maxFrame ?? DEFAULT_MAX_FRAME);
    const connection: Connection = { key: String(this.nextKey++), address, socket };
    this.connections.set(connection.key, connection);
    this.backups.connected(connection.key, address, performance.now());
    await new Promise<void>((resolve, reject) => {
      let myNonce = '';
      let theirNonce = '';
      // A backup that accepts the connection but never answers (stopped, or a black hole) is given up on.
      const handshake = setTimeout(
        () => fail(`The backup at ${address} did not answer the handshake in time.`, 'no handshake in time'),
        this.options.handshakeTimeoutMs ?? 5 * (this.options.ackTimeoutMs ?? 1_000),
      );
      handshake.unref();
      const fail = (why: string, reason: string) => {
        clearTimeout(handshake);
        reject(new Error(why));
        this.drop(connection, reason);
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
          this.backups.heard(connection.key, performance.now(), 'ping' in message ? message.ping : undefined);
          if (message.type === 'hello') {
            if (typeof message.id === 'string') this.backups.identified(connection.key, message.id);
            theirNonce = String(message.nonce);
            myNonce = newNonce();
            const epoch = this.options.epoch();
            const node = typeof this.options.node === 'function' ? this.options.node() : this.options.node;
            const id = this.options.self?.()?.id ?? '';
            this.send(connection, { type: 'auth', nonce: myNonce, node, id, role: 'primary', epoch, mac: primaryProof(this.options.key, theirNonce, myNonce, node, epoch, id) });
          } else if (message.type === 'welcome') {
            if (!proofsMatch(backupProof(this.options.key, theirNonce, myNonce), message.mac)) return fail(`The backup at ${address} does not hold the cluster key.`, 'wrong cluster key');
            clearTimeout(handshake);
            resolve();
          } else if (message.type === 'snapshot-ack') {
            connection.transfer?.acked(message.part);
            this.pump(connection);
          } else if (message.type === 'ack') {
            const joining = this.backups.isStreaming(connection.key);
            this.tickets.release(this.backups.acknowledged(connection.key, Number(message.upTo), performance.now(), message.ping));
            if (joining && connection.transfer) {
              const { transfer } = connection;
              connection.transfer = undefined;
              this.options.log?.('replication.backup.joined', {
                backup: address,
                seq: transfer.writer.header.seq,
                upTo: Number(message.upTo),
                parts: transfer.parts,
                bytes: transfer.bytes,
                ms: Math.round(performance.now() - transfer.startedAt),
              });
            }
            const caughtUp = this.backups.takeCaughtUp();
            // A backup that just caught up hears at once that it is counted on (the echo of its ping): until
            // then it could not take over, were this primary killed now.
            if (caughtUp.length > 0) this.send(connection, this.heartbeat());
            for (const backup of caughtUp) this.options.onCaughtUp?.(backup);
          } else if (message.type === 'refuse') {
            if (typeof message.epoch === 'number') this.peerEpoch(message.epoch, `${address} is at epoch ${message.epoch}: ${message.reason}`, true, message.id);
            return fail(`The backup at ${address} refused: ${message.reason}`, `refused: ${message.reason}`);
          } else if (message.type === 'heartbeat') {
            this.peerEpoch(Number(message.epoch), `${address} follows epoch ${message.epoch}`, false);
          }
        }
      });
    });
    return {
      join: (writer) => {
        if (connection.socket.destroyed) throw new Error(`The backup at ${address} closed the connection before its snapshot began.`);
        for (const older of this.backups.joined(connection.key, writer.header.seq, performance.now())) {
          const stale = this.connections.get(older);
          if (stale) this.drop(stale, 'replaced by a newer connection to the same backup', false, false);
        }
        const transfer = new SnapshotTransfer(writer, performance.now());
        connection.transfer = transfer;
        this.send(connection, transfer.begin({ peers: this.members, primary: this.options.self?.() }) as Message);
        this.options.log?.('replication.backup.joining', { backup: address, seq: writer.header.seq });
        this.pump(connection);
      },
    };
  }

  replicate(batch: ReplicationBatch, wait: boolean): Promise<void> {
    const upTo = batch.records.length > 0 ? batch.records[batch.records.length - 1]!.seq : 0;
    const { to, ticket } = this.backups.ship(upTo, wait); // throws at once: too few backups, or fenced
    const live = to.map((key) => this.connections.get(key)!);
    const done = ticket === undefined ? undefined : this.tickets.outcome(ticket);
    for (const connection of live) this.send(connection, { type: 'batch', batch });
    return this.acknowledged(live, done, upTo);
  }

  private async acknowledged(live: Connection[], done: ReturnType<TicketWaiters['outcome']> | undefined, upTo: number): Promise<void> {
    // Back-pressure: a backup whose socket buffer is full is given time to drain before the next group
    // is handed over, so a slow backup slows the primary rather than fill its memory. A joining backup
    // does not (it reads its snapshot first): one that falls too far behind is let go.
    for (const connection of live) {
      if (this.backups.isStreaming(connection.key) && connection.socket.writableLength > MAX_JOINING_BUFFER)
        this.drop(connection, `fell more than ${MAX_JOINING_BUFFER >> 20} MiB behind while its snapshot was sent`);
    }
    await Promise.all(live.map((c) => (c.socket.writableNeedDrain && !this.backups.isStreaming(c.key) ? drained(c.socket) : undefined)));
    if (!done) return;
    const result = await done;
    if (!result.ok) {
      for (const key of result.drop) {
        const connection = this.connections.get(key);
        if (connection) this.drop(connection, `it was sent record ${upTo}, which failed and was undone; it joins again from a snapshot`);
      }
      throw result.error;
    }
  }

  /** The configuration authority no longer counts this backup as a member: commits go on without it. */
  released(id: string, lease: number): void {
    this.tickets.release(this.backups.released(id, lease));
  }

  recipients(): string[] {
    return this.backups.recipients;
  }

  decide(decision: Decision): void {
    for (const connection of this.connections.values()) if (this.backups.receives(connection.key)) this.send(connection, { type: 'decide', decision });
  }

  /**
   * Sends the joining backup's snapshot a part at a time: one slice of work per turn of the event loop
   * (requests run in between), while its window is open and its socket takes more.
   */
  private pump(connection: Connection): void {
    if (connection.pumping || !connection.transfer) return;
    connection.pumping = true;
    const step = () => {
      connection.pumping = false;
      const transfer = connection.transfer;
      if (!transfer || transfer.done || connection.socket.destroyed || this.connections.get(connection.key) !== connection) return;
      if (connection.socket.writableNeedDrain) {
        connection.pumping = true;
        connection.socket.once('drain', step);
        return;
      }
      const text = transfer.next();
      if (text === undefined) return; // the window is full: the next snapshot-ack pumps again
      connection.socket.write(encodeText(text));
      connection.pumping = true;
      setImmediate(step);
    };
    setImmediate(step);
  }

  private closing = false;

  close(): void {
    this.closing = true;
    clearInterval(this.timer);
    this.tickets.release(this.backups.close('the replication link closed'));
    // Not told they were dropped: this primary acknowledges nothing more, so its backups may take over.
    for (const connection of this.connections.values()) this.drop(connection, 'link closed', false, false);
  }

  /** A peer showed its epoch: a newer one means another node took over, and nothing more commits here. */
  private peerEpoch(epoch: number, reason: string, refused: boolean, theirId?: string): void {
    if (!Number.isFinite(epoch)) return;
    const mine = this.options.self?.()?.id;
    const ids = typeof theirId === 'string' && mine !== undefined ? { theirs: theirId, mine } : undefined;
    const { fenced, done } = this.backups.peerEpoch(epoch, this.options.epoch(), reason, refused, ids);
    if (!fenced) return;
    this.options.log?.('replication.fenced', { epoch, reason });
    this.tickets.release(done);
    this.options.onFenced?.(epoch, reason);
  }

  /** Every message carries the newest ping heard from the backup: the proof that it is counted on. */
  private send(connection: Connection, message: Message): void {
    if (connection.socket.destroyed) return;
    connection.socket.write(encodeFrame({ ...message, echo: this.backups.echo(connection.key) }));
  }

  /**
   * A backup is dropped: the commits waiting on it count who is still live. `reconnect`: a live backup
   * lost this way is connected to again (not one replaced by a newer connection). `tell`: it is told
   * first, in order after everything sent to it, so that it does not take over if this primary dies
   * later (the lease keeps it safe if the message never arrives).
   */
  private drop(connection: Connection, reason: string, reconnect = true, tell = true): void {
    this.connections.delete(connection.key);
    connection.transfer?.close();
    connection.transfer = undefined;
    const socket = connection.socket;
    if (tell && this.backups.isLive(connection.key) && !socket.destroyed && socket.writable) {
      socket.end(encodeFrame({ type: 'dropped', reason }));
      setTimeout(() => socket.destroy(), 5_000).unref(); // a peer that never reads it is not waited for
    } else {
      socket.destroy();
    }
    // A connection dropped without a reconnect (replaced by a newer one, or the link closing) did not fail.
    const { wasLive, id, lease, joinFailures, done } = this.backups.dropped(connection.key, performance.now(), reconnect);
    this.tickets.release(done);
    if (joinFailures !== undefined && !this.closing) {
      this.options.log?.('replication.backup.join-failed', { backup: connection.address, reason, failures: joinFailures });
      this.options.onJoinFailed?.(connection.address, joinFailures);
    }
    if (!wasLive) return;
    this.options.log?.('replication.backup.dropped', { backup: connection.address, id, reason });
    if (!this.closing) this.options.onDropped?.(connection.address, id!, lease!, reconnect);
    if (!this.closing && !this.options.coordinated && id !== undefined && lease !== undefined) void this.endLeaseIfGone(connection.address, id, lease);
  }

  /**
   * A backup killed with its machine up closes its connections at once; asked then, its port refuses.
   * Its lease ends there and then (shipping.ts, `gone`): commits wait a round trip, not the drop timeout.
   * A reset while the listener dies is asked again, for as long as the lease would have lasted anyway.
   */
  private async endLeaseIfGone(address: string, id: string, lease: number): Promise<void> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(colon + 1));
    const until = performance.now() + (this.options.ackTimeoutMs ?? 1_000);
    for (;;) {
      const found = await probeRole(host, port, this.options.ackTimeoutMs ?? 1_000, this.options.tls);
      if (this.closing) return;
      if (backupProcessGone(found, id)) {
        this.options.log?.('replication.backup.gone', { backup: address, id, note: 'its process is gone: commits go on without waiting out its lease' });
        return this.tickets.release(this.backups.gone(id, lease));
      }
      if (!found?.reset || performance.now() > until) return;
    }
  }

  /** A heartbeat: the succession (this primary and its live backups in joining order) and the epoch. */
  private heartbeat(): Message {
    return { type: 'heartbeat', epoch: this.options.epoch(), at: Math.round(performance.now()), peers: this.members, primary: this.options.self?.() };
  }

  /** Heartbeats for idle connections, and the timeout for backups that stopped acknowledging. */
  private tick(): void {
    const now = performance.now();
    const { drop, heartbeat, done } = this.backups.tick(now);
    this.tickets.release(done);
    for (const { key, reason } of drop) {
      const connection = this.connections.get(key);
      if (connection) this.drop(connection, reason);
    }
    const message = this.heartbeat();
    for (const key of heartbeat) {
      const connection = this.connections.get(key);
      if (connection) this.send(connection, message);
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

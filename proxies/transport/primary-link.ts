// The primary's side of replication, over any channel: the handshake (hello, nonces, MACs), the snapshot
// and the update stream to each backup, acknowledgements, heartbeats, drops and their leases, fencing.
// Every decision is the BackupSet's (replication/shipping.ts); this runs the protocol around it. Sockets,
// timers and the clock come through a LinkPort: TcpLink (tcp-link.ts) gives it node:net and the event
// loop, the deterministic simulation (test/simulation) its simulated network and virtual time, so both
// run this same code.
import type { Greeting } from '../replication/following.js';
import type { Decision, ReplicationBatch, ReplicationLink } from '../replication/link.js';
import { BackupSet, backupProcessGone, TicketWaiters } from '../replication/shipping.js';
import type { SnapshotWriter } from '../replication/snapshot.js';
import { SnapshotTransfer } from '../replication/transfer.js';
import type { Message } from './frames.js';
import { backupProof, primaryProof, proofsMatch } from './handshake.js';

/** One connection to a backup, as the transport gives it. */
export interface PeerChannel {
  /** Neither end has closed it. */
  readonly open: boolean;
  send(message: Message): void;
  /** A message already encoded as JSON (a snapshot part). */
  sendText(json: string): void;
  /** Closes it; with `farewell`, that message is written first and given time to arrive. */
  close(farewell?: Message): void;
  /** Bytes written and not yet taken by the network. */
  backlog(): number;
  /** Whether it should be given time before more is written, and when it has taken what it holds. */
  congested(): boolean;
  drained(): Promise<void>;
}

/** What the link needs of its surroundings: connections, a probe, a clock, timers. */
export interface LinkPort {
  /** The monotonic clock leases and timeouts are read from. */
  now(): number;
  /**
   * Opens a connection to a backup's replication port; what arrives, and its end (with why: 'connection
   * closed', the error, a bad frame), come to `events`.
   */
  connect(address: string, events: { message(message: Message): void; closed(reason: string): void }): PeerChannel;
  /** What answers at a backup's replication port now (transport/join.ts's probeRole over TCP). */
  probe(address: string, timeoutMs: number): Promise<Greeting | undefined>;
  /** Runs `run` every `ms` until cancelled. */
  every(ms: number, run: () => void): { cancel(): void };
  /** Runs `run` once, `ms` from now. */
  after(ms: number, run: () => void): void;
  /** Runs `run` after the work already waiting (a turn of the event loop): a snapshot is sent a part at a time. */
  soon(run: () => void): void;
  /** A fresh nonce for a handshake. */
  nonce(): string;
}

export interface PrimaryLinkOptions {
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
  /** A backup must finish the handshake within this long (default five ack timeouts). */
  handshakeTimeoutMs?: number;
  /** How a snapshot is cut into parts and how many may be unacknowledged (replication/transfer.ts). */
  transfer?: ConstructorParameters<typeof SnapshotTransfer>[2];
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Every batch and acknowledgement too, when a replay asks for the whole story. */
  trace?: (event: string, fields: Record<string, unknown>) => void;
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
  channel: PeerChannel;
  /** Its snapshot, while it is being sent. */
  transfer?: SnapshotTransfer;
  pumping?: boolean;
}

/**
 * A joining backup that has not taken this much of what was sent to it (its snapshot's parts wait for
 * it; the batches since do not) has fallen too far behind: it is let go and asks to join again later.
 */
const MAX_JOINING_BUFFER = 256 * 1024 * 1024;

export class PrimaryLink implements ReplicationLink {
  /** The backups and their state, where every decision is made (read by the simulation's checker). */
  readonly backups: BackupSet;
  private readonly connections = new Map<string, Connection>();
  private readonly tickets: TicketWaiters;
  private nextKey = 1;
  private readonly timer: { cancel(): void };
  private closing = false;

  constructor(
    private readonly options: PrimaryLinkOptions,
    private readonly port: LinkPort,
  ) {
    this.backups = new BackupSet({ minAcks: options.minAcks ?? 0, ackTimeoutMs: options.ackTimeoutMs ?? 1_000, coordinated: options.coordinated });
    this.tickets = new TicketWaiters(this.backups);
    this.timer = port.every(Math.max(5, Math.min(options.heartbeatMs ?? 200, (options.ackTimeoutMs ?? 1_000) / 2)), () => this.tick());
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
  connect(address: string): Promise<{ join(snapshot: SnapshotWriter): void }> {
    const key = String(this.nextKey++);
    this.backups.connected(key, address, this.port.now());
    let connection!: Connection;
    const handshake = new Promise<void>((resolve, reject) => {
      let settled = false;
      let theirNonce = '';
      let myNonce = '';
      const fail = (why: string, reason: string) => {
        if (!settled) reject(new Error(why));
        settled = true;
        this.drop(connection, reason);
      };
      const channel = this.port.connect(address, {
        closed: (reason) => fail(`The backup at ${address}: ${reason}.`, reason),
        message: (message) => {
          if (this.connections.get(key) !== connection) return; // dropped: what still arrives is not read
          this.backups.heard(key, this.port.now(), 'ping' in message ? message.ping : undefined);
          switch (message.type) {
            case 'hello': {
              if (myNonce !== '') return; // one handshake per connection
              if (typeof message.id === 'string') this.backups.identified(key, message.id);
              theirNonce = String(message.nonce);
              myNonce = this.port.nonce();
              const epoch = this.options.epoch();
              const node = typeof this.options.node === 'function' ? this.options.node() : this.options.node;
              const id = this.options.self?.()?.id ?? '';
              return this.send(connection, { type: 'auth', nonce: myNonce, node, id, role: 'primary', epoch, mac: primaryProof(this.options.key, theirNonce, myNonce, node, epoch, id) });
            }
            case 'welcome':
              if (settled) return;
              if (!proofsMatch(backupProof(this.options.key, theirNonce, myNonce), message.mac)) return fail(`The backup at ${address} does not hold the cluster key.`, 'wrong cluster key');
              settled = true;
              return resolve();
            case 'snapshot-ack':
              connection.transfer?.acked(message.part);
              return this.pump(connection);
            case 'ack':
              return this.acknowledgedBy(connection, Number(message.upTo), message.ping);
            case 'refuse':
              if (typeof message.epoch === 'number') this.peerEpoch(message.epoch, `${address} is at epoch ${message.epoch}: ${message.reason}`, true, message.id);
              return fail(`The backup at ${address} refused: ${message.reason}`, `refused: ${message.reason}`);
            case 'heartbeat':
              return this.peerEpoch(Number(message.epoch), `${address} follows epoch ${message.epoch}`, false);
          }
        },
      });
      connection = { key, address, channel };
      this.connections.set(key, connection);
      // A backup that accepts the connection but never answers (stopped, or a black hole) is given up on.
      this.port.after(this.options.handshakeTimeoutMs ?? 5 * (this.options.ackTimeoutMs ?? 1_000), () => {
        if (!settled) fail(`The backup at ${address} did not answer the handshake in time.`, 'no handshake in time');
      });
    });
    return handshake.then(() => ({
      join: (writer: SnapshotWriter) => {
        if (!connection.channel.open || this.connections.get(key) !== connection) throw new Error(`The backup at ${address} closed the connection before its snapshot began.`);
        for (const older of this.backups.joined(key, writer.header.seq, this.port.now())) {
          const stale = this.connections.get(older);
          if (stale) this.drop(stale, 'replaced by a newer connection to the same backup', false, false);
        }
        const transfer = new SnapshotTransfer(writer, this.port.now(), this.options.transfer);
        connection.transfer = transfer;
        this.send(connection, transfer.begin({ peers: this.members, primary: this.options.self?.() }) as Message);
        this.options.log?.('replication.backup.joining', { backup: address, seq: writer.header.seq });
        this.pump(connection);
      },
    }));
  }

  /** A backup acknowledged everything up to `upTo`: commits waiting on it may go on; a joiner has joined. */
  private acknowledgedBy(connection: Connection, upTo: number, ping: unknown): void {
    const joining = this.backups.isStreaming(connection.key);
    this.options.trace?.('link.ack', { backup: connection.address, connection: connection.key, upTo });
    this.tickets.release(this.backups.acknowledged(connection.key, upTo, this.port.now(), ping as number | undefined));
    if (joining && connection.transfer) {
      const { transfer } = connection;
      connection.transfer = undefined;
      this.options.log?.('replication.backup.joined', {
        backup: connection.address,
        seq: transfer.writer.header.seq,
        upTo,
        parts: transfer.parts,
        bytes: transfer.bytes,
        ms: Math.round(this.port.now() - transfer.startedAt),
      });
    }
    const caughtUp = this.backups.takeCaughtUp();
    // A backup that just caught up hears at once that it is counted on (the echo of its ping): until
    // then it could not take over, were this primary killed now.
    if (caughtUp.length > 0) this.send(connection, this.heartbeat());
    for (const backup of caughtUp) this.options.onCaughtUp?.(backup);
  }

  replicate(batch: ReplicationBatch, wait: boolean): Promise<void> {
    const upTo = batch.records.length > 0 ? batch.records[batch.records.length - 1]!.seq : 0;
    const { to, ticket } = this.backups.ship(upTo, wait); // throws at once: too few backups, or fenced
    this.options.trace?.('link.ship', { upTo, connections: to, live: this.backups.liveBackups });
    const live = to.map((key) => this.connections.get(key)!);
    const done = ticket === undefined ? undefined : this.tickets.outcome(ticket);
    for (const connection of live) this.send(connection, { type: 'batch', batch });
    return this.acknowledged(live, done, upTo);
  }

  private async acknowledged(live: Connection[], done: ReturnType<TicketWaiters['outcome']> | undefined, upTo: number): Promise<void> {
    // Back-pressure: a backup whose connection is congested is given time to drain before the next group
    // is handed over, so a slow backup slows the primary rather than fill its memory. A joining backup
    // does not (it reads its snapshot first): one that falls too far behind is let go.
    for (const connection of live) {
      if (this.backups.isStreaming(connection.key) && connection.channel.backlog() > MAX_JOINING_BUFFER)
        this.drop(connection, `fell more than ${MAX_JOINING_BUFFER >> 20} MiB behind while its snapshot was sent`);
    }
    await Promise.all(live.map((c) => (c.channel.congested() && !this.backups.isStreaming(c.key) ? c.channel.drained() : undefined)));
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
   * Sends the joining backup's snapshot a part at a time, one part per turn (requests run in between),
   * while its window is open and its connection takes more.
   */
  private pump(connection: Connection): void {
    if (connection.pumping || !connection.transfer) return;
    connection.pumping = true;
    const step = () => {
      connection.pumping = false;
      const transfer = connection.transfer;
      if (!transfer || transfer.done || !connection.channel.open || this.connections.get(connection.key) !== connection) return;
      if (connection.channel.congested()) {
        connection.pumping = true;
        void connection.channel.drained().then(step);
        return;
      }
      const text = transfer.next(() => this.port.now());
      if (text === undefined) return; // the window is full: the next snapshot-ack pumps again
      connection.channel.sendText(text);
      connection.pumping = true;
      this.port.soon(step);
    };
    this.port.soon(step);
  }

  close(): void {
    this.closing = true;
    this.timer.cancel();
    this.tickets.release(this.backups.close('the replication link closed'));
    // Not told they were dropped: this primary acknowledges nothing more, so its backups may take over.
    for (const connection of [...this.connections.values()]) this.drop(connection, 'link closed', false, false);
  }

  /** A peer showed its epoch: a newer one means another node took over, and nothing more commits here. */
  private peerEpoch(epoch: number, reason: string, refused: boolean, theirId?: unknown): void {
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
    if (!connection.channel.open) return;
    connection.channel.send({ ...message, echo: this.backups.echo(connection.key) } as Message);
  }

  /**
   * A backup is dropped: the commits waiting on it count who is still live. `reconnect`: a live backup
   * lost this way is connected to again (not one replaced by a newer connection). `tell`: it is told
   * first, in order after everything sent to it, so that it does not take over if this primary dies
   * later (the lease keeps it safe if the message never arrives).
   */
  private drop(connection: Connection, reason: string, reconnect = true, tell = true): void {
    if (this.connections.get(connection.key) !== connection) return; // dropped already
    this.connections.delete(connection.key);
    connection.transfer?.close();
    connection.transfer = undefined;
    const farewell = tell && this.backups.isLive(connection.key) && connection.channel.open;
    connection.channel.close(farewell ? ({ type: 'dropped', reason } as Message) : undefined);
    // A connection dropped without a reconnect (replaced by a newer one, or the link closing) did not fail.
    const { wasLive, id, lease, joinFailures, done } = this.backups.dropped(connection.key, this.port.now(), reconnect);
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
    const timeout = this.options.ackTimeoutMs ?? 1_000;
    const until = this.port.now() + timeout;
    for (;;) {
      const found = await this.port.probe(address, timeout);
      if (this.closing) return;
      if (backupProcessGone(found, id)) {
        this.options.log?.('replication.backup.gone', { backup: address, id, note: 'its process is gone: commits go on without waiting out its lease' });
        return this.tickets.release(this.backups.gone(id, lease));
      }
      if (!found?.reset || this.port.now() > until) return;
    }
  }

  /** A heartbeat: the succession (this primary and its live backups in joining order) and the epoch. */
  private heartbeat(): Message {
    return { type: 'heartbeat', epoch: this.options.epoch(), at: Math.round(this.port.now()), peers: this.members, primary: this.options.self?.() } as Message;
  }

  /** Heartbeats for idle connections, and the timeout for backups that stopped acknowledging. */
  private tick(): void {
    const { drop, heartbeat, done } = this.backups.tick(this.port.now());
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

// The primary's replication link over the simulated network: the adapter the TCP link is, over the same
// BackupSet (proxies/replication/shipping.ts), with the simulation's clock and connections instead of
// sockets and timers. Every decision (who is live, when a commit may go on, when to drop a backup, when
// this primary is fenced) is made by the BackupSet.
import type { Decision, ReplicationBatch, ReplicationLink } from '../../proxies/replication/link.js';
import { BackupSet, TicketWaiters } from '../../proxies/replication/shipping.js';
import type { SnapshotWriter } from '../../proxies/replication/snapshot.js';
import { SnapshotTransfer } from '../../proxies/replication/transfer.js';

/** Small parts and a small window: the simulation's states are small, and its joins must interleave with batches. */
const SIM_TRANSFER = { partBytes: 256, window: 2, sliceMs: Infinity };
import { onHost, type Connection, type Host, type Network } from './network.js';

export interface SimLinkOptions {
  minAcks: number;
  ackTimeoutMs: number;
  heartbeatMs: number;
  handshakeTimeoutMs: number;
  epoch: () => number;
  onFenced: (epoch: number) => void;
  onDropped: (backup: string, id: string, lease: number, reconnect: boolean) => void;
  /** As the TCP link: with a configuration authority, dropped backups wait for `released`; caught-up ones are reported. */
  coordinated?: boolean;
  onCaughtUp?: (backup: { id: string; address: string }) => void;
  /** As the TCP link: a backup's snapshot broke off, `failures` times in a row. */
  onJoinFailed?: (backup: string, failures: number) => void;
  /** Every batch, acknowledgement and join, when a replay asks for the full story. */
  trace?: (event: string, fields: Record<string, unknown>) => void;
}

export class SimLink implements ReplicationLink {
  readonly backups: BackupSet;
  private readonly connections = new Map<string, Connection>();
  /** Snapshots being sent, by connection. */
  private readonly transfers = new Map<string, SnapshotTransfer>();
  private readonly tickets: TicketWaiters;
  private nextKey = 1;
  private closed = false;

  constructor(
    private readonly host: Host,
    private readonly network: Network,
    private readonly options: SimLinkOptions,
  ) {
    this.backups = new BackupSet({ minAcks: options.minAcks, ackTimeoutMs: options.ackTimeoutMs, coordinated: options.coordinated });
    this.tickets = new TicketWaiters(this.backups);
    this.schedule();
  }

  private get now(): number {
    return this.network.scheduler.now;
  }

  /** Connects to a backup and waits for its welcome (or fails: refused, closed, no answer in time). */
  connect(backup: string): Promise<{ join(snapshot: SnapshotWriter): void }> {
    const key = String(this.nextKey++);
    this.backups.connected(key, backup, this.now);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (!settled) reject(new Error(why));
        settled = true;
        this.drop(key);
      };
      const connection = this.network.connect(this.host, backup, {
        message: (message) => {
          this.backups.heard(key, this.now, message.ping);
          if (message.type === 'welcome') {
            settled = true;
            resolve({
              join: (writer) => {
                for (const older of this.backups.joined(key, writer.header.seq, this.now)) this.drop(older, false, false);
                const transfer = new SnapshotTransfer(writer, this.now, SIM_TRANSFER);
                this.transfers.set(key, transfer);
                this.send(key, transfer.begin({ peers: this.backups.members, primary: { id: this.host.id, address: this.host.id } }));
                this.options.trace?.('link.joining', { backup, connection: key, seq: writer.header.seq });
                this.pump(key);
              },
            });
          } else if (message.type === 'snapshot-ack') {
            this.transfers.get(key)?.acked(message.part);
            this.pump(key);
          } else if (message.type === 'ack') {
            this.options.trace?.('link.ack', { backup, connection: key, upTo: message.upTo });
            if (this.backups.isStreaming(key)) this.transfers.delete(key);
            this.tickets.release(this.backups.acknowledged(key, Number(message.upTo), this.now, message.ping));
            const caughtUp = this.backups.takeCaughtUp();
            // As the TCP link: a backup that just caught up hears at once that it is counted on.
            if (caughtUp.length > 0)
              this.send(key, { type: 'heartbeat', epoch: this.options.epoch(), at: this.now, peers: this.backups.members, primary: { id: this.host.id, address: this.host.id } });
            for (const backup of caughtUp) this.options.onCaughtUp?.(backup);
          } else if (message.type === 'refuse') {
            if (typeof message.epoch === 'number') this.peerEpoch(message.epoch, `${backup} refused: ${String(message.reason)}`, true, typeof message.id === 'string' ? message.id : undefined);
            fail(`${backup} refused: ${String(message.reason)}`);
          } else if (message.type === 'heartbeat') {
            this.peerEpoch(Number(message.epoch), `${backup} follows epoch ${String(message.epoch)}`, false);
          }
        },
        close: () => fail(`${backup} closed the connection`),
      });
      this.connections.set(key, connection);
      connection.send(0, { type: 'auth', epoch: this.options.epoch(), node: this.host.id });
      onHost(this.network.scheduler, this.host, this.now + this.options.handshakeTimeoutMs, () => {
        if (!settled) fail(`${backup} did not answer the handshake in time`);
      });
    });
  }

  replicate(batch: ReplicationBatch, wait: boolean): Promise<void> {
    const upTo = batch.records.length > 0 ? batch.records[batch.records.length - 1]!.seq : 0;
    const { to, ticket } = this.backups.ship(upTo, wait); // throws at once, as the TCP link's
    this.options.trace?.('link.ship', { upTo, connections: to, live: this.backups.liveBackups });
    const done = ticket === undefined ? undefined : this.tickets.outcome(ticket);
    for (const key of to) this.send(key, { type: 'batch', batch });
    return this.acknowledged(done);
  }

  private async acknowledged(done: ReturnType<TicketWaiters['outcome']> | undefined): Promise<void> {
    if (!done) return;
    const result = await done;
    if (!result.ok) {
      for (const key of result.drop) this.drop(key);
      throw result.error;
    }
  }

  /** As the TCP link: whether a connection to this backup is open (joining or live). */
  connectedTo(backup: string): boolean {
    return this.backups.connectedTo(backup);
  }

  released(id: string, lease: number): void {
    this.tickets.release(this.backups.released(id, lease));
  }

  recipients(): string[] {
    return this.backups.recipients;
  }

  decide(decision: Decision): void {
    for (const key of this.connections.keys()) if (this.backups.receives(key)) this.send(key, { type: 'decide', decision });
  }

  /** As the TCP link: the snapshot's parts while the backup's window is open (in small parts, so that batches come between). */
  private pump(key: string): void {
    const transfer = this.transfers.get(key);
    if (!transfer) return;
    for (let text = transfer.next(() => this.now); text !== undefined; text = transfer.next(() => this.now)) {
      this.send(key, JSON.parse(text) as Record<string, unknown> & { type: string });
    }
  }

  /** As the TCP link: not told they were dropped, since this primary acknowledges nothing more. */
  close(): void {
    this.closed = true;
    this.tickets.release(this.backups.close('the replication link closed'));
    for (const key of [...this.connections.keys()]) this.drop(key, true, false);
  }

  /** As the TCP link: every message echoes the newest ping heard from that backup. */
  private send(key: string, message: Record<string, unknown> & { type: string }): void {
    this.connections.get(key)?.send(0, { ...message, echo: this.backups.echo(key) });
  }

  private peerEpoch(epoch: number, reason: string, refused: boolean, theirs?: string): void {
    if (!Number.isFinite(epoch)) return;
    const ids = theirs === undefined ? undefined : { theirs, mine: this.host.id };
    const { fenced, done } = this.backups.peerEpoch(epoch, this.options.epoch(), reason, refused, ids);
    if (!fenced) return;
    this.tickets.release(done);
    this.options.onFenced(epoch);
  }

  /** As the TCP link: `reconnect` a live backup lost this way; `tell` it first that it was dropped. */
  private drop(key: string, reconnect = true, tell = true): void {
    this.transfers.get(key)?.close();
    this.transfers.delete(key);
    if (tell && this.backups.isLive(key)) this.send(key, { type: 'dropped', reason: 'dropped' });
    this.connections.get(key)?.close(0);
    this.connections.delete(key);
    const { wasLive, id, address, lease, joinFailures, done } = this.backups.dropped(key, this.now, reconnect);
    this.tickets.release(done);
    if (joinFailures !== undefined && !this.closed) {
      this.options.trace?.('link.join-failed', { backup: address, failures: joinFailures });
      this.options.onJoinFailed?.(address!, joinFailures);
    }
    if (wasLive && !this.closed) this.options.onDropped(address!, id!, lease!, reconnect);
  }

  private schedule(): void {
    const every = Math.max(5, Math.min(this.options.heartbeatMs, this.options.ackTimeoutMs / 2));
    onHost(this.network.scheduler, this.host, this.now + every, () => {
      if (this.closed) return;
      const { drop, heartbeat, done } = this.backups.tick(this.now);
      this.tickets.release(done);
      for (const { key } of drop) this.drop(key);
      const peers = this.backups.members;
      const primary = { id: this.host.id, address: this.host.id };
      for (const key of heartbeat) this.send(key, { type: 'heartbeat', epoch: this.options.epoch(), at: this.now, peers, primary });
      this.schedule();
    });
  }
}

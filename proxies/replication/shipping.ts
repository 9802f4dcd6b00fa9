// The primary's side of replication, as a plain state machine: which backups are live, what each has
// been sent and has acknowledged, when a commit waiting for acknowledgements may go on, when a silent
// backup is dropped, and when this primary is fenced off by a newer one. It takes events (a backup
// connected, joined, acknowledged, was heard from, went away; time passed) and returns decisions; the
// primary's link (transport/primary-link.ts) drives it, over TCP and over the simulated network alike.
//
// The lease (see following.ts): this primary acknowledges nothing without a backup it dropped until the
// drop timeout has passed since it last heard from it, and echoes to each backup the newest ping it has
// heard from it. A backup that finds this primary gone before that lease could have run out knows it
// holds everything acknowledged, and may take over; one that cannot show that does not.
import { supersedes } from './following.js';
import { ReplicationUnavailableError } from './link.js';

export interface BackupSetOptions {
  /** Backups that must acknowledge each waited-for group; below that, commits fail. */
  minAcks: number;
  /** A live backup that has not been heard from for this long, with records unacknowledged, is dropped. */
  ackTimeoutMs: number;
  /**
   * A configuration authority holds the members: a dropped backup's lease lasts until it has been
   * removed there (`released`), not for a time.
   */
  coordinated?: boolean;
  /** A joining backup silent this long while its snapshot streams is given up (it asks to join again). */
  transferTimeoutMs?: number;
}

interface Backup {
  /** The backup's process id from its greeting (its address until then). */
  id: string;
  address: string;
  /** Highest sequence number acknowledged / sent. */
  acked: number;
  sent: number;
  /** Joined (holds the snapshot) and not dropped: it receives batches and counts for acknowledgements. */
  live: boolean;
  /**
   * Its snapshot is being streamed: it is sent every batch after the snapshot's record (and holds them
   * until the snapshot is complete), but nothing waits for it and it does not count, until its first
   * acknowledgement says it holds the snapshot.
   */
  streaming: boolean;
  /** The snapshot's sequence number, and whether the backup has acknowledged holding it. */
  joinedAt: number;
  confirmed: boolean;
  lastHeard: number;
  /** The newest ping heard from it: echoed back, it proves to the backup that this primary counts on it. */
  ping: number | undefined;
}

/** A backup dropped while live: groups it does not hold wait until `until`, unless it holds them again. */
interface Lease {
  until: number;
  acked: number;
  /** Which drop made it: a release meant for an earlier drop of the same backup must not end a later one's. */
  generation: number;
}

/** A group waiting for acknowledgements: done when every backup it was sent to acked or was dropped. */
interface Ticket {
  upTo: number;
  sentTo: string[];
  waiting: Set<string>;
}

/**
 * A failed group is undone on the primary: `drop` names connections that were sent it although the
 * group did not wait for them (a backup joining then), which hold a record that never happened.
 */
export type TicketResult = { ok: true } | { ok: false; error: ReplicationUnavailableError; drop: string[] };

export interface Tick {
  /** Backups to drop (they stopped acknowledging): the adapter closes their connections. */
  drop: { key: string; reason: string }[];
  /** Live backups to send a heartbeat to. */
  heartbeat: string[];
  /** Tickets now done because a dropped backup's lease ran out (release them). */
  done: number[];
}

export class BackupSet {
  /** By connection key (the adapter's handle for one connection), in the order they connected. */
  private readonly backups = new Map<string, Backup>();
  private readonly tickets = new Map<number, Ticket>();
  private nextTicket = 1;
  /**
   * When each backup process first joined: the succession keeps that order across reconnections, so
   * backups that saw different heartbeats still agree who comes first.
   */
  private readonly seniority = new Map<string, number>();
  private fencedBy: string | undefined;
  /** By backup process id: the leases of backups dropped while live. */
  private readonly leases = new Map<string, Lease>();
  private leaseGeneration = 0;
  /** The highest record acknowledged to a client (waited for, or shipped lazily), and how far each backup process holds. */
  private acknowledgedUpTo = 0;
  private readonly heldUpTo = new Map<string, { upTo: number; address: string }>();
  /** The latest time any event carried: leases are judged by it (late is safe: they only last longer). */
  private latest = -Infinity;
  private lastTick: number | undefined;
  /** Snapshots that broke off in a row, by backup address (cleared once one arrives). */
  private readonly joinFailures = new Map<string, number>();
  /** Backups that acknowledged their snapshot since last asked (for the configuration authority). */
  private caughtUp: { id: string; address: string }[] = [];

  constructor(private readonly options: BackupSetOptions) {}

  /** Backups that caught up since the last call: a primary with a configuration authority adds them as members. */
  takeCaughtUp(): { id: string; address: string }[] {
    return this.caughtUp.splice(0);
  }

  /**
   * A dropped backup was removed from the members at the configuration authority: go on without it.
   * `generation` is the drop's (from `dropped`): a removal that finished after the backup rejoined and was
   * dropped again ends nothing. Returns tickets done.
   */
  released(id: string, generation: number): number[] {
    if (this.leases.get(id)?.generation !== generation) return [];
    this.leases.delete(id);
    return this.settled();
  }

  /**
   * A dropped backup's process was found gone (its replication port refused, or another process answers
   * there): a process that no longer exists cannot take over, so its lease ends at once instead of at the
   * drop timeout. `generation` is the drop's, as for `released`. Returns tickets done.
   */
  gone(id: string, generation: number): number[] {
    return this.released(id, generation);
  }

  private at(now: number): void {
    if (now > this.latest) this.latest = now;
  }

  /**
   * The ping to echo to the backup on this connection: only once it holds everything this primary
   * acknowledged (live and caught up), since an echo tells it that this primary counts on it.
   */
  echo(key: string): number | undefined {
    const backup = this.backups.get(key);
    return backup?.live && backup.confirmed ? backup.ping : undefined;
  }

  /**
   * Ids of the backups a batch shipped now is sent to (live, or streaming their snapshot), and of those
   * dropped that still hold a lease: this primary does not go on without them yet.
   */
  get recipients(): string[] {
    const ids = [...this.backups.values()].filter((b) => b.live || b.streaming).map((b) => b.id);
    return [...new Set([...ids, ...this.leases.keys()])];
  }

  /** Addresses of the backups acknowledging now. */
  get liveBackups(): string[] {
    return [...this.backups.values()].filter((b) => b.live).map((b) => b.address);
  }

  /** Per live backup, how many records it was sent that it has not acknowledged yet (its lag). */
  get lag(): { address: string; records: number }[] {
    return [...this.backups.values()].filter((b) => b.live).map((b) => ({ address: b.address, records: Math.max(0, b.sent - b.acked) }));
  }

  /** The live backups in the order they first joined: the succession, by identity and address. */
  get members(): { id: string; address: string }[] {
    return [...this.backups.values()]
      .filter((b) => b.live)
      .sort((a, b) => (this.seniority.get(a.id) ?? 0) - (this.seniority.get(b.id) ?? 0))
      .map((b) => ({ id: b.id, address: b.address }));
  }

  /**
   * Live backups that acknowledged their snapshot: they hold this primary's state. A primary serves only
   * once at least --min-acks of them do, so that what it answers (a retried request's reply, say) is
   * held where the promise says, also just after it took over with records only it had.
   */
  get confirmed(): number {
    return this.confirmedAddresses.length;
  }

  /** The addresses of those backups. */
  get confirmedAddresses(): string[] {
    return [...this.backups.values()].filter((b) => b.live && b.confirmed).map((b) => b.address);
  }

  /**
   * The backups that hold everything this primary acknowledged: live since they caught up (so they
   * acknowledged every group since), or dropped after acknowledging all of it. A primary that stops
   * names them to backups that ask.
   */
  get holders(): { id: string; address: string }[] {
    const named = new Map<string, string>();
    for (const b of this.backups.values()) if (b.live && b.confirmed) named.set(b.id, b.address);
    // And those dropped after they acknowledged everything acknowledged (with --min-acks as many as the
    // backups, a drop stops the acknowledgements, so the backup dropped holds them all).
    for (const [id, held] of this.heldUpTo) if (held.upTo >= this.acknowledgedUpTo && !named.has(id)) named.set(id, held.address);
    // In the order they first joined: the succession among them, the same for each of them.
    return [...named].sort(([a], [b]) => (this.seniority.get(a) ?? Infinity) - (this.seniority.get(b) ?? Infinity)).map(([id, address]) => ({ id, address }));
  }

  get ready(): boolean {
    return this.confirmed >= this.options.minAcks;
  }

  isLive(key: string): boolean {
    return this.backups.get(key)?.live ?? false;
  }

  /** Whether the connection is sent batches and decisions: live, or streaming its snapshot. */
  receives(key: string): boolean {
    const backup = this.backups.get(key);
    return backup !== undefined && (backup.live || backup.streaming);
  }

  /** Whether a connection to the backup at this address is open (joining or live). */
  connectedTo(address: string): boolean {
    return [...this.backups.values()].some((b) => b.address === address);
  }

  /** Whether the backup on this connection is being sent its snapshot. */
  isStreaming(key: string): boolean {
    return this.backups.get(key)?.streaming ?? false;
  }

  /** A connection to a backup opened; it receives nothing until it has joined. */
  connected(key: string, address: string, now: number): void {
    this.at(now);
    this.backups.set(key, { id: address, address, acked: 0, sent: 0, live: false, streaming: false, lastHeard: now, joinedAt: 0, confirmed: false, ping: undefined });
  }

  /** The backup's greeting named its process id. */
  identified(key: string, id: string): void {
    const backup = this.backups.get(key);
    if (backup) backup.id = id;
  }

  /**
   * The backup's snapshot up to `seq` begins to stream: it receives every later batch, and becomes live
   * with its first acknowledgement (see `acknowledged`). Returns the keys of older connections to the same
   * backup process, which the adapter closes: one process must never count twice towards the
   * acknowledgements a commit needs.
   */
  joined(key: string, seq: number, now: number): string[] {
    this.at(now);
    const backup = this.backups.get(key);
    if (!backup) return [];
    backup.acked = backup.sent = backup.joinedAt = seq;
    backup.streaming = true;
    backup.live = false;
    backup.confirmed = false;
    backup.lastHeard = now;
    return [...this.backups].filter(([k, b]) => k !== key && b.id === backup.id).map(([k]) => k);
  }

  /** Something arrived from the backup; `ping` when it carried one (acks and heartbeats do). */
  heard(key: string, now: number, ping?: unknown): void {
    this.at(now);
    const backup = this.backups.get(key);
    if (!backup) return;
    backup.lastHeard = now;
    if (typeof ping === 'number' && Number.isSafeInteger(ping) && ping > (backup.ping ?? 0)) backup.ping = ping;
  }

  /**
   * A group up to `upTo` is about to be sent. Returns the backups to send it to and, when `wait`, the
   * ticket to wait on (see `result`). Throws ReplicationUnavailableError (nothing shipped) when fenced
   * or when fewer backups than required are live.
   */
  ship(upTo: number, wait: boolean): { to: string[]; ticket?: number } {
    if (this.fencedBy) throw new ReplicationUnavailableError(`fenced: ${this.fencedBy}`, false, true);
    const live = [...this.backups].filter(([, b]) => b.live).map(([key]) => key);
    if (live.length < this.options.minAcks) {
      throw new ReplicationUnavailableError(`${live.length} backup(s) live, ${this.options.minAcks} required to acknowledge.`, false);
    }
    const to = [...this.backups].filter(([, b]) => b.live || b.streaming).map(([key]) => key);
    for (const key of to) {
      const backup = this.backups.get(key)!;
      backup.sent = Math.max(backup.sent, upTo);
    }
    if (!wait) {
      this.acknowledgedUpTo = Math.max(this.acknowledgedUpTo, upTo); // a lazy group is answered at once
      return { to };
    }
    const ticket = this.nextTicket++;
    this.tickets.set(ticket, { upTo, sentTo: live, waiting: new Set(live.filter((key) => this.backups.get(key)!.acked < upTo)) });
    return { to, ticket };
  }

  /** A ticket's outcome once done, or undefined while it still waits (the adapter asks again on `done`). */
  result(ticket: number): TicketResult | undefined {
    const t = this.tickets.get(ticket);
    const result = t && this.outcome(t);
    if (result) this.tickets.delete(ticket);
    if (result && !result.ok) result.drop = [...this.backups].filter(([key, b]) => !t!.sentTo.includes(key) && (b.live || b.streaming) && b.sent >= t!.upTo).map(([key]) => key);
    if (result?.ok) this.acknowledgedUpTo = Math.max(this.acknowledgedUpTo, t!.upTo);
    return result;
  }

  private outcome(t: Ticket): TicketResult | undefined {
    if (this.fencedBy) return { ok: false, error: new ReplicationUnavailableError(`fenced: ${this.fencedBy}`, true, true), drop: [] };
    if (t.waiting.size > 0) return undefined;
    const stillLive = t.sentTo.filter((key) => this.backups.get(key)?.live).length;
    if (stillLive < this.options.minAcks) {
      return { ok: false, error: new ReplicationUnavailableError(`only ${stillLive} backup(s) acknowledged; ${this.options.minAcks} required.`, true, false, stillLive > 0), drop: [] };
    }
    // A dropped backup may still take over until its lease runs out: acknowledge nothing it lacks before.
    for (const lease of this.leases.values()) if (lease.until > this.latest && lease.acked < t.upTo) return undefined;
    return { ok: true };
  }

  /** Tickets now done, for the adapter to resolve (call `result` for each). */
  private settled(): number[] {
    return [...this.tickets].filter(([, t]) => this.outcome(t) !== undefined).map(([n]) => n);
  }

  /** The backup acknowledged every record up to `upTo`. Returns the tickets now done. */
  acknowledged(key: string, upTo: number, now: number, ping?: unknown): number[] {
    this.heard(key, now, ping);
    const backup = this.backups.get(key);
    if (!backup) return [];
    if (backup.streaming) {
      // It holds the snapshot and the records since: live from now on. It holds everything acknowledged
      // once it has acknowledged what was sent to it before (groups then did not wait for it).
      backup.streaming = false;
      backup.live = true;
      backup.joinedAt = backup.sent;
      if (!this.seniority.has(backup.id)) this.seniority.set(backup.id, this.seniority.size);
      this.joinFailures.delete(backup.address);
    }
    backup.acked = Math.max(backup.acked, upTo);
    if (backup.live && upTo >= backup.joinedAt) {
      this.heldUpTo.set(backup.id, { upTo: Math.max(this.heldUpTo.get(backup.id)?.upTo ?? 0, upTo), address: backup.address });
      if (!backup.confirmed) this.caughtUp.push({ id: backup.id, address: backup.address });
      backup.confirmed = true;
      this.leases.delete(backup.id); // it holds everything again
    }
    for (const t of this.tickets.values()) if (t.upTo <= backup.acked) t.waiting.delete(key);
    return this.settled();
  }

  /**
   * The backup went away (connection closed, refused, timed out): it no longer counts. A live one keeps a
   * lease until the drop timeout after it was last heard. One whose snapshot was streaming broke off its
   * join, unless `failed` is false or another connection to it is open (a newer one replaced this one):
   * `joinFailures` counts those in a row. Returns tickets done.
   */
  dropped(key: string, now: number, failed = true): { wasLive: boolean; id?: string; address?: string; lease?: number; joinFailures?: number; done: number[] } {
    this.at(now);
    const backup = this.backups.get(key);
    if (!backup) return { wasLive: false, done: [] };
    this.backups.delete(key);
    let lease: number | undefined;
    if (backup.live) {
      const held = this.leases.get(backup.id);
      const until = this.options.coordinated ? Infinity : backup.lastHeard + this.options.ackTimeoutMs;
      lease = ++this.leaseGeneration;
      this.leases.set(backup.id, { until: Math.max(until, held?.until ?? -Infinity), acked: Math.min(backup.acked, held?.acked ?? Infinity), generation: lease });
    }
    let joinFailures: number | undefined;
    if (backup.streaming && failed && !this.connectedTo(backup.address)) {
      joinFailures = (this.joinFailures.get(backup.address) ?? 0) + 1;
      this.joinFailures.set(backup.address, joinFailures);
    }
    for (const t of this.tickets.values()) t.waiting.delete(key);
    return { wasLive: backup.live, id: backup.id, address: backup.address, lease, joinFailures, done: this.settled() };
  }

  /**
   * A peer showed `epoch`: a newer one means another node took over, and nothing more commits through
   * this set. A peer that refused this primary at the same epoch is another primary of it (two backups
   * took over at once, each unable to reach the other): the one with the greater id wins, the other is
   * fenced. Returns whether this fenced it (the first time), and the tickets now done.
   */
  peerEpoch(epoch: number, own: number, reason: string, refused: boolean, ids?: { theirs: string; mine: string }): { fenced: boolean; done: number[] } {
    const newer = epoch > own || (refused && epoch === own && (ids === undefined || supersedes({ epoch, id: ids.theirs }, { epoch: own, id: ids.mine })));
    if (!newer || this.fencedBy) return { fenced: false, done: [] };
    this.fencedBy = reason;
    return { fenced: true, done: this.settled() };
  }

  /** The link closes (this primary stopped, was fenced, or shuts down): every waiting group fails. Returns tickets done. */
  close(reason: string): number[] {
    this.fencedBy ??= reason;
    return this.settled();
  }

  /**
   * Time passed: which live backups to drop for silence, which to send a heartbeat, and which tickets a
   * lease running out let go. A tick that comes more than the timeout after the last one means this
   * process itself stalled (a GC pause, a long request, SIGSTOP): what its backups sent meanwhile is
   * still unread, so nobody is dropped before the next tick has read it.
   */
  tick(now: number): Tick {
    this.at(now);
    const timeout = this.options.ackTimeoutMs;
    const stalled = this.lastTick !== undefined && now - this.lastTick > timeout;
    this.lastTick = now;
    const result: Tick = { drop: [], heartbeat: [], done: [] };
    for (const [key, backup] of this.backups) {
      if (backup.streaming) {
        const silent = now - backup.lastHeard;
        const limit = this.options.transferTimeoutMs ?? Math.max(30_000, 20 * timeout);
        if (!stalled && silent > limit) result.drop.push({ key, reason: `no answer for ${Math.round(silent)} ms while its snapshot was sent` });
        else result.heartbeat.push(key);
        continue;
      }
      if (!backup.live) continue;
      const silent = now - backup.lastHeard;
      const behind = backup.sent > backup.acked;
      if (!stalled && silent > timeout && (behind || silent > 2 * timeout)) result.drop.push({ key, reason: `no acknowledgement for ${Math.round(silent)} ms` });
      else result.heartbeat.push(key);
    }
    let expired = false;
    for (const [id, lease] of this.leases) {
      if (lease.until > now) continue;
      this.leases.delete(id);
      expired = true;
    }
    if (expired) result.done = this.settled();
    return result;
  }
}

/**
 * The adapters' side of tickets: a promise per waited-for group, settled when the BackupSet says the
 * ticket is done (pass it the tickets each event returned).
 */
export class TicketWaiters {
  private readonly waiting = new Map<number, (result: TicketResult) => void>();

  constructor(private readonly backups: BackupSet) {}

  /** The ticket's result: at once if it is already done, else when an ack, a drop or a fence settles it. */
  outcome(ticket: number): Promise<TicketResult> {
    const now = this.backups.result(ticket);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => this.waiting.set(ticket, resolve));
  }

  release(tickets: number[]): void {
    for (const ticket of tickets) {
      const resolve = this.waiting.get(ticket);
      const result = resolve && this.backups.result(ticket);
      if (!resolve || !result) continue;
      this.waiting.delete(ticket);
      resolve(result);
    }
  }
}

/**
 * Whether what answers (or does not) at a dropped backup's replication port proves its process gone: the
 * port refuses (nothing listens: a process that lives keeps listening until it stops), or a process of
 * another id answers there (the old one let go of the port). No answer, or a reset, proves nothing.
 */
export function backupProcessGone(found: { refused?: boolean; id?: string } | undefined, id: string): boolean {
  return found?.refused === true || (found?.id !== undefined && found.id !== id);
}

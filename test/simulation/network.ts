// The simulated network: connections between hosts with the guarantees of TCP and the faults the
// simulation chooses per seed. A connection delivers in order unless a reorder fault lets a message
// overtake; it may be reset (both ends hear of it), black-holed (everything after is lost and nobody
// is told: only timeouts notice), or deliver a message twice. A partition holds messages between two
// groups of hosts until it heals, as TCP's retransmissions would. Messages are copied through JSON, as
// the wire does. A crashed host receives nothing; a paused one receives everything when it resumes.
import type { Scheduler } from './scheduler.js';

export interface Host {
  readonly id: string;
  alive: boolean;
  /** A paused process (a long GC pause, SIGSTOP) runs nothing until then. */
  pausedUntil: number;
  /** Someone opened a connection to this host: install handlers on the accepting end. */
  accept?(connection: Connection): void;
}

export interface NetworkFaults {
  /** Latency of one message, in virtual ms. */
  latency: [number, number];
  /** Chance that a message is much slower (up to `spikeMs`). */
  spike: number;
  spikeMs: number;
  /** Per message: the connection is reset / black-holed / the message arrives twice / out of order. */
  reset: number;
  blackhole: number;
  duplicate: number;
  reorder: number;
}

export const CALM: NetworkFaults = { latency: [1, 3], spike: 0, spikeMs: 0, reset: 0, blackhole: 0, duplicate: 0, reorder: 0 };

type Message = Record<string, unknown> & { type: string };

interface End {
  host: Host;
  /** This end closed its socket: what arrives after is discarded. */
  closed?: boolean;
  onMessage?: (message: Message) => void;
  /** `refused`: nothing listened on the port (ECONNREFUSED); otherwise a FIN or a reset. */
  onClose?: (refused: boolean) => void;
}

/** Schedules `run` on `host`: dropped if it has crashed, held while it is paused. */
export function onHost(scheduler: Scheduler, host: Host, at: number, run: () => void): void {
  scheduler.at(at, () => {
    if (!host.alive) return;
    if (host.pausedUntil > scheduler.now) return onHost(scheduler, host, host.pausedUntil, run);
    run();
  });
}

export class Connection {
  /** Neither end has closed it: both may send. */
  open = true;
  /** Reset or black-holed: what is in flight is lost too. */
  private broken = false;
  private blackholed = false;
  private readonly lastAt = [0, 0];
  /** When the accepting end exists: nothing, not even an overtaking message, arrives before. */
  private openAt = 0;
  readonly ends: [End, End];

  constructor(
    private readonly network: Network,
    from: Host,
    to: Host,
  ) {
    this.ends = [{ host: from }, { host: to }];
  }

  opened(at: number): void {
    this.openAt = this.lastAt[0] = at;
  }

  /** The end of `host` handles messages and the close with these. */
  on(side: 0 | 1, handlers: { message: (message: Message) => void; close: (refused: boolean) => void }): void {
    this.ends[side].onMessage = handlers.message;
    this.ends[side].onClose = handlers.close;
  }

  send(from: 0 | 1, message: Message): void {
    if (!this.open || this.blackholed || !this.ends[from].host.alive) return;
    const faults = this.network.faults;
    const random = this.network.scheduler.random;
    if (random.chance(faults.reset)) return this.reset();
    if (random.chance(faults.blackhole)) {
      this.blackholed = true;
      return;
    }
    const wire = JSON.stringify(message);
    const copies = random.chance(faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.deliver(from, JSON.parse(wire) as Message, random.chance(faults.reorder));
  }

  /** This end closes: what it sent still arrives, then the other end hears of the close (a FIN). */
  close(from: 0 | 1): void {
    if (!this.open) return;
    this.open = false;
    this.ends[from].closed = true;
    this.network.connections.delete(this);
    const other = this.ends[1 - from]!;
    const at = this.nextAt(from, false);
    onHost(this.network.scheduler, other.host, at, () => {
      other.closed = true;
      other.onClose?.(false);
    });
  }

  /** Nothing listened where it connected: its reset is a refusal (ECONNREFUSED), not a reset of a connection. */
  refused = false;

  /** A reset: both ends hear of it (once a partition between them heals), and data in flight is lost. */
  reset(): void {
    if (this.broken) return;
    this.open = false;
    this.broken = true;
    this.network.connections.delete(this);
    for (const side of [0, 1] as const) {
      const end = this.ends[side];
      if (end.closed) continue;
      end.closed = true;
      const at = Math.max(this.network.scheduler.now + this.network.latency(), this.network.heldUntil(this.ends[1 - side]!.host.id, end.host.id));
      onHost(this.network.scheduler, end.host, at, () => end.onClose?.(this.refused));
    }
  }

  /** The host crashed: the kernel resets its connections, so the peer hears of it. */
  crashed(): void {
    this.reset();
  }

  private deliver(from: 0 | 1, message: Message, overtaking: boolean): void {
    const to = this.ends[1 - from]!;
    const at = this.nextAt(from, overtaking);
    onHost(this.network.scheduler, to.host, at, () => {
      if (!this.broken && !this.blackholed && !to.closed) to.onMessage?.(message);
    });
  }

  private nextAt(from: 0 | 1, overtaking: boolean): number {
    const scheduler = this.network.scheduler;
    let at = scheduler.now + this.network.latency();
    at = Math.max(at, this.openAt, this.network.heldUntil(this.ends[from].host.id, this.ends[1 - from]!.host.id));
    if (overtaking) return at;
    at = Math.max(at, this.lastAt[from]!);
    this.lastAt[from] = at;
    return at;
  }
}

export class Network {
  readonly hosts = new Map<string, Host>();
  readonly connections = new Set<Connection>();
  faults: NetworkFaults = CALM;
  private partitions: { a: Set<string>; b: Set<string>; until: number }[] = [];

  constructor(readonly scheduler: Scheduler) {}

  latency(): number {
    const { latency, spike, spikeMs } = this.faults;
    const random = this.scheduler.random;
    const base = random.int(latency[0], latency[1]);
    return random.chance(spike) ? base + random.int(1, spikeMs) : base;
  }

  add(host: Host): void {
    this.hosts.set(host.id, host);
  }

  /** Opens a connection from `from` to the host named `to`; an absent or crashed host resets it. */
  connect(from: Host, to: string, handlers: { message: (message: Message) => void; close: (refused: boolean) => void }): Connection {
    const target = this.hosts.get(to) ?? { id: to, alive: false, pausedUntil: 0 };
    const connection = new Connection(this, from, target);
    connection.on(0, handlers);
    this.connections.add(connection);
    // The accepting end exists once the first bytes arrive, in order before any data.
    const at = Math.max(this.scheduler.now + this.latency(), this.heldUntil(from.id, to));
    connection.opened(at);
    const accept = (when: number) =>
      this.scheduler.at(when, () => {
        if (!target.alive || !target.accept) {
          connection.refused = true;
          return connection.reset();
        }
        if (target.pausedUntil > this.scheduler.now) return accept(target.pausedUntil);
        target.accept(connection);
      });
    accept(at);
    return connection;
  }

  crash(host: Host): void {
    host.alive = false;
    for (const connection of this.connections) {
      if (connection.ends.some((end) => end.host === host)) connection.crashed();
    }
  }

  /** Messages between the two groups wait until `until` (then arrive, as TCP retransmits them). */
  partition(a: string[], b: string[], until: number): void {
    this.partitions.push({ a: new Set(a), b: new Set(b), until });
  }

  heldUntil(from: string, to: string): number {
    let until = 0;
    for (const p of this.partitions) {
      if (p.until <= this.scheduler.now) continue;
      if ((p.a.has(from) && p.b.has(to)) || (p.b.has(from) && p.a.has(to))) until = Math.max(until, p.until);
    }
    return until;
  }
}

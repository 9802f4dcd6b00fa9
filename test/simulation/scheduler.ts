// The simulation's world: a virtual clock, one queue of events in time order, and one seeded random
// source. Events run one at a time; after each, every promise continuation it caused runs to the end
// before the next event (the run-time's code is promise-based and uses no real timers on these paths),
// so a seed fixes the whole run: the same seed replays the same history, event for event.

/** A small, fast, seedable generator (mulberry32): the same seed gives the same sequence everywhere. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

interface Event {
  at: number;
  order: number;
  run: () => void;
}

/** Flushes every pending promise continuation: setImmediate runs only once the microtask queue is empty. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Scheduler {
  now = 0;
  readonly random: Random;
  private readonly queue: Event[] = [];
  private order = 0;
  /** Events run so far: a run's length, and a check that a replay took the same path. */
  steps = 0;

  constructor(readonly seed: number) {
    this.random = new Random(seed);
  }

  /** Runs `run` at virtual time `at` (never before now). */
  at(at: number, run: () => void): void {
    this.push({ at: Math.max(at, this.now), order: this.order++, run });
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.now + delayMs, run);
  }

  /** Runs events in time order until `until` (virtual ms) or until `stop` says so, whichever is first. */
  async run(until: number, stop: () => boolean = () => false): Promise<void> {
    while (this.queue.length > 0 && this.queue[0]!.at <= until && !stop()) {
      const event = this.pop();
      this.now = event.at;
      this.steps++;
      event.run();
      await settle();
    }
    if (this.now < until && !stop()) this.now = until;
  }

  // A binary heap on (at, order): equal times keep the order they were scheduled in.
  private push(event: Event): void {
    const q = this.queue;
    q.push(event);
    for (let i = q.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(q[i]!, q[parent]!)) break;
      [q[i], q[parent]] = [q[parent]!, q[i]!];
      i = parent;
    }
  }

  private pop(): Event {
    const q = this.queue;
    const top = q[0]!;
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < q.length && before(q[l]!, q[m]!)) m = l;
        if (r < q.length && before(q[r]!, q[m]!)) m = r;
        if (m === i) break;
        [q[i], q[m]] = [q[m]!, q[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

// The simulated configuration authority: one record every node reaches by a round trip of simulated
// latency, swapped by version as the real stores do (proxies/coordination/stores.ts). An answer may be
// lost before the server saw the call or after it applied it (the node cannot tell which; the steps in
// configuration.ts read the record again and see their own write). The real stores are tested against
// SQLite, PostgreSQL, MariaDB and etcd elsewhere.
import type { Configuration, Proposal } from '../../proxies/coordination/configuration.js';
import type { CoordinatorStore } from '../../proxies/coordination/coordination.js';
import { onHost, type Host } from './network.js';
import type { Scheduler } from './scheduler.js';

export class SimCoordinator {
  stored: { version: number; value: Proposal } | undefined;
  /** Every configuration written, oldest first (what an operator reads in the authority's history). */
  readonly history: Proposal[] = [];
  /** Per call: the answer is lost before / after the server handled it. */
  faults = { lostBefore: 0, lostAfter: 0 };

  constructor(private readonly scheduler: Scheduler) {}

  clientFor(host: Host): CoordinatorStore {
    const call = <T>(work: () => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const random = this.scheduler.random;
        const lostBefore = random.chance(this.faults.lostBefore);
        const lostAfter = random.chance(this.faults.lostAfter);
        this.scheduler.after(random.int(1, 4), () => {
          let answer: { value?: T; error?: Error } = lostBefore ? { error: new Error('the authority did not answer') } : { value: work() };
          if (lostAfter) answer = { error: new Error('the authority did not answer') };
          onHost(this.scheduler, host, this.scheduler.now + random.int(1, 4), () => (answer.error ? reject(answer.error) : resolve(answer.value as T)));
        });
      });
    return {
      description: 'the simulated authority',
      read: () => call((): Configuration | undefined => this.stored && { ...structuredClone(this.stored.value), version: this.stored.version }),
      swap: (expected, next) =>
        call(() => {
          if ((this.stored?.version ?? 0) !== expected) return false;
          this.stored = { version: expected + 1, value: structuredClone(next) };
          this.history.push(structuredClone(next));
          return true;
        }),
      close: () => Promise.resolve(),
    };
  }
}

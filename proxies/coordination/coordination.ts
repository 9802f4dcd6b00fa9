// Running the configuration steps (configuration.ts) against a store: read, decide, compare-and-set,
// and on a lost race read again. The stores (sql.ts, etcd.ts, and the simulation's) only read and swap
// one record; every decision is made here and in configuration.ts.
import type { Member } from '../replication/following.js';
import { addMember, claimPrimary, promoteByHand, removeMember, takeOver, type Configuration, type Proposal, type Step } from './configuration.js';

export interface CoordinatorStore {
  /** Where it is, for messages (no credentials). */
  readonly description: string;
  read(): Promise<Configuration | undefined>;
  /** Stores `next` as version `expected + 1` if the stored version is still `expected` (0: none stored). */
  swap(expected: number, next: Proposal): Promise<boolean>;
  close(): Promise<void>;
}

export type Outcome = Exclude<Step, { kind: 'write' }> | { kind: 'written'; configuration: Configuration };

/** How many times a step is decided again after losing a race (others changed the configuration). */
const ATTEMPTS = 8;

export class Coordination {
  constructor(readonly store: CoordinatorStore) {}

  private async run(decide: (current: Configuration | undefined) => Step): Promise<Outcome> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.store.read();
      const step = decide(current);
      if (step.kind !== 'write') return step;
      const expected = current?.version ?? 0;
      if (await this.store.swap(expected, step.next)) return { kind: 'written', configuration: { ...step.next, version: expected + 1 } };
    }
    throw new Error(`The configuration in ${this.store.description} kept changing under this node (${ATTEMPTS} attempts); try again.`);
  }

  read(): Promise<Configuration | undefined> {
    return this.store.read();
  }

  claimPrimary(self: Member, epoch: number): Promise<Outcome> {
    return this.run((current) => claimPrimary(current, self, epoch));
  }

  addMember(self: Member, epoch: number, member: Member): Promise<Outcome> {
    return this.run((current) => addMember(current, self, epoch, member));
  }

  removeMember(self: Member, epoch: number, id: string): Promise<Outcome> {
    return this.run((current) => removeMember(current, self, epoch, id));
  }

  takeOver(self: Member, epoch: number, followed: string | undefined): Promise<Outcome> {
    return this.run((current) => takeOver(current, self, epoch, followed));
  }

  promoteByHand(self: Member, epoch: number): Promise<Outcome> {
    return this.run((current) => promoteByHand(current, self, epoch));
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * At start, an authority that does not answer is asked again a few times before the node gives up;
 * `pause` is the caller's clock (real, or the simulation's).
 */
export async function askAgain<T>(call: () => Promise<T>, pause: (ms: number) => Promise<void>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await pause(100 * attempt);
    }
  }
}

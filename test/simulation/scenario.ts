// What a seed stands for: the cluster's configuration and the faults it will suffer.
import type { NetworkFaults } from './network.js';
import type { Random } from './scheduler.js';

export interface Scenario {
  seed: number;
  nodes: number;
  database: boolean;
  update: 'repeat' | 'state';
  minAcks: number;
  clients: number;
  /** Virtual ms of load with faults; then the faults heal and the clients finish. */
  loadMs: number;
  crashes: number;
  /** Pauses and partitions: the failure detector is wrong, a stale primary comes back. */
  imperfect: number;
  network: NetworkFaults;
  databaseFaults: { lostBefore: number; lostAfter: number };
}

export const HEARTBEAT_MS = 50;
export const TIMEOUT_MS = 250;

/**
 * The scenario a seed stands for. Without a database, heartbeats must be a perfect failure detector
 * (DESIGN.md, guarantee 7) unless every backup must acknowledge (--min-acks = backups): pauses and
 * partitions are chosen only where the promise covers them.
 */
export function scenarioFor(seed: number, random: Random): Scenario {
  const database = random.chance(0.5);
  // Up to three backups with the database; without it, two (docs/RELIABILITY.md, "Not covered").
  const nodes = random.int(2, database ? 4 : 3);
  const backups = nodes - 1;
  const minAcks = random.pick(database ? [0, 1, backups] : [0, 1, backups]);
  // Faults that make heartbeats a wrong failure detector (a live primary suspected): pauses, partitions,
  // broken connections, messages late past the timeout. They are promised against only with the
  // database as the fencing token, or when every backup must acknowledge (docs/RELIABILITY.md).
  // With the database, a backup must hold the primary's replicated state too (--min-acks 1 or more):
  // a primary that went on alone and was then fenced off took that state with it.
  const covered = database ? minAcks >= 1 : minAcks >= backups;
  const rate = (max: number) => (random.chance(0.5) ? 0 : random.next() * max);
  return {
    seed,
    nodes,
    database,
    update: random.pick(['repeat', 'state'] as const),
    minAcks,
    clients: random.int(1, 4),
    loadMs: random.int(2_000, 6_000),
    crashes: random.int(0, 3),
    imperfect: covered ? random.int(0, 3) : 0,
    network: {
      latency: [1, random.int(2, 10)],
      spike: rate(0.05),
      spikeMs: covered ? random.int(10, 3 * TIMEOUT_MS) : random.int(10, TIMEOUT_MS / 3),
      reset: covered ? rate(0.004) : 0,
      blackhole: covered ? rate(0.002) : 0,
      duplicate: rate(0.05),
      reorder: covered ? rate(0.05) : 0,
    },
    databaseFaults: database ? { lostBefore: rate(0.05), lostAfter: rate(0.05) } : { lostBefore: 0, lostAfter: 0 },
  };
}

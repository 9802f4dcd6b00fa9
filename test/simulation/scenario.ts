// What a seed stands for: the cluster's configuration and the faults it will suffer.
import type { NetworkFaults } from './network.js';
import type { Random } from './scheduler.js';

export interface Scenario {
  seed: number;
  nodes: number;
  database: boolean;
  /** A configuration authority (--coordinator), with answers lost at these rates; none: the lease alone. */
  coordinator?: { lostBefore: number; lostAfter: number };
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
 * The scenario a seed stands for. Every configuration suffers every fault: a backup never takes over on
 * silence, only when it finds its primary gone while the primary still counted on it (docs/SERVING.md,
 * "Failure detection and succession"), so pauses and partitions longer than every timeout lose nothing
 * acknowledged, with --min-acks 0 (the default) too. What they may cost is availability: then the
 * operator (cluster.ts) promotes a backup the dead primary had not dropped, as docs/SERVING.md says.
 */
export function scenarioFor(seed: number, random: Random): Scenario {
  const database = random.chance(0.5);
  // Up to three backups, with the database or without it.
  const nodes = random.int(2, 4);
  const backups = nodes - 1;
  const minAcks = random.pick([0, 0, 1, backups]);
  const rate = (max: number) => (random.chance(0.5) ? 0 : random.next() * max);
  const coordinator = random.chance(0.4) ? { lostBefore: rate(0.05), lostAfter: rate(0.05) } : undefined;
  return {
    seed,
    nodes,
    database,
    coordinator,
    update: random.pick(['repeat', 'state'] as const),
    minAcks,
    clients: random.int(1, 4),
    loadMs: random.int(2_000, 6_000),
    crashes: random.int(0, 3),
    imperfect: random.int(0, 3),
    network: {
      latency: [1, random.int(2, 10)],
      spike: rate(0.05),
      spikeMs: random.int(10, 3 * TIMEOUT_MS),
      reset: rate(0.004),
      blackhole: rate(0.002),
      duplicate: rate(0.05),
      reorder: rate(0.05),
    },
    databaseFaults: database ? { lostBefore: rate(0.05), lostAfter: rate(0.05) } : { lostBefore: 0, lostAfter: 0 },
  };
}

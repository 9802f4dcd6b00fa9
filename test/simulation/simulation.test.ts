// The deterministic simulation of replication and failover (docs/RELIABILITY.md). Each seed is one run:
// its configuration, its faults and every message's timing. A failing seed is printed with its scenario;
// replay it, with every step logged, by `SIM_SEED=<seed> npx vitest run test/simulation`.
//   SIM_SEEDS=1-20000 npx vitest run test/simulation      (a longer hunt; default 1-3000)
import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import { runClient, type ClientRecord } from './clients.js';
import { simulate } from './cluster.js';
import { CALM, Network } from './network.js';
import { SimNode } from './node.js';
import { Scheduler } from './scheduler.js';

const REPLAY = process.env.SIM_SEED;
const SEEDS = process.env.SIM_SEEDS ?? '1-3000';
/** Long enough for the seeds asked: about 90 ms a seed on a slow 2-core machine, 15 min at least. */
const HUNT_TIMEOUT_MS = Math.max(900_000, seedsOf(SEEDS).length * 200);

/** `a-b` (a range) or `a,b,c`. */
function seedsOf(spec: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range) return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i);
  return spec.split(',').map(Number);
}

describe('the deterministic simulation of replication and failover', () => {
  if (REPLAY) {
    it(`replays seed ${REPLAY}`, async () => {
      const report = await simulate(Number(REPLAY), { trace: true });
      console.log(`${report.log.join('\n')}\n\nscenario: ${JSON.stringify(report.scenario)}\nviolations:\n${report.violations.join('\n') || '(none)'}`);
      expect(report.violations).toEqual([]);
    }, 120_000);
    return;
  }

  it(
    `loses nothing acknowledged, runs nothing twice and leaves nothing half-done (seeds ${SEEDS})`,
    async () => {
      const failures: string[] = [];
      let acknowledged = 0;
      let failovers = 0;
      let byHand = 0;
      let steps = 0;
      let virtualMs = 0;
      const started = Date.now();
      for (const seed of seedsOf(SEEDS)) {
        const report = await simulate(seed);
        acknowledged += report.acknowledged;
        failovers += report.failovers;
        byHand += report.byHand;
        steps += report.steps;
        virtualMs += report.virtualMs;
        if (report.violations.length > 0) {
          failures.push(`seed ${seed} ${JSON.stringify(report.scenario)}:\n  ${report.violations.slice(0, 5).join('\n  ')}\n  replay: SIM_SEED=${seed} npx vitest run test/simulation`);
        }
      }
      console.log(
        `simulation: seeds ${SEEDS}, ${acknowledged} requests acknowledged, ${failovers} primaries crashed, ${byHand} backups promoted by hand, ${steps} events, ` +
          `${Math.round(virtualMs / 1000)} s simulated in ${Math.round((Date.now() - started) / 1000)} s, ${failures.length} seeds failing`,
      );
      expect(failures).toEqual([]);
      // Over many seeds, the runs did work: requests were acknowledged and primaries were lost.
      const count = seedsOf(SEEDS).length;
      if (count >= 100) {
        expect(acknowledged).toBeGreaterThan(count * 10);
        expect(failovers).toBeGreaterThan(count / 10);
      }
    },
    HUNT_TIMEOUT_MS,
  );

  it('replays a seed exactly: the same events, in the same order, at the same virtual times', async () => {
    const first = await simulate(4242, { trace: true });
    const second = await simulate(4242, { trace: true });
    expect(second.steps).toBe(first.steps);
    expect(second.log).toEqual(first.log);
    expect(first.log.length).toBeGreaterThan(100);
  });

  // With --min-acks 0 (the default) and no database, a paused or cut-off primary drops its backup and
  // goes on alone. The old rule (a backup takes over on silence) then lost acknowledged writes; the lease
  // does not. Both halves matter: the checker must see the loss, and the same seeds must be clean now.
  const splitBrain = {
    nodes: 2,
    database: false,
    minAcks: 0,
    crashes: 1,
    imperfect: 3,
    network: { latency: [1, 5] as [number, number], spike: 0, spikeMs: 0, reset: 0, blackhole: 0, duplicate: 0, reorder: 0 },
  };

  it('catches the split brain the old rule allowed: no database, --min-acks 0, a live primary suspected', async () => {
    const lost: string[] = [];
    for (let seed = 1; seed <= 60 && lost.length === 0; seed++) {
      const report = await simulate(seed, { override: splitBrain, takeOverOnSilence: true });
      lost.push(...report.violations.filter((v) => /^(lost|diverged)/.test(v)));
    }
    expect(lost.length).toBeGreaterThan(0);
  });

  it('loses nothing in those same runs under the default settings: stalls and partitions past every timeout', async () => {
    const violations: string[] = [];
    let pauses = 0;
    let acknowledged = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const report = await simulate(seed, { override: splitBrain });
      violations.push(...report.violations.map((v) => `seed ${seed}: ${v}`));
      pauses += report.log.filter((line) => / (PAUSE|PARTITION) /.test(line)).length;
      acknowledged += report.acknowledged;
    }
    expect(violations).toEqual([]);
    expect(pauses).toBeGreaterThan(60);
    expect(acknowledged).toBeGreaterThan(600);
  });

  it('takes over from a second primary killed right after the first failover as fast as from the first (found by bench:failover)', async () => {
    // No database, --min-acks 0, the default timing. n0 dies; n1 or n2 takes over and takes the other on;
    // that one dies at once. Before the fix the last backup, having decided to follow the first
    // successor, made no new decision until the heartbeat timeout after that one (1 s); by then its lease
    // had run out too, so it did not take over at all and waited for an operator.
    const { scheduler, network, nodes } = await threeNodes(11, { heartbeatMs: 100, timeoutMs: 1000 });
    const [n0] = nodes;
    network.faults = { ...CALM };
    const serving = () => nodes.find((n) => n.serving);
    await scheduler.run(1_000, () => false);
    expect(serving()).toBe(n0);
    network.crash(n0);
    const firstCrash = scheduler.now;
    await scheduler.run(firstCrash + 5_000, () => serving() !== undefined);
    const firstFailover = scheduler.now - firstCrash;
    const successor = serving()!;
    expect(successor).toBeDefined();
    // Once the last backup holds the successor's snapshot and is counted on (so that it may take over), the successor dies.
    const last = nodes.find((n) => n !== n0 && n !== successor)!;
    const countedOn = () => last.follower.primaryNode === successor.id && last.follower.caughtUp && last.follower.countedSince !== undefined;
    await scheduler.run(firstCrash + 5_000, countedOn);
    expect(countedOn()).toBe(true);
    network.crash(successor);
    const secondCrash = scheduler.now;
    await scheduler.run(secondCrash + 5_000, () => last.serving);
    expect(last.serving).toBe(true);
    // Both failovers take one connection's end and a probe (a few ms of simulated network), not a timeout.
    const secondFailover = scheduler.now - secondCrash;
    const timings = JSON.stringify({ firstFailover, secondFailover, secondAfterFirst: secondCrash - firstCrash });
    expect(secondCrash - firstCrash, timings).toBeLessThan(1_000); // within the timeout of the first decision
    expect(firstFailover, timings).toBeLessThan(100);
    expect(secondFailover, timings).toBeLessThan(100);
  });

  it('one successor, not two, when the primary dies while its backups cannot reach each other (found by an adversarial review)', async () => {
    // No database, no authority, --min-acks 0. Both backups prove the primary gone in time; each finds the
    // other silent. Before the fix both took over at epoch 2 and acknowledged writes, and one side's were
    // lost when they met. Now the one that comes later waits for the earlier one.
    const { scheduler, network, nodes, log, say } = await threeNodes(7, { heartbeatMs: 50, timeoutMs: 250 });
    const [n0] = nodes;
    await scheduler.run(1, () => false);
    network.faults = { ...CALM };
    const records: ClientRecord[] = [];
    let over = false;
    for (let c = 0; c < 4; c++) {
      const record: ClientRecord = { acked: new Map(), sent: new Set(), errors: [], outstanding: undefined };
      records.push(record);
      void runClient(
        `c${c}`,
        record,
        network,
        () => nodes,
        () => over,
        say,
        false,
      );
    }
    scheduler.at(1000, () => network.partition(['n1', 'c0', 'c1'], ['n2', 'c2', 'c3'], 4000));
    scheduler.at(1020, () => network.crash(n0));
    await scheduler.run(6000);
    over = true;
    await scheduler.run(12_000, () => records.every((r) => r.outstanding === undefined));
    expect(log.filter((line) => / role.changed {"role":"primary"/.test(line))).toHaveLength(1);
    expect(check(nodes, records, undefined, true).filter((v) => /^(lost|diverged|duplicated)/.test(v))).toEqual([]);
  });
});

/**
 * n0 a primary with n1 and n2 as its backups (each naming the other two), no database, --min-acks 0: the
 * backups booted, the primary booting. Every node's log lines are in `log`, with the virtual time.
 */
async function threeNodes(seed: number, timing: { heartbeatMs: number; timeoutMs: number }) {
  const scheduler = new Scheduler(seed);
  const network = new Network(scheduler);
  const log: string[] = [];
  const say = (who: string, event: string, fields: Record<string, unknown> = {}) => log.push(`${scheduler.now}ms ${who} ${event} ${JSON.stringify(fields)}`);
  const config = (others: string[]) => ({ minAcks: 0, ...timing, update: 'state' as const, backups: others, log: say });
  const n1 = new SimNode('n1', 'backup', network, config(['n0', 'n2']));
  const n2 = new SimNode('n2', 'backup', network, config(['n0', 'n1']));
  await n1.boot();
  await n2.boot();
  const n0 = new SimNode('n0', 'primary', network, config(['n1', 'n2']));
  void n0.boot();
  const nodes: [SimNode, SimNode, SimNode] = [n0, n1, n2];
  return { scheduler, network, nodes, log, say };
}

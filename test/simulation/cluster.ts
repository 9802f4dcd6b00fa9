// One simulated run, chosen entirely by its seed: a primary and backups (with or without the database),
// clients sending requests and retrying them by id, and faults at random moments: the primary or a
// backup crashing (a replacement joins), a process pausing past the heartbeat timeout and coming back
// as a stale primary, partitions, connections reset, black-holed, duplicated and reordered, database
// connections lost before or after a commit. Then the faults stop, the clients finish, and the history
// is checked: nothing acknowledged lost, nothing executed twice, nothing half-done, the replicas equal
// to the primary, and a primary serving again.
import { check } from './checker.js';
import { runClient, type ClientRecord } from './clients.js';
import { SimCoordinator } from './coordinator.js';
import { SimDatabase } from './database.js';
import { CALM, Network } from './network.js';
import { SimNode } from './node.js';
import { HEARTBEAT_MS, scenarioFor, TIMEOUT_MS, type Scenario } from './scenario.js';
import { Scheduler } from './scheduler.js';

export interface Report {
  scenario: Scenario;
  acknowledged: number;
  requests: number;
  failovers: number;
  /** Backups the operator promoted by hand: nobody could take over by itself without risking a loss. */
  byHand: number;
  steps: number;
  virtualMs: number;
  violations: string[];
  log: string[];
}

export interface SimulateOptions {
  /** Replaces parts of the scenario the seed chose (a test that needs a particular configuration). */
  override?: Partial<Scenario>;
  /** Logs every batch, acknowledgement and client answer too (a replay). */
  trace?: boolean;
  /** Backups take over on silence, the old unsafe rule (see NodeConfig.takeOverOnSilence): tests the checker. */
  takeOverOnSilence?: boolean;
}

export async function simulate(seed: number, options: SimulateOptions = {}): Promise<Report> {
  const scheduler = new Scheduler(seed);
  const scenario = { ...scenarioFor(seed, scheduler.random), ...options.override };
  const network = new Network(scheduler);
  const log: string[] = [];
  const say = (who: string, event: string, fields: Record<string, unknown> = {}) => log.push(`${scheduler.now}ms ${who} ${event} ${JSON.stringify(fields)}`);
  const database = scenario.database ? new SimDatabase(scheduler) : undefined;
  const coordinator = scenario.coordinator ? new SimCoordinator(scheduler) : undefined;
  if (coordinator) coordinator.faults = { ...scenario.coordinator! };
  const nodes: SimNode[] = [];
  let nextNode = 0;
  const names = Array.from({ length: scenario.nodes }, () => `n${nextNode++}`);
  const config = (others: string[], join?: string) => ({
    minAcks: scenario.minAcks,
    heartbeatMs: HEARTBEAT_MS,
    timeoutMs: TIMEOUT_MS,
    update: scenario.update,
    database,
    coordinator,
    backups: others,
    join,
    log: say,
    trace: options.trace,
    takeOverOnSilence: options.takeOverOnSilence,
  });

  // Backups first, then the primary, which connects to them.
  for (const name of names.slice(1)) nodes.push(new SimNode(name, 'backup', network, config(names.filter((n) => n !== name))));
  for (const node of nodes) await node.boot();
  const first = new SimNode(names[0]!, 'primary', network, config(names.slice(1)));
  nodes.unshift(first);
  const booting = first.boot();
  await scheduler.run(1, () => false);
  void booting;

  /** A new process in place of one that died: a backup asking the primary (as the harness sees it) to take it on. */
  const replace = (old: string) => {
    const name = `n${nextNode++}`;
    const target = serving();
    // As an operator would start it: --join the primary, --backups the rest of the cluster.
    const others = nodes.filter((n) => n.alive).map((n) => n.id);
    const replacement = new SimNode(name, 'backup', network, config(others, target?.id ?? old));
    nodes.push(replacement);
    say(name, 'START', { join: target?.id, replacing: old });
    void replacement.boot();
  };
  const isZombie = (n: SimNode) => n.alive && n.role === 'primary' && !n.primary && n.runtime !== undefined;
  /** The primary as the operator sees it (it may still wait for backups before it serves). */
  const serving = () => nodes.filter((n) => n.primary).sort((a, b) => b.runtime.currentEpoch - a.runtime.currentEpoch)[0];
  const end = scenario.loadMs;
  let failovers = 0;

  // Faults at random moments of the load phase.
  network.faults = scenario.network;
  if (database) database.faults = { ...database.faults, ...scenario.databaseFaults };
  for (let i = 0; i < scenario.crashes; i++) {
    scheduler.at(scheduler.random.int(300, end), () => {
      const primary = serving();
      // One failure at a time: nothing while a primary is down or stopped (the operator has not replaced
      // it yet), paused, or being taken over from; the primary only while a backup holds its state; else
      // a backup.
      if (!primary || nodes.some(isZombie) || nodes.some((n) => n.alive && (n.pausedUntil > scheduler.now || n.follower?.takingOver))) return;
      const backups = nodes.filter((n) => n.alive && n !== primary && n.runtime?.replica.hasSnapshot);
      // Holders: live backups that acknowledged the primary's snapshot, as the harness (not the primary) sees them.
      const holders = primary.link!.backups.confirmedAddresses.filter((id) => nodes.some((n) => n.id === id && n.alive));
      const victim =
        holders.length > 0 && scheduler.random.chance(0.7)
          ? primary
          : backups.length > 1 || (backups.length === 1 && primary.pausedUntil <= scheduler.now)
            ? scheduler.random.pick(backups)
            : undefined;
      if (!victim) return;
      if (victim === primary) failovers++;
      say(victim.id, 'CRASH');
      network.crash(victim);
    });
  }
  for (let i = 0; i < scenario.imperfect; i++) {
    scheduler.at(scheduler.random.int(300, end), () => {
      const alive = nodes.filter((n) => n.alive);
      const duration = scheduler.random.int(TIMEOUT_MS / 2, 4 * TIMEOUT_MS);
      if (scheduler.random.chance(0.5)) {
        const victim = scheduler.random.chance(0.6) ? (serving() ?? scheduler.random.pick(alive)) : scheduler.random.pick(alive);
        say(victim.id, 'PAUSE', { ms: duration });
        victim.pausedUntil = scheduler.now + duration;
      } else {
        const side = alive.filter(() => scheduler.random.chance(0.5)).map((n) => n.id);
        const other = [...network.hosts.keys()].filter((id) => !side.includes(id));
        say('network', 'PARTITION', { side, ms: duration });
        network.partition(side, other, scheduler.now + duration);
      }
    });
  }

  // Clients: each sends one request at a time, retrying it by id on another node until it succeeds.
  const records: ClientRecord[] = [];
  let loadOver = false;
  for (let c = 0; c < scenario.clients; c++) {
    const record: ClientRecord = { acked: new Map(), sent: new Set(), errors: [], outstanding: undefined };
    records.push(record);
    void runClient(
      `c${c}`,
      record,
      network,
      () => nodes,
      () => loadOver,
      say,
      options.trace ?? false,
    );
  }

  // The operator's part, as in the chaos harness: a primary that was fenced or stopped committing is
  // killed and replaced by a backup joining the one that serves; the cluster is brought back to size.
  const operate = () => {
    const primary = serving();
    if (primary) {
      for (const zombie of nodes.filter(isZombie)) {
        say(zombie.id, 'KILL', { reason: 'fenced or stopped' });
        network.crash(zombie);
        replace(zombie.id);
      }
      // A replacement told to join a node that died meanwhile waits for it forever: start another.
      for (const orphan of nodes.filter((n) => n.alive && n.role === 'backup' && n.runtime && !n.runtime.replica.hasSnapshot && scheduler.now - n.startedAt > 3_000)) {
        say(orphan.id, 'KILL', { reason: 'never joined' });
        network.crash(orphan);
        replace(orphan.id);
      }
      const live = nodes.filter((n) => n.alive).length;
      for (let i = live; i < scenario.nodes; i++) replace('-');
      unservedSince = undefined;
    } else {
      unservedSince ??= scheduler.now;
      if (scheduler.now - unservedSince >= 3_000) promoteByHand();
    }
    if (!done) scheduler.after(500, operate);
  };
  let unservedSince: number | undefined;
  let byHand = 0;
  /**
   * Nobody serves: the backups that could have taken over were unsure they had not been dropped (a
   * stall, a partition, a late end). As docs/SERVING.md tells an operator: when the last primary is dead
   * and had not dropped a backup since it last caught up (its log), promote that backup by hand.
   */
  const promoteByHand = () => {
    // The newest primary; of two that took over at the same epoch, the one the other yielded to (its log
    // says 'fenced' with the same epoch), as an operator reading both logs would see.
    const last = nodes
      .filter((n) => n.link && n.runtime && n.role === 'primary')
      .sort((a, b) => b.runtime.currentEpoch - a.runtime.currentEpoch || Number(a.fencedBy !== undefined) - Number(b.fencedBy !== undefined))[0];
    if (!last || (last.alive && !isZombie(last))) return;
    // A primary that stopped for good, with nobody taking over: the operator kills it, and goes by the
    // backups it named (its log) as holding everything.
    let holders = last.stoppedHolders?.map((m) => m.id) ?? last.link!.backups.confirmedAddresses;
    // With an authority, the node it names last may have died before it served (its takeover written,
    // its promotion never finished): it acknowledged nothing, so those who hold everything are the
    // members the authority listed for the primary before it, as the operator reads in its history.
    const named = coordinator?.stored?.value;
    const namedNode = named && nodes.find((n) => n.id === named.primary.id);
    if (named && named.epoch > last.runtime.currentEpoch && namedNode && !namedNode.alive && namedNode.role !== 'primary')
      holders =
        coordinator!.history
          .filter((c) => c.primary.id === last.id)
          .at(-1)
          ?.members.map((m) => m.id) ?? holders;
    const holder = nodes.find((n) => n.alive && n !== last && n.role === 'backup' && holders.includes(n.id) && n.blockedReason() !== undefined);
    if (!holder || holder.follower.takingOver) return;
    if (last.alive) {
      say(last.id, 'KILL', { reason: 'stopped, and nobody took over' });
      network.crash(last);
    }
    say(holder.id, 'PROMOTE', { reason: holder.blockedReason(), deadPrimary: last.id });
    byHand++;
    void holder.promote().catch(() => undefined);
  };
  let done = false;
  operate();
  await scheduler.run(end);
  // Heal: no more faults; the clients finish what they started.
  loadOver = true;
  network.faults = { ...CALM };
  if (database) database.faults = { ...database.faults, lostBefore: 0, lostAfter: 0 };
  if (coordinator) coordinator.faults = { lostBefore: 0, lostAfter: 0 };
  for (const node of nodes) node.pausedUntil = Math.min(node.pausedUntil, scheduler.now);
  const finished = () => records.every((r) => r.outstanding === undefined);
  // Until the clients are done and a primary serves, and still does once the last messages settled
  // (a takeover decided before the faults stopped may still complete).
  const settled = () => finished() && nodes.some((n) => n.serving);
  const deadline = end + 60_000;
  do {
    await scheduler.run(deadline, settled);
    await scheduler.run(scheduler.now + 2_000);
  } while (!settled() && scheduler.now < deadline);
  done = true;

  const violations = check(nodes, records, database, finished());
  return {
    scenario,
    acknowledged: records.reduce((n, r) => n + r.acked.size, 0),
    requests: records.reduce((n, r) => n + r.sent.size, 0),
    failovers,
    byHand,
    steps: scheduler.steps,
    virtualMs: scheduler.now,
    violations,
    log,
  };
}

// One simulated run, chosen entirely by its seed: a primary and backups (with or without the database),
// clients sending requests and retrying them by id, and faults at random moments: the primary or a
// backup crashing (a replacement joins), a process pausing past the heartbeat timeout and coming back
// as a stale primary, partitions, connections reset, black-holed, duplicated and reordered, database
// connections lost before or after a commit. Then the faults stop, the clients finish, and the history
// is checked: nothing acknowledged lost, nothing executed twice, nothing half-done, the replicas equal
// to the primary, and a primary serving again.
import { SimDatabase } from './database.js';
import { CALM, onHost, type Host, type Network as NetworkType, type NetworkFaults } from './network.js';
import { Network } from './network.js';
import { SimNode } from './node.js';
import { Scheduler, type Random } from './scheduler.js';
import type { Journal } from './service.js';

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

export interface Report {
  scenario: Scenario;
  acknowledged: number;
  requests: number;
  failovers: number;
  steps: number;
  virtualMs: number;
  violations: string[];
  log: string[];
}

const HEARTBEAT_MS = 50;
const TIMEOUT_MS = 250;

/**
 * The scenario a seed stands for. Without a database, heartbeats must be a perfect failure detector
 * (DESIGN.md, guarantee 7) unless every backup must acknowledge (--min-acks = backups): pauses and
 * partitions are chosen only where the promise covers them.
 */
export function scenarioFor(seed: number, random: Random): Scenario {
  const nodes = random.int(2, 3);
  const database = random.chance(0.5);
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

interface ClientRecord {
  acked: Map<string, number>;
  sent: Set<string>;
  /** Requests that got an answer other than success or a retryable refusal. */
  errors: string[];
  outstanding: string | undefined;
}

export interface SimulateOptions {
  /** Replaces parts of the scenario the seed chose (a test that needs a particular configuration). */
  override?: Partial<Scenario>;
  /** Logs every batch, acknowledgement and client answer too (a replay). */
  trace?: boolean;
}

export async function simulate(seed: number, options: SimulateOptions = {}): Promise<Report> {
  const scheduler = new Scheduler(seed);
  const scenario = { ...scenarioFor(seed, scheduler.random), ...options.override };
  const network = new Network(scheduler);
  const log: string[] = [];
  const say = (who: string, event: string, fields: Record<string, unknown> = {}) => log.push(`${scheduler.now}ms ${who} ${event} ${JSON.stringify(fields)}`);
  const database = scenario.database ? new SimDatabase(scheduler) : undefined;
  const nodes: SimNode[] = [];
  let nextNode = 0;
  const names = Array.from({ length: scenario.nodes }, () => `n${nextNode++}`);
  const config = (others: string[], join?: string) => ({ minAcks: scenario.minAcks, heartbeatMs: HEARTBEAT_MS, timeoutMs: TIMEOUT_MS, update: scenario.update, database, backups: others, join, log: say, trace: options.trace });

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
      // A paused process or a takeover under way counts as the failure in progress.
      if (!primary || nodes.some(isZombie) || nodes.some((n) => n.alive && (n.pausedUntil > scheduler.now || n.follower?.takingOver))) return;
      const backups = nodes.filter((n) => n.alive && n !== primary && n.runtime?.replica.hasSnapshot);
      // Holders: live backups that acknowledged the primary's snapshot, as the harness (not the primary) sees them.
      const holders = primary.link!.backups.confirmedAddresses.filter((id) => nodes.some((n) => n.id === id && n.alive));
      const victim = holders.length > 0 && scheduler.random.chance(0.7) ? primary : backups.length > 1 || (backups.length === 1 && primary.pausedUntil <= scheduler.now) ? scheduler.random.pick(backups) : undefined;
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
    void runClient(`c${c}`, record, network, () => nodes, () => loadOver, say, options.trace ?? false);
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
    }
    if (!done) scheduler.after(500, operate);
  };
  let done = false;
  operate();
  await scheduler.run(end);
  // Heal: no more faults; the clients finish what they started.
  loadOver = true;
  network.faults = { ...CALM };
  if (database) database.faults = { ...database.faults, lostBefore: 0, lostAfter: 0 };
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

  const violations = check(scenario, nodes, records, database, finished());
  return {
    scenario,
    acknowledged: records.reduce((n, r) => n + r.acked.size, 0),
    requests: records.reduce((n, r) => n + r.sent.size, 0),
    failovers,
    steps: scheduler.steps,
    virtualMs: scheduler.now,
    violations,
    log,
  };
}

async function runClient(name: string, record: ClientRecord, network: NetworkType, nodes: () => SimNode[], over: () => boolean, say: (who: string, event: string, fields?: Record<string, unknown>) => void, trace: boolean) {
  const scheduler = network.scheduler;
  const host: Host = { id: name, alive: true, pausedUntil: 0 };
  network.add(host);
  const sleep = (ms: number) => new Promise<void>((resolve) => onHost(scheduler, host, scheduler.now + ms, resolve));
  let target = 'n0';
  let rotation = 0;
  for (let i = 0; !over(); i++) {
    const id = `${name}-${i}`;
    record.sent.add(id);
    record.outstanding = id;
    for (let attempt = 0; ; attempt++) {
      const answer = await ask(network, host, target, id);
      if (trace) say(name, 'answer', { id, target, kind: answer?.kind ?? 'no answer', message: answer?.message });
      if (answer?.kind === 'ok') {
        record.acked.set(id, Number(answer.result));
        break;
      }
      if (answer && !['not-primary', 'unavailable'].includes(String(answer.kind))) {
        record.errors.push(`${id}: ${String(answer.kind)}: ${String(answer.message)}`);
        say(name, 'ERROR', { id, kind: answer.kind, message: answer.message });
        break;
      }
      // Elsewhere: now and then the primary the node names (it may be stale), else the next node in turn.
      const known = nodes().map((n) => n.id);
      rotation++;
      target = typeof answer?.hint === 'string' && answer.hint !== target && attempt % 3 === 0 ? answer.hint : known[rotation % known.length]!;
      await sleep(scheduler.random.int(10, 60));
    }
    record.outstanding = undefined;
    await sleep(scheduler.random.int(0, 20));
  }
}

function ask(network: NetworkType, host: Host, to: string, id: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: Record<string, unknown> | undefined) => {
      if (done) return;
      done = true;
      connection.close(0);
      resolve(answer);
    };
    const connection = network.connect(host, to, { message: finish, close: () => finish(undefined) });
    connection.send(0, { type: 'rpc', id });
    onHost(network.scheduler, host, network.scheduler.now + 1_500, () => finish(undefined));
  });
}

/** The history against the guarantees. Every message names the request or node it is about. */
function check(scenario: Scenario, nodes: SimNode[], records: ClientRecord[], database: SimDatabase | undefined, finished: boolean): string[] {
  const violations: string[] = [];
  if (!finished) violations.push(`liveness: requests still unanswered 60 s after the faults healed (${records.map((r) => r.outstanding).filter(Boolean).join(', ')})`);
  for (const r of records) violations.push(...r.errors.map((e) => `unexpected answer: ${e}`));
  const primaries = nodes.filter((n) => n.serving).sort((a, b) => b.runtime.currentEpoch - a.runtime.currentEpoch);
  const primary = primaries[0];
  if (!primary) {
    violations.push('liveness: no node serves as primary after the faults healed');
    return violations;
  }
  const journal = [...(primary.runtime.object<Journal>('journal').ids as string[])];
  const position = new Map<string, number>();
  journal.forEach((id, i) => {
    if (position.has(id)) violations.push(`duplicated: ${id} is in the journal at ${position.get(id)! + 1} and ${i + 1}`);
    else position.set(id, i);
  });
  for (const r of records) {
    for (const [id, reply] of r.acked) {
      const at = position.get(id);
      if (at === undefined) violations.push(`lost: ${id} was acknowledged (reply ${reply}) but is not in the primary's journal`);
      else if (at + 1 !== reply) violations.push(`diverged: ${id} was acknowledged as entry ${reply} but is entry ${at + 1}`);
    }
  }
  const sent = new Set(records.flatMap((r) => [...r.sent]));
  for (const id of journal) if (!sent.has(id)) violations.push(`invented: ${id} is in the journal but no client sent it`);
  if (database) {
    const rows = new Set(database.ledger);
    if (rows.size !== database.ledger.length) violations.push('duplicated: a ledger row was written twice');
    for (const id of journal) if (!rows.has(id)) violations.push(`partial: ${id} is in the replicated journal but not in the database`);
    for (const id of rows) if (!position.has(id)) violations.push(`partial: ${id} is in the database but not in the replicated journal`);
  }
  // Backups the primary counts as live hold exactly its journal.
  for (const backup of nodes.filter((n) => n.alive && n !== primary && primary.link?.backups.liveBackups.includes(n.id))) {
    const theirs = backup.runtime.object<Journal>('journal').ids as string[];
    if (JSON.stringify(theirs) !== JSON.stringify(journal)) violations.push(`replica: ${backup.id}'s journal (${theirs.length} entries) differs from the primary ${primary.id}'s (${journal.length})`);
  }
  return violations;
}

// `npm run bench:failover`: how long a SIGKILL interrupts service, with default settings (heartbeat 100 ms,
// timeout 1000 ms). For each configuration (the Counter replicated, or in SQLite; one backup or three):
// four clients (createClient, the generated client's stub) add under load; the primary is SIGKILLed; the
// time from the kill to the first success on the node that took over is one sample. The killed node is
// started again as a backup (--join), and once it is ready the next primary is killed. Then the same
// with a backup killed: the longest pause in answers it causes (the primary must not wait out its lease).
//   BENCH_KILLS=20 (per configuration)   BENCH_COORDINATOR=postgres://… (through an authority)
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { createClient } from '../dist/index.js';
import { spawnNode } from '../dist/proxies/serving/spawn.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const CLIENTS = 4;
const authority = process.env.BENCH_COORDINATOR ? ['--coordinator', process.env.BENCH_COORDINATOR] : [];
const CONFIGS = [
  { mapping: 'pb', backups: 1 },
  { mapping: 'pb', backups: 3 },
  { mapping: 'db', backups: 1 },
  { mapping: 'db', backups: 3 },
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ready(node) {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(20)) {
    const health = await fetch(`${node.http}/health`)
      .then((r) => r.json())
      .catch(() => undefined);
    if (health?.ready) return health;
  }
  throw new Error(`${node.role} at ${node.http} was not ready within 20 s:\n${node.log.slice(-20).join('\n')}`);
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) };
}

/** One configuration: KILLS primaries killed one after another, then KILLS backups. */
async function run({ mapping, backups }) {
  const build = path.join(here, '..', '.tmp', 'bench', `failover-counter-${mapping}`);
  const compiled = await compileService(path.join(here, '../examples/counter/service.ts'), path.join(here, `../examples/counter/mappings/${mapping}.xml`), build, 'bench');
  if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));
  const env = { DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
  const shared = [...(mapping === 'db' ? ['--db', `sqlite:${path.join(build, `bench-${Date.now()}.db`)}`] : []), ...authority];
  let nodes = [await spawnNode(build, 'primary', shared, env)];
  for (let i = 0; i < backups; i++) nodes.push(await spawnNode(build, 'backup', ['--join', nodes[0].repl, ...shared], env));
  for (const node of nodes) await ready(node);

  const answers = []; // { at, node }
  let stop = false;
  let generation = 0;
  const load = Array.from({ length: CLIENTS }, async (_, c) => {
    let client;
    let seen = -1;
    for (let i = 0; !stop; i++) {
      if (seen !== generation) [client, seen] = [createClient(nodes.map((n) => n.http)), generation];
      try {
        await client.call('add', [], { id: `c${c}-${i}` });
        answers.push({ at: Date.now(), node: client.current });
      } catch {
        // a timeout: counted by the gaps it leaves
      }
    }
  });
  const primaryOf = async () => {
    for (;;) {
      for (const node of nodes) {
        const health = await fetch(`${node.http}/health`)
          .then((r) => r.json())
          .catch(() => undefined);
        if (health?.role === 'primary' && health.ready) return node;
      }
      await sleep(20);
    }
  };
  const replace = async (killed, join) => {
    const fresh = await spawnNode(build, 'backup', ['--join', join.repl, ...shared], env);
    nodes = nodes.map((n) => (n === killed ? fresh : n));
    generation++;
    await ready(fresh);
  };

  const failover = [];
  const backupKill = [];
  try {
    while (answers.length < 200) await sleep(10);
    for (let k = 0; k < KILLS; k++) {
      await sleep(300);
      const primary = await primaryOf();
      const killedAt = Date.now();
      primary.kill('SIGKILL');
      const others = nodes.filter((n) => n !== primary).map((n) => n.http);
      const from = answers.length; // answers are appended in time order: only those after the kill are read
      let first;
      while (!(first = answers.slice(from).find((a) => a.at >= killedAt && others.includes(a.node)))) {
        if (Date.now() - killedAt > 30_000) throw new Error('no answer from a successor within 30 s');
        await sleep(2);
      }
      failover.push(first.at - killedAt);
      await replace(primary, await primaryOf());
    }
    for (let k = 0; k < KILLS; k++) {
      await sleep(300);
      const primary = await primaryOf();
      const backup = nodes.find((n) => n !== primary);
      const from = answers.length;
      backup.kill('SIGKILL');
      await sleep(1_500);
      const times = answers.slice(Math.max(0, from - 1)).map((a) => a.at);
      let pause = 0;
      for (let i = 1; i < times.length; i++) pause = Math.max(pause, times[i] - times[i - 1]);
      backupKill.push(pause);
      await replace(backup, primary);
    }
  } finally {
    stop = true;
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await Promise.race([Promise.all(load), sleep(15_000)]);
  }
  return { failover: summary(failover), backupKill: summary(backupKill) };
}

const rows = [];
for (const config of CONFIGS) {
  const result = await run(config);
  rows.push({ ...config, ...result });
  process.stderr.write(`${config.mapping}, ${config.backups} backup(s): ${JSON.stringify(result)}\n`);
}
console.log(`SIGKILL → first success on the successor (ms), ${KILLS} kills each, ${CLIENTS} clients, default settings${authority.length ? `, authority ${process.env.BENCH_COORDINATOR}` : ''}`);
console.log('| state | backups | p50 | p99 | max | backup killed: longest pause p50 | p99 |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const state = r.mapping === 'db' ? 'SQLite (db)' : 'replicated (pb)';
  console.log(`| ${state} | ${r.backups} | ${r.failover.p50} | ${r.failover.p99} | ${r.failover.max} | ${r.backupKill.p50} | ${r.backupKill.p99} |`);
}

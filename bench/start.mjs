// `npm run bench:start`: how long `durable serve` takes from spawning the process to serving (its
// `node.started` line), and the CPU it spends on the way, for the Counter's builds: in-memory (a backup
// and a primary) and database (SQLite, PostgreSQL). A node that joins a cluster starts on a machine
// whose primary is serving: the CPU it takes to start is taken from that primary on a small machine.
//   BENCH_STARTS=20 npm run bench:start
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { spawnNode } from '../dist/proxies/serving/spawn.js';
import { median } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STARTS = Number(process.env.BENCH_STARTS ?? 20);
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = { DURABLE_CLUSTER_KEY: 'bench-start-cluster-key-0123456789' };
const TICK_MS = 10; // USER_HZ is 100 on Linux

async function compiled(mapping) {
  const out = path.join(here, '..', '.tmp', 'bench', `start-${mapping}`);
  const result = await compileService(path.join(here, '../examples/counter/service.ts'), path.join(here, `../examples/counter/mappings/${mapping}.xml`), out, 'bench');
  if (result.files.length === 0) throw new Error(JSON.stringify(result.diagnostics));
  return out;
}

/** CPU time (user + system) the process has used so far, in ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Node.js itself, started and ended: the floor under every row. */
async function bareNode() {
  const started = performance.now();
  await new Promise((resolve, reject) => spawn(process.execPath, ['-e', '0']).on('exit', resolve).on('error', reject));
  return { ms: performance.now() - started, cpu: undefined };
}

async function serve(build, role, args) {
  const started = performance.now();
  const node = await spawnNode(build, role, args, KEY);
  const result = { ms: performance.now() - started, cpu: cpuMs(node.child.pid) };
  await node.stop('SIGKILL');
  return result;
}

const pb = await compiled('pb');
const db = await compiled('db');
const cases = [
  ['Node.js alone (node -e 0)', bareNode],
  ['in-memory build, backup', () => serve(pb, 'backup', [])],
  ['in-memory build, primary', () => serve(pb, 'primary', [])],
  ['database build, SQLite', () => serve(db, 'primary', ['--db', `sqlite:${path.join(db, 'start.db')}`])],
  ['database build, PostgreSQL (authority: the database)', () => serve(db, 'primary', ['--db', POSTGRES])],
];
console.log(`| ${STARTS} starts each | spawn → serving p50 | max | CPU to start p50 |`);
console.log('|---|---|---|---|');
for (const [name, run] of cases) {
  const runs = [];
  for (let i = 0; i < STARTS; i++) runs.push(await run());
  const ms = runs.map((r) => r.ms);
  const cpu = runs.map((r) => r.cpu).filter((c) => c !== undefined);
  console.log(`| ${name} | ${Math.round(median(ms))} ms | ${Math.round(Math.max(...ms))} ms | ${cpu.length ? `${median(cpu)} ms` : '–'} |`);
}

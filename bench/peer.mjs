// `npm run bench:peer`: the Counter on the same PostgreSQL, as this tool's database mapping (a primary
// from `durable compile … db.xml`) and as DBOS Transact (bench/dbos/server.mjs: a durable workflow per
// add), both single processes, the same keep-alive HTTP load generator, the same run. Both answer a
// retried request id once.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { runLoad } from '../dist/bin/compare/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DB = process.env.BENCH_DB ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,4,16').split(',').map(Number);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);

function start(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [command, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (c) => {
      log += c;
      const line = log.split('\n').find((l) => l.includes('"event":"node.started"'));
      if (line) resolve({ child, http: JSON.parse(line).http });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
  });
}
const stop = (child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM'))));

const workload = {
  prepare: async () => {},
  client: async (call, _i, more) => {
    while (more()) await call('add', []);
  },
};
const build = path.join(here, '..', '.tmp', 'bench', 'counter-db');
const compiled = await compileService(path.join(here, '../examples/counter/service.ts'), path.join(here, '../examples/counter/mappings/db.xml'), build, 'bench');
if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));

const rows = [];
for (const clients of CLIENTS) {
  for (const [name, launch] of [
    [
      'durability-compiler',
      () =>
        start(path.join(here, '../bin/durable.js'), ['serve', build, '--role', 'primary', '--http', '127.0.0.1:0', '--repl', '127.0.0.1:0', '--db', DB], {
          DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex'),
        }),
    ],
    ['DBOS Transact', () => start(path.join(here, 'dbos/server.mjs'), [], { DBOS_DATABASE_URL: DB })],
  ]) {
    const node = await launch();
    try {
      const result = await runLoad(node.http, workload, clients, REQUESTS);
      rows.push({ name, clients, ...result });
      process.stderr.write(`${name}, ${clients} clients: ${Math.round(result.throughput)} requests/s, p50 ${result.p50.toFixed(2)} ms\n`);
    } finally {
      await stop(node.child);
    }
  }
}
console.log('| clients | durability-compiler (req/s, p50 ms) | DBOS Transact (req/s, p50 ms) | throughput ratio |');
console.log('|---|---|---|---|');
for (const clients of CLIENTS) {
  const ours = rows.find((r) => r.clients === clients && r.name === 'durability-compiler');
  const theirs = rows.find((r) => r.clients === clients && r.name === 'DBOS Transact');
  console.log(
    `| ${clients} | ${Math.round(ours.throughput)}, ${ours.p50.toFixed(2)} | ${Math.round(theirs.throughput)}, ${theirs.p50.toFixed(2)} | ${(ours.throughput / theirs.throughput).toFixed(2)} |`,
  );
}

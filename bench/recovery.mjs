// `npm run bench:recovery`: how long a primary takes to start serving when its database state holds N
// rows (the recovery query streamed in batches, DatabaseStore.eachRows), and its RSS once serving. The
// key-value service with the db mapping; rows are written straight into its table beforehand.
//   BENCH_SIZES=10000,100000,1000000 BENCH_DATABASES=sqlite,postgres npm run bench:recovery
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knex from 'knex';
import { compileService } from '../dist/compiler/compile.js';
import { spawnNode } from '../dist/proxies/serving/spawn.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const DATABASES = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(',');
const build = path.join(here, '..', '.tmp', 'bench', 'kv-db');
const compiled = await compileService(path.join(here, 'services/kv-db/service.ts'), path.join(here, 'services/kv-db/mappings/db.xml'), build, 'bench');
if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));
const rss = (pid) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);

const urls = {
  sqlite: () => `sqlite:${path.join(build, 'recovery.db')}`,
  postgres: () => process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: () => process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};
const clients = { sqlite: 'better-sqlite3', postgres: 'pg', mysql: 'mysql2' };

const rows = [];
for (const database of DATABASES) {
  for (const size of SIZES) {
    const url = urls[database]();
    if (database === 'sqlite') rmSync(url.slice('sqlite:'.length), { force: true });
    const db = knex({ client: clients[database], connection: database === 'sqlite' ? { filename: url.slice('sqlite:'.length) } : url, useNullAsDefault: true });
    await db.raw('DROP TABLE IF EXISTS kv');
    for (const table of ['durable_requests', 'durable_epoch', 'durable_decisions']) await db.raw(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db.raw('CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v VARCHAR(255) NOT NULL)');
    const chunk = database === 'sqlite' ? 400 : 5_000;
    for (let from = 0; from < size; from += chunk) {
      await db('kv').insert(Array.from({ length: Math.min(chunk, size - from) }, (_, i) => ({ k: (from + i).toString(36).padStart(8, '0'), v: `value ${from + i} `.padEnd(100, '.') })));
    }
    await db.destroy();
    const started = Date.now();
    const node = await spawnNode(build, 'primary', ['--db', url, '--coordinator', 'none'], { DURABLE_CLUSTER_KEY: 'bench-recovery-cluster-key-0123456789' });
    const ms = Date.now() - started;
    const memory = rss(node.child.pid);
    await node.stop('SIGKILL');
    rows.push({ database, size, ms, memory });
    process.stderr.write(`${JSON.stringify({ database, size, ms, memory })}\n`);
  }
}
console.log('| database | rows | start to serving (recovery included) | RSS serving |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.database} | ${r.size.toLocaleString('en')} | ${(r.ms / 1000).toFixed(1)} s | ${r.memory} MB |`);

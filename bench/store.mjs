// `npm run bench:store`: what one group commit costs in the database store, against what the physics
// asks on the same database in the same run: SQLite's one fsync (an autocommit UPDATE with
// synchronous=FULL), PostgreSQL's and MariaDB's one bare UPDATE round trip (autocommit, so its fsync
// too). No HTTP, no load generator: one process commits groups of 1 and of 16 requests, each an UPDATE
// of a counter row plus its request record, as the Counter's `db` mapping does.
// BENCH_DBS=sqlite,postgres,mysql (default all three); BENCH_GROUPS (default 400); BENCH_ROOT=<another
// built checkout> measures that one instead, for a before/after in one sitting.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = new URL(process.env.BENCH_ROOT ? `file://${process.env.BENCH_ROOT.replace(/\/?$/, '/')}` : '../', import.meta.url);
const { DatabaseStore } = await import(new URL('dist/proxies/database/store.js', root).href);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 400);
const DBS = (process.env.BENCH_DBS ?? 'sqlite,postgres,mysql').split(',');
const URLS = {
  postgres: process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306/test',
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const micros = (start) => Number(process.hrtime.bigint() - start) / 1e3;

async function timed(times, run) {
  const samples = [];
  for (let i = 0; i < times; i++) {
    const start = process.hrtime.bigint();
    await run(i);
    samples.push(micros(start));
  }
  return median(samples);
}

// The literal text around the bindings, one array for every call of the statement (as the database proxy makes it).
const PARTS = ['UPDATE bench_counter SET value = value + ', ' WHERE id = 1'];
let seq = 0;
function group(size, tag) {
  return Array.from({ length: size }, () => {
    seq++;
    return {
      key: `${tag}-${seq}`,
      replies: [{ key: `${tag}-${seq}`, reply: '{"v":1}' }],
      seq,
      statements: [{ sql: 'UPDATE bench_counter SET value = value + ? WHERE id = 1', parts: PARTS, bindings: [1] }],
    };
  });
}

const rows = [];
for (const dialect of DBS) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-store-'));
  const url = dialect === 'sqlite' ? `sqlite:${path.join(dir, 'bench.db')}` : URLS[dialect];
  const store = await DatabaseStore.open(url);
  try {
    await store.knex.raw('DROP TABLE IF EXISTS bench_counter');
    await store.knex.raw('DROP TABLE IF EXISTS durable_requests');
    await store.knex.raw('DROP TABLE IF EXISTS durable_meta');
    await store.knex.raw('DROP TABLE IF EXISTS durable_log');
    await store.ensureSystemTables();
    await store.knex.raw('CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)');
    await store.knex.raw('INSERT INTO bench_counter (id, value) VALUES (1, 0)');
    const epoch = await store.epoch();
    // The physics: one autocommit UPDATE, straight on the driver.
    const bare = await physics(store, dialect);
    for (let i = 0; i < 30; i++) await store.commit(epoch, group(1, 'warm'));
    const one = await timed(GROUPS, () => store.commit(epoch, group(1, 'g1')));
    const sixteen = await timed(Math.ceil(GROUPS / 4), () => store.commit(epoch, group(16, 'g16')));
    rows.push({ dialect, bare, one, sixteen });
    process.stderr.write(`${dialect}: bare ${bare.toFixed(0)} µs, group of 1 ${one.toFixed(0)} µs, group of 16 ${sixteen.toFixed(0)} µs\n`);
  } finally {
    await store.knex.raw('DROP TABLE IF EXISTS bench_counter').catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function physics(store, dialect) {
  const sql = 'UPDATE bench_counter SET value = value + 1 WHERE id = 1';
  if (dialect === 'sqlite') {
    const client = store.knex.client;
    const connection = await client.acquireConnection();
    try {
      const update = connection.prepare(sql);
      for (let i = 0; i < 30; i++) update.run();
      return await timed(GROUPS, () => update.run());
    } finally {
      await client.releaseConnection(connection);
    }
  }
  const client = store.knex.client;
  const connection = await client.acquireConnection();
  try {
    const run = dialect === 'postgres' ? () => connection.query(sql) : () => new Promise((ok, fail) => connection.query(sql, (e) => (e ? fail(e) : ok())));
    for (let i = 0; i < 30; i++) await run();
    return await timed(GROUPS, run);
  } finally {
    await client.releaseConnection(connection);
  }
}

console.log('| database | one UPDATE, autocommit (µs) | group of 1 (µs) | × the UPDATE | group of 16 (µs) | per request (µs) |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.dialect} | ${r.bare.toFixed(0)} | ${r.one.toFixed(0)} | ${(r.one / r.bare).toFixed(2)} | ${r.sixteen.toFixed(0)} | ${(r.sixteen / 16).toFixed(0)} |`);
}

// `npm run bench:http`: the Counter over HTTP under wrk (a C load generator: one thread, keep-alive, POST
// /rpc/add), primary and backup as real processes, each configuration at 1 and 16 connections, with the
// physics measured in the same run: one SQLite fsync (an autocommit UPDATE with synchronous=FULL on the
// same disk), one round trip between two Node processes over loopback (what a backup's acknowledgement
// costs at the least) and, with BENCH_PG, one bare UPDATE round trip to PostgreSQL. Prints a Markdown
// table of requests/s, p50 and the CPU the primary and the backup spent per request, and the ratios the
// targets of docs/BENCHMARKS.md are stated in.
// Needs wrk (Debian: apt-get install wrk) and `npm run build`.
// BENCH_SECONDS (default 5) per measurement; BENCH_CONNECTIONS (default 1,16); BENCH_PG=postgres://…
// adds `db` on PostgreSQL; BENCH_CONFIGS to choose among original, db, db@normal, pb, db@pg.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { compileService } from '../dist/compiler/compile.js';
import { spawnNode } from '../dist/proxies/serving/spawn.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,16').split(',').map(Number);
const PG = process.env.BENCH_PG;
const CONFIGS = (process.env.BENCH_CONFIGS ?? `original,db,db@normal,pb${PG ? ',db@pg' : ''}`).split(',');
if (spawnSync('wrk', ['--version']).error) throw new Error('bench:http needs wrk on the PATH (Debian: apt-get install wrk).');

const work = mkdtempSync(path.join(os.tmpdir(), 'bench-http-'));
const script = path.join(work, 'post.lua');
writeFileSync(script, 'wrk.method = "POST"\nwrk.body = \'{"args":[]}\'\nwrk.headers["Content-Type"] = "application/json"\n');

async function build(mapping) {
  const out = path.join(here, '..', '.tmp', 'bench-http', mapping);
  const compiled = await compileService(path.join(here, '../examples/counter/service.ts'), path.join(here, `../examples/counter/mappings/${mapping}.xml`), out, 'bench');
  if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));
  return out;
}

async function cluster(buildDir, db) {
  const env = { DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
  const backup = await spawnNode(buildDir, 'backup', ['--db', db], env);
  const primary = await spawnNode(buildDir, 'primary', ['--backups', backup.repl, '--db', db], env).catch(async (error) => {
    await backup.stop();
    throw error;
  });
  await primary.waitFor('replication.backup.joined');
  return { url: primary.http, pids: [primary.child.pid, backup.child.pid], stop: () => Promise.all([primary.stop(), backup.stop()]) };
}

/** CPU time (ms, user + system) a process has used so far, from /proc (Linux). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * The median round trip between two Node processes over loopback TCP (a small message each way), as
 * between a primary and its backup: the physics under a synchronous backup's acknowledgement.
 */
function nodeRoundTripMs() {
  const echo = "const s=require('net').createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))}).listen(0,'127.0.0.1',()=>console.log(s.address().port))";
  const client = `const net=require('net');const port=Number(process.argv[1]);const c=net.connect(port,'127.0.0.1');c.setNoDelay(true);const b=Buffer.alloc(300,1);const xs=[];let t;c.on('connect',()=>{t=process.hrtime.bigint();c.write(b)});let got=0;c.on('data',d=>{got+=d.length;if(got<b.length)return;got=0;xs.push(Number(process.hrtime.bigint()-t)/1e6);if(xs.length===3000){xs.splice(0,500);xs.sort((a,b)=>a-b);console.log(xs[xs.length>>1]);process.exit(0)}t=process.hrtime.bigint();c.write(b)})`;
  const server = spawn(process.execPath, ['-e', echo], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    server.stdout.once('data', (port) => {
      const run = spawnSync(process.execPath, ['-e', client, String(port).trim()], { encoding: 'utf8' });
      server.kill();
      const ms = Number(run.stdout.trim());
      if (Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`the round-trip probe failed: ${run.stderr}`));
    });
  });
}

/** wrk's requests/s and p50 (ms); errors if any request was not a 2xx. */
function wrk(url, connections) {
  const run = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--latency', '-s', script, `${url}/rpc/add`], { encoding: 'utf8' });
  const out = run.stdout;
  const throughput = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
  const p50 = out.match(/\s50%\s+([\d.]+)(us|ms|s)/);
  const ms = p50 ? Number(p50[1]) * { us: 0.001, ms: 1, s: 1000 }[p50[2]] : NaN;
  const bad = Number(out.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  if (!Number.isFinite(throughput) || bad > 0) throw new Error(`wrk: ${out}${run.stderr}`);
  return { throughput, p50: ms };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function fsyncMs() {
  const db = new Database(path.join(work, 'fsync.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 0)');
  const update = db.prepare('UPDATE t SET v = v + 1 WHERE id = 1');
  const samples = [];
  for (let i = 0; i < 500; i++) {
    const start = process.hrtime.bigint();
    update.run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  db.close();
  return median(samples.slice(50));
}
async function pgUpdateMs() {
  const client = new pg.Client({ connectionString: PG });
  await client.connect();
  // A real table, as the service's (a temporary one is not WAL-logged, so its UPDATE would skip the fsync).
  await client.query('DROP TABLE IF EXISTS bench_http_t; CREATE TABLE bench_http_t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO bench_http_t VALUES (1, 0)');
  const samples = [];
  for (let i = 0; i < 500; i++) {
    const start = process.hrtime.bigint();
    await client.query('UPDATE bench_http_t SET v = v + 1 WHERE id = 1');
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await client.query('DROP TABLE bench_http_t');
  await client.end();
  return median(samples.slice(50));
}

const rows = [];
try {
  for (const config of CONFIGS) {
    const [mapping, where] = config.split('@');
    const buildDir = await build(mapping);
    for (const connections of CONNECTIONS) {
      let db = `sqlite:${path.join(work, `${config}-${connections}.db`)}${where === 'normal' ? '?synchronous=normal' : ''}`;
      if (where === 'pg') {
        if (!PG) throw new Error('db@pg needs BENCH_PG=postgres://…');
        const client = new pg.Client({ connectionString: PG });
        await client.connect();
        await client.query('DROP TABLE IF EXISTS counter, durable_requests, durable_log, durable_meta, durable_configuration');
        await client.end();
        db = PG;
      }
      const nodes = await cluster(buildDir, db);
      try {
        wrk(nodes.url, connections); // warm-up, not counted
        const cpuBefore = nodes.pids.map(cpuMs);
        const result = wrk(nodes.url, connections);
        // CPU of the primary and the backup per request: on one machine they share the cores with wrk.
        const [primaryUs, backupUs] = nodes.pids.map((pid, i) => ((cpuMs(pid) - cpuBefore[i]) * 1000) / (result.throughput * SECONDS));
        rows.push({ config, connections, ...result, primaryUs, backupUs });
        process.stderr.write(`${config}, ${connections} connections: ${Math.round(result.throughput)} requests/s, p50 ${result.p50.toFixed(3)} ms\n`);
      } finally {
        await nodes.stop();
      }
    }
  }
  const fsync = fsyncMs();
  const pgUpdate = PG ? await pgUpdateMs() : undefined;

  const roundTrip = await nodeRoundTripMs();

  console.log(`| config | connections | requests/s | p50 ms | throughput vs original | p50 vs original | CPU µs/request, primary + backup |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const base = rows.find((o) => o.config === 'original' && o.connections === r.connections);
    console.log(
      `| ${r.config} | ${r.connections} | ${Math.round(r.throughput)} | ${r.p50.toFixed(3)} | ${base ? (r.throughput / base.throughput).toFixed(2) : '-'} | ${base ? (r.p50 / base.p50).toFixed(2) : '-'} | ${Math.round(r.primaryUs)} + ${Math.round(r.backupUs)} |`,
    );
  }
  console.log(`\nOne SQLite fsync (autocommit UPDATE, WAL, synchronous=FULL), same run: ${fsync.toFixed(3)} ms.`);
  const one = (config) => rows.find((r) => r.config === config && r.connections === 1);
  const original = one('original');
  if (original && one('db')) console.log(`db at 1 connection: p50 = original + ${((one('db').p50 - original.p50) / fsync).toFixed(2)} fsyncs.`);
  console.log(`One round trip between two Node processes over loopback TCP, same run: ${roundTrip.toFixed(3)} ms.`);
  if (original && one('pb')) console.log(`pb at 1 connection: p50 = original + ${((one('pb').p50 - original.p50) / roundTrip).toFixed(2)} Node round trips.`);
  if (pgUpdate !== undefined) {
    console.log(`One bare UPDATE round trip to PostgreSQL, same run: ${pgUpdate.toFixed(3)} ms.`);
    if (one('db@pg')) console.log(`db@pg at 1 connection: p50 = ${(one('db@pg').p50 / pgUpdate).toFixed(2)}x the bare UPDATE.`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// `npm run bench:join`: joining a backup to a primary that holds a large state (issue 17's table). A
// key-value service (8-byte keys, 100-byte values) is filled with N entries on a primary with one backup;
// a second backup then joins (--join) under a steady write load. Measured: how long until the joiner is
// caught up (its `replication.backup.joined` on the primary), the longest and 99th-percentile wait of a
// write during the join, the primary's RSS before and at its highest during the join, and, after a
// SIGKILL of the primary, how long until a write is answered again and whether every acknowledged write
// is there. The write load is a closed loop of BENCH_WRITERS clients (default 2): each write waits for the
// previous, so a stall shows as one long wait rather than as a queue.
//   BENCH_SIZES=10000,100000,1000000,5000000 npm run bench:join
//   BENCH_SERVICE=catalog BENCH_SIZES=700000 npm run bench:join        (entries that are objects)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { createClient } from '../dist/index.js';
import { spawnNode } from '../dist/proxies/serving/spawn.js';
import { caller, startCluster } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 2);
const MAPPING = process.env.BENCH_MAPPING ?? 'state';
// kv: one Map of strings; catalog: a Map of class instances holding an array (two objects an entry).
const SERVICE = process.env.BENCH_SERVICE ?? 'kv';
const build = path.join(here, '..', '.tmp', 'bench', `${SERVICE}-${MAPPING}`);
const compiled = await compileService(path.join(here, `services/${SERVICE}/service.ts`), path.join(here, `services/${SERVICE}/mappings/${MAPPING}.xml`), build, 'bench');
if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));

/** Resident memory of a process, in MB (Linux). */
function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

const rows = [];
for (const size of SIZES) {
  const cluster = await startCluster(build, ['--heartbeat-interval', '50', '--heartbeat-timeout', '500']);
  const extra = [];
  try {
    const call = caller(cluster.primary.http);
    const filledAt = Date.now();
    for (let from = 0; from < size; from += 20_000) await call('fill', [from, Math.min(20_000, size - from)], `fill-${from}`);
    const fillMs = Date.now() - filledAt;
    const rssBefore = rssMb(cluster.primary.child.pid);

    // The steady write load: every acknowledged write is remembered, to be checked after the failover.
    const acknowledged = new Map();
    const waits = [];
    let stop = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const client = createClient([cluster.primary.http], { timeoutMs: 10_000 });
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`;
        const started = performance.now();
        try {
          await client.call('put', [key, `written ${i}`], { id: key });
          waits.push(performance.now() - started);
          acknowledged.set(key, `written ${i}`);
        } catch {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const waitsBefore = waits.length;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(cluster.primary.child.pid))), 50);
    const joinStarted = Date.now();
    const joiner = await spawnNode(build, 'backup', ['--join', cluster.primary.repl, '--heartbeat-interval', '50', '--heartbeat-timeout', '500'], cluster.env);
    extra.push(joiner);
    const joined = await cluster.primary.waitFor((e) => e.event === 'replication.backup.joined' && e.backup === joiner.repl, 300_000);
    const joinMs = joined.seenAt - joinStarted;
    clearInterval(sampler);
    const during = waits.slice(waitsBefore);
    await new Promise((r) => setTimeout(r, 300));

    // Failover: the first backup takes over; every acknowledged write must be there.
    stop = true;
    await Promise.all(writers);
    const killedAt = Date.now();
    cluster.primary.kill('SIGKILL');
    const client = createClient([cluster.backup.http, joiner.http], { timeoutMs: 30_000, attemptTimeoutMs: 1_000 });
    await client.call('put', ['after', 'failover'], { id: 'after-failover' });
    const failoverMs = Date.now() - killedAt;
    let missing = 0;
    for (const [key, value] of acknowledged) if ((await client.call('get', [key])) !== value) missing++;
    const row = {
      size,
      fillMs,
      joinMs,
      parts: joined.parts,
      megabytes: Math.round(Number(joined.bytes) / 1e6),
      writes: during.length,
      maxWaitMs: Math.round(Math.max(0, ...during)),
      p99Ms: Math.round(percentile(during, 0.99)),
      rssBefore: Math.round(rssBefore),
      rssPeak: Math.round(rssPeak),
      failoverMs,
      acknowledged: acknowledged.size,
      missing,
    };
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  } finally {
    await Promise.all([cluster.stop(), ...extra.map((n) => n.stop('SIGKILL'))]);
  }
}

console.log(`| entries | join (caught up) | snapshot | longest write wait during join | p99 | primary RSS before → peak | failover | acknowledged writes lost |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.size.toLocaleString('en')} | ${(r.joinMs / 1000).toFixed(1)} s | ${r.megabytes} MB in ${r.parts} parts | ${r.maxWaitMs} ms (${r.writes} writes) | ${r.p99Ms} ms | ${r.rssBefore} → ${r.rssPeak} MB | ${r.failoverMs} ms | ${r.missing} of ${r.acknowledged} |`,
  );
}

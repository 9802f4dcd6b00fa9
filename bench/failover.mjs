// `npm run bench:failover`: failover time by number of clients (Table III.4), the Counter with `pb`,
// primary and backup as processes on loopback, --heartbeat-timeout 500 ms. For each client count: the
// primary is killed (SIGKILL) under load; detection (kill → the backup suspects it), promotion (suspect →
// serving), and the longest gap any client saw between two answers, which includes both.
//   BENCH_COORDINATOR=postgres://postgres@127.0.0.1:5432/test npm run bench:failover   (through an authority)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { createClient } from '../dist/index.js';
import { median, startCluster } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLIENTS = [1, 2, 4, 8, 16];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const build = path.join(here, '..', '.tmp', 'bench', 'counter-pb');
const compiled = await compileService(path.join(here, '../examples/counter/service.ts'), path.join(here, '../examples/counter/mappings/pb.xml'), build, 'bench');
if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));

const rows = [];
for (const clients of CLIENTS) {
  const detection = [];
  const promotion = [];
  const gaps = [];
  for (let run = 0; run < RUNS; run++) {
    const authority = process.env.BENCH_COORDINATOR ? ['--coordinator', process.env.BENCH_COORDINATOR] : [];
    const cluster = await startCluster(build, ['--heartbeat-interval', '50', '--heartbeat-timeout', '500', ...authority]);
    if (authority.length > 0) await cluster.primary.waitFor('coordination.member.added'); // only a member may take over
    try {
      let stop = false;
      let answered = 0;
      const clientGaps = [];
      const load = Array.from({ length: clients }, async (_, c) => {
        const client = createClient([cluster.primary.http, cluster.backup.http], { timeoutMs: 10_000, attemptTimeoutMs: 1_000 });
        let last = Date.now();
        let gap = 0;
        for (let i = 0; !stop; i++) {
          await client.call('add', [], { id: `c${c}-${run}-${i}` });
          const now = Date.now();
          gap = Math.max(gap, now - last);
          last = now;
          answered++;
        }
        clientGaps.push(gap);
      });
      while (answered < 100 * clients) await new Promise((r) => setTimeout(r, 5));
      const killedAt = Date.now();
      cluster.primary.kill('SIGKILL');
      await cluster.backup.waitFor('role.changed');
      const suspected = cluster.backup.events.find((e) => e.event === 'failure.suspected');
      const changed = cluster.backup.events.find((e) => e.event === 'role.changed');
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(load);
      detection.push(Date.parse(suspected.time) - killedAt);
      promotion.push(Date.parse(changed.time) - Date.parse(suspected.time));
      gaps.push(Math.max(...clientGaps));
    } finally {
      await cluster.stop();
    }
  }
  rows.push({ clients, detection: median(detection), promotion: median(promotion), gap: median(gaps) });
  process.stderr.write(`${clients} clients: detection ${median(detection)} ms, promotion ${median(promotion)} ms, longest client gap ${median(gaps)} ms\n`);
}
console.log('| clients | ' + CLIENTS.join(' | ') + ' |');
console.log('|---|' + CLIENTS.map(() => '---').join('|') + '|');
console.log('| detection (ms, median) | ' + rows.map((r) => r.detection).join(' | ') + ' |');
console.log('| promotion (ms, median) | ' + rows.map((r) => r.promotion).join(' | ') + ' |');
console.log('| longest client gap (ms, median) | ' + rows.map((r) => r.gap).join(' | ') + ' |');

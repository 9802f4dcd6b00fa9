// `npm run bench:state-size`: the Chapter III state-size sweep (Tables III.1–III.3), here as `repeat`
// against `state` updates. The state object holds 10 B to 100 kB; each request changes one cell of it.
// Median latency of 1 client over HTTP, primary and backup as processes on loopback, ratio to the
// unreplicated original measured in the same run.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { caller, median, startCluster } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = [10, 100, 1_000, 10_000, 100_000]; // bytes, 8 per number
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const rows = [];
for (const config of ['original', 'repeat', 'state']) {
  const build = path.join(here, '..', '.tmp', 'bench', 'blob', config);
  const compiled = await compileService(path.join(here, 'services/blob/service.ts'), path.join(here, `services/blob/mappings/${config}.xml`), build, 'bench');
  if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));
  for (const bytes of SIZES) {
    const cluster = await startCluster(build);
    try {
      const call = caller(cluster.primary.http);
      const cells = Math.max(1, Math.round(bytes / 8));
      await call('resize', [cells], `resize-${bytes}`);
      for (let i = 0; i < 50; i++) await call('bump', [i % cells], `warm-${i}`);
      const latencies = [];
      for (let i = 0; i < REQUESTS; i++) {
        const started = process.hrtime.bigint();
        await call('bump', [(i * 7919) % cells], `r-${i}`);
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      rows.push({ config, bytes, medianMs: median(latencies) });
      process.stderr.write(`${config} ${bytes} B: median ${median(latencies).toFixed(3)} ms\n`);
    } finally {
      await cluster.stop();
    }
  }
}
const base = (bytes) => rows.find((r) => r.config === 'original' && r.bytes === bytes).medianMs;
console.log('| update | ' + SIZES.map((s) => (s >= 1000 ? `${s / 1000} kB` : `${s} B`)).join(' | ') + ' |');
console.log('|---|' + SIZES.map(() => '---').join('|') + '|');
for (const config of ['original', 'repeat', 'state']) {
  console.log(
    `| ${config} | ` +
      SIZES.map((s) => {
        const r = rows.find((x) => x.config === config && x.bytes === s);
        return `${r.medianMs.toFixed(3)} (${(r.medianMs / base(s)).toFixed(2)})`;
      }).join(' | ') +
      ' |',
  );
}
const tenK = (c) => rows.find((r) => r.config === c && r.bytes === 10_000).medianMs;
console.log(`\n10 kB: state / repeat = ${(tenK('state') / tenK('repeat')).toFixed(2)} (target ≤ 1.1)`);

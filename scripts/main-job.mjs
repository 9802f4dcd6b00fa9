// `npm start`: the README's main job. Checks and compiles every example under each of its mappings, then
// runs each primary build in-process with a backup build over the in-memory link and the embedded
// SQLite database, and prints what each configuration costs beside the unprotected `original`.
// In-process, so the replication round trip is a function call: `durable compare` (issue #6) measures
// real processes over real sockets.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileService } from '../dist/compiler/compile.js';
import { formatDiagnostic } from '../dist/mappings/index.js';
import { DatabaseStore, InMemoryLink } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
const out = path.join(root, '.tmp', 'main-job');
const REQUESTS = 400;

/** The workload per example: a warm-up that fills state, then the measured requests. */
const WORKLOADS = {
  counter: { className: 'CounterService', warmUp: async () => {}, request: (s) => s.add() },
  matchmaker: {
    className: 'MatchmakerService',
    warmUp: async (s) => {
      for (let i = 0; i < REQUESTS; i++) await s.machineAdvertise({ id: `m${i}`, cpu: 1 + (i % 8), memoryMb: 2048 * (1 + (i % 4)), diskGb: 100 });
    },
    request: (s, i) => s.jobSubmit(`client${i % 4}`, { cpu: 1, memoryMb: 1024, diskGb: 10 }),
  },
};

let failed = false;
const rows = [];
for (const example of readdirSync(examples).sort()) {
  const workload = WORKLOADS[example];
  const baseline = { rate: undefined };
  const configs = readdirSync(path.join(examples, example, 'mappings')).map((f) => f.slice(0, -4)).sort((a, b) => (a === 'original' ? -1 : b === 'original' ? 1 : a.localeCompare(b)));
  for (const config of configs) {
    const build = path.join(out, example, config);
    const compiled = await compileService(path.join(examples, example, 'service.ts'), path.join(examples, example, 'mappings', `${config}.xml`), build, 'main-job');
    for (const d of compiled.diagnostics) console.log(formatDiagnostic(d, process.cwd()));
    if (compiled.files.length === 0) {
      failed = true;
      rows.push([example, config, 'compile failed', '', '', '']);
      continue;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-main-'));
    const database = await DatabaseStore.open(`sqlite:${path.join(dir, 'state.db')}`);
    try {
      const primaryBuild = await import(pathToFileURL(path.join(build, 'primary', 'service.mjs')).href);
      const backupBuild = await import(pathToFileURL(path.join(build, 'backup', 'service.mjs')).href);
      const backup = await backupBuild[workload.className].start({ database });
      const primary = await primaryBuild[workload.className].start({ database, link: new InMemoryLink([backup.runtime.replica]) });
      backup.runtime.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.runtime.snapshot())));
      await workload.warmUp(primary);
      const started = process.hrtime.bigint();
      for (let i = 0; i < REQUESTS; i++) await workload.request(primary, i);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rate = REQUESTS / seconds;
      baseline.rate ??= rate;
      const mechanisms = primary.runtime.proxies;
      rows.push([
        example,
        config,
        'ok',
        [...mechanisms].map(([name, p]) => `${name}: ${p.mechanism}`).join(', '),
        `${Math.round(rate)}`,
        `${(rate / baseline.rate).toFixed(2)}`,
      ]);
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const headers = ['example', 'config', 'build', 'state objects', 'requests/s', 'vs original'];
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
console.log(line(headers));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log(`\n${rows.length} configurations compiled into ${path.relative(process.cwd(), out)}; ${REQUESTS} sequential requests each, in-process, one backup over the in-memory link, SQLite with synchronous commits.`);
process.exitCode = failed ? 1 : 0;

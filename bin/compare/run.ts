// `durable compare`: compiles an example under each of its mappings, starts a primary and a backup as
// real processes for each, drives load over HTTP at each client count, and reports throughput and
// latency side by side with the ratio to `original` measured in the same run: a table, results.json and
// chart.svg.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compileService } from '../../compiler/compile.js';
import { SELF } from '../../compiler/package-root.js';
import { formatDiagnostic } from '../../mappings/index.js';
import { spawnNode, type SpawnedNode } from '../../proxies/serving/spawn.js';
import { UserError, type CliIO } from '../io.js';
import { VERSION } from '../version.js';
import { renderChart } from './chart.js';
import { runLoad, type LoadResult, type Workload } from './load.js';

export interface CompareOptions {
  configs?: string;
  clients: string;
  requests?: string;
  db?: string;
  /** SQLite synchronous levels for database mappings on the default SQLite (comma-separated: full, normal). */
  sqliteSync?: string;
  json?: boolean;
  out?: string;
}

const PACKAGE_ROOT = SELF.root;

/** The workloads of the two examples (Chapter IV.D), scaled to seconds. */
const WORKLOADS: Record<string, (requests: number) => Workload> = {
  counter: () => ({
    prepare: async () => {},
    client: async (call, _i, more) => {
      while (more()) await call('add', []);
    },
  }),
  // IV.D.2: one advertiser fills the pool; each client loops: 1–5 jobSubmits, then a short think time.
  matchmaker: (requests) => ({
    prepare: async (call) => {
      for (let i = 0; i < requests + 50; i++) await call('machineAdvertise', [{ id: `m${i}`, cpu: 1 + (i % 8), memoryMb: 1024 * (1 + (i % 16)), diskGb: 20 + (i % 10) * 20 }]);
    },
    client: async (call, index, more) => {
      let turn = 0;
      for (;;) {
        const burst = 1 + ((index + turn++) % 5);
        for (let j = 0; j < burst; j++) {
          if (!more()) return;
          await call('jobSubmit', [`client${index}`, { cpu: 1, memoryMb: 512, diskGb: 10 }]);
        }
        await new Promise((r) => setTimeout(r, 1 + ((index + turn) % 3)));
      }
    },
  }),
};

export async function runCompare(example: string, options: CompareOptions, io: CliIO): Promise<number> {
  const dir = resolveExample(example, io.cwd);
  const name = path.basename(dir);
  const workloadOf = WORKLOADS[name];
  if (!workloadOf) throw new UserError(`No workload for '${name}': compare knows ${Object.keys(WORKLOADS).join(' and ')}.`);
  const available = readdirSync(path.join(dir, 'mappings'))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => f.slice(0, -4));
  const configs = options.configs ? options.configs.split(',').map((c) => c.trim()) : ['original', ...available.filter((c) => c !== 'original').sort()];
  for (const c of configs) if (!available.includes(c)) throw new UserError(`'${c}' is not a mapping of ${name}; it has ${available.join(', ')}.`);
  const clients = options.clients.split(',').map((c) => Number(c.trim()));
  if (clients.some((c) => !Number.isInteger(c) || c < 1 || c > 256)) throw new UserError(`--clients takes whole numbers from 1 to 256, not '${options.clients}'.`);
  const requests = options.requests ? Number(options.requests) : 1_000;
  if (!Number.isInteger(requests) || requests < 1) throw new UserError(`--requests takes a whole number, not '${options.requests}'.`);
  const levels = (options.sqliteSync ?? 'full').split(',').map((l) => l.trim().toLowerCase());
  if (levels.length === 0 || levels.some((l) => l !== 'full' && l !== 'normal')) throw new UserError(`--sqlite-sync takes full and/or normal, not '${options.sqliteSync}'.`);
  if (options.db && levels.some((l) => l !== 'full')) throw new UserError('--sqlite-sync is for the default SQLite files; with --db, put ?synchronous=normal in an sqlite: URL instead.');
  const out = path.resolve(io.cwd, options.out ?? path.join('compare-results', name));
  mkdirSync(out, { recursive: true });
  const progress = (text: string) => io.stderr(`${text}\n`);

  const rows: { config: string; mechanisms: string; result: LoadResult }[] = [];
  const labels: string[] = [];
  for (const config of configs) {
    const build = path.join(out, 'builds', config);
    const compiled = await compileService(path.join(dir, 'service.ts'), path.join(dir, 'mappings', `${config}.xml`), build, VERSION);
    if (compiled.files.length === 0) {
      for (const d of compiled.diagnostics) io.stdout(formatDiagnostic(d, io.cwd) + '\n');
      throw new UserError(`${name}/${config} does not compile.`);
    }
    const manifest = JSON.parse(readFileSync(path.join(build, 'manifest.json'), 'utf8')) as { stateObjects: { name: string; mechanism: string }[] };
    const mechanisms = manifest.stateObjects.map((s) => `${s.name}:${s.mechanism}`).join(' ');
    // A database mapping on the default SQLite runs once per durability level asked for (db, db@normal).
    const usesDatabase = manifest.stateObjects.some((s) => s.mechanism === 'database');
    for (const level of usesDatabase && !options.db ? levels : [levels[0]!]) {
      const label = level === 'full' || !usesDatabase ? config : `${config}@${level}`;
      if (!labels.includes(label)) labels.push(label);
      for (const count of clients) {
        const file = path.join(build, `state-${level}-${count}.db`);
        const db = options.db ?? `sqlite:${file}${level === 'full' ? '' : `?synchronous=${level}`}`;
        if (!options.db) rmSync(file, { force: true });
        const cluster = await startCluster(build, db);
        try {
          progress(`[${name}] ${label} (${mechanisms}), ${count} client${count === 1 ? '' : 's'}…`);
          const result = await runLoad(cluster.primary, workloadOf(requests), count, requests);
          progress(`  ${Math.round(result.throughput)} requests/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms${result.errors ? `, ${result.errors} errors` : ''}`);
          rows.push({ config: label, mechanisms, result });
        } finally {
          await cluster.stop();
        }
      }
    }
  }

  const baseline = (count: number) => rows.find((r) => r.config === 'original' && r.result.clients === count)?.result;
  const results = rows.map((r) => {
    const base = baseline(r.result.clients);
    return {
      example: name,
      config: r.config,
      stateObjects: r.mechanisms,
      clients: r.result.clients,
      requests: r.result.requests,
      errors: r.result.errors,
      throughput: round(r.result.throughput),
      p50Ms: round(r.result.p50),
      p99Ms: round(r.result.p99),
      throughputVsOriginal: base ? round(r.result.throughput / base.throughput) : null,
      latencyVsOriginal: base ? round(r.result.p50 / base.p50) : null,
    };
  });
  const meta = {
    tool: `durability-compiler ${VERSION}`,
    date: new Date().toISOString(),
    database: options.db ?? `sqlite (a fresh file per run; synchronous ${levels.join(', ')})`,
    topology: 'primary and one backup, separate processes, loopback',
    requestsPerMeasurement: requests,
  };
  writeFileSync(path.join(out, 'results.json'), JSON.stringify({ ...meta, results }, null, 2) + '\n');
  const series = labels.map((config) => ({ name: config, points: results.filter((r) => r.config === config).map((r) => ({ clients: r.clients, throughput: r.throughput, p50: r.p50Ms })) }));
  writeFileSync(path.join(out, 'chart.svg'), renderChart(`${name}`, series));

  if (options.json) {
    io.stdout(JSON.stringify({ ...meta, results }, null, 2) + '\n');
  } else {
    const headers = ['config', 'clients', 'requests/s', 'p50 ms', 'p99 ms', 'throughput vs original', 'p50 vs original'];
    const table = results.map((r) => [
      r.config,
      String(r.clients),
      String(Math.round(r.throughput)),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      r.throughputVsOriginal?.toFixed(2) ?? '-',
      r.latencyVsOriginal?.toFixed(2) ?? '-',
    ]);
    const widths = headers.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    io.stdout([line(headers), line(widths.map((w) => '-'.repeat(w))), ...table.map(line)].join('\n') + '\n');
    io.stdout(`\nResults: ${path.relative(io.cwd, path.join(out, 'results.json'))}; chart: ${path.relative(io.cwd, path.join(out, 'chart.svg'))}\n`);
  }
  return results.some((r) => r.errors > 0) ? 1 : 0;
}

function resolveExample(example: string, cwd: string): string {
  const candidates = [path.resolve(cwd, example), path.join(PACKAGE_ROOT, 'examples', example)];
  const found = candidates.find((c) => existsSync(path.join(c, 'service.ts')) && existsSync(path.join(c, 'mappings')));
  if (!found) throw new UserError(`'${example}' is neither an example (counter, matchmaker) nor a directory with service.ts and mappings/.`);
  return found;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** A primary and a backup of `build`, as processes on loopback with a fresh cluster key. */
async function startCluster(build: string, db: string): Promise<{ primary: string; stop(): Promise<void> }> {
  const env = { DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
  const nodes: SpawnedNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    const backup = await spawnNode(build, 'backup', ['--db', db], env);
    nodes.push(backup);
    const primary = await spawnNode(build, 'primary', ['--backups', backup.repl, '--db', db], env);
    nodes.push(primary);
    // Ready once the backup follows: the first request would otherwise race the join.
    await primary.waitFor('replication.backup.joined');
    return { primary: primary.http, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

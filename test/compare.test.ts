// `durable compare` end to end on a short workload: real primary and backup processes per
// configuration, rows per configuration and client count with the ratio to the original, results.json
// and a chart that shows every configuration.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { durable } from './support/cli.js';

const root = path.resolve(import.meta.dirname, '..');

it.each(['counter', 'matchmaker'])(
  'compares %s under its mappings',
  async (example) => {
    const out = path.join('.tmp', 'compare-test', example);
    const configs = example === 'counter' ? 'original,pb,db' : 'original,pb+db';
    const run = await durable(['compare', example, '--configs', configs, '--clients', '1,2', '--requests', '40', '--json', '--out', out], root);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { results: { config: string; clients: number; throughput: number; p50Ms: number; throughputVsOriginal: number; errors: number }[] };
    const names = configs.split(',');
    expect(report.results.map((r) => `${r.config}/${r.clients}`)).toEqual(names.flatMap((c) => [`${c}/1`, `${c}/2`]));
    for (const r of report.results) {
      expect(r.errors).toBe(0);
      expect(r.throughput).toBeGreaterThan(0);
      expect(r.throughputVsOriginal).toBeGreaterThan(0);
    }
    expect(report.results.filter((r) => r.config === 'original').every((r) => r.throughputVsOriginal === 1)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(root, out, 'results.json'), 'utf8')).results).toEqual(report.results);
    const chart = readFileSync(path.join(root, out, 'chart.svg'), 'utf8');
    for (const name of names) expect(chart).toContain(`>${name}</text>`);
    expect(run.stderr).toMatch(new RegExp(`\\[${example}\\] original .*1 client`));
    expect(existsSync(path.join(root, out, 'builds', names[1]!, 'primary', 'service.mjs'))).toBe(true);
    // Three compiles and six clusters of two processes: past a minute when the suite shares two slow cores.
  },
  180_000,
);

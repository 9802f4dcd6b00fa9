// `npm start`: the README's main job. Runs `durable compare` for both examples (every mapping, primary
// and backup as real processes on loopback, the embedded SQLite default, a short workload) and prints
// where the results and the charts are.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let failed = false;
for (const example of ['counter', 'matchmaker']) {
  console.log(`\n== ${example}: every mapping, 1 and 4 clients, 300 requests each`);
  const run = spawnSync(process.execPath, [path.join(root, 'bin', 'durable.js'), 'compare', example, '--clients', '1,4', '--requests', '300', '--out', path.join('compare-results', example)], {
    cwd: root,
    stdio: 'inherit',
  });
  failed ||= run.status !== 0;
}
console.log(`\nCharts: compare-results/counter/chart.svg and compare-results/matchmaker/chart.svg (open them in a browser).`);
process.exitCode = failed ? 1 : 0;

// `npm run bench:compare`: `durable compare` for both examples with the thesis's client counts, on the
// embedded SQLite default (or BENCH_DB=postgres://… for PostgreSQL).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const db = process.env.BENCH_DB ? ['--db', process.env.BENCH_DB] : [];
for (const [example, clients, requests] of [
  ['counter', '1,2,4,8,12,16', '2000'],
  ['matchmaker', '1,4,8', '600'],
]) {
  spawnSync(process.execPath, [path.join(root, 'bin/durable.js'), 'compare', example, '--clients', clients, '--requests', requests, '--out', path.join('compare-results', example), ...db], {
    cwd: root,
    stdio: 'inherit',
  });
}

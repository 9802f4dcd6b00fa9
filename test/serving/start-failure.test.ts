// A node that cannot start says why and exits at once with status 1: nothing it opened on the way (a
// database pool, a timer) keeps the process alive (issue 14: it used to linger for half a minute).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('a node that cannot start', () => {
  it('exits with status 1 and the reason, at once, even with its database open', async () => {
    const out = path.join(root, '.tmp', 'serving', 'start-failure');
    const compiled = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/db.xml'), out, 'test');
    expect(compiled.diagnostics).toEqual([]);
    // A table of the mapping's name but another shape: the database opens, its initialization fails.
    mkdirSync(out, { recursive: true });
    const file = path.join(out, `wrong-shape-${Date.now()}.db`);
    const db = new Database(file);
    db.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, other INTEGER)');
    db.close();
    const started = Date.now();
    const result = spawnSync(process.execPath, [path.join(root, 'bin', 'durable.js'), 'serve', out, '--role', 'primary', '--http', '127.0.0.1:0', '--repl', '127.0.0.1:0', '--db', `sqlite:${file}`], {
      env: { ...process.env, DURABLE_CLUSTER_KEY: 'start-failure-cluster-key-0123456789' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/durable: cannot start the primary: .*no column named value/);
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});

// Database faults under load: PostgreSQL cuts every connection of the primary (pg_terminate_backend) while
// four clients send requests; another process holds the SQLite file locked past the busy timeout. The commits in flight fail or succeed; the primary settles which from its
// decision records, answers 503 for those it cannot confirm (the client retries the same id), and goes on
// once the pool reconnects. Nothing acknowledged is lost, nothing runs twice.
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { createClient } from '../../proxies/serving/client.js';
import { optedOut } from '../support/databases.js';
import { counterLoad } from './load.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
// Its own database, so cutting its connections leaves the other tests' alone.
const URL = process.env.DURABLE_TEST_POSTGRES_FAULTS_URL ?? 'postgres://postgres@127.0.0.1:5432/root';
const nodes: Node[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.kill();
});

it.runIf(!optedOut('postgres'))('keeps its promise when PostgreSQL drops every connection mid-load', async () => {
  const admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS counter, durable_requests, durable_log, durable_meta');
  const out = path.join(root, '.tmp', 'faults', 'counter-db');
  const compiled = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/db.xml'), out, 'test');
  expect(compiled.diagnostics).toEqual([]);
  const primary = await startNode(out, 'primary', ['--db', URL]);
  nodes.push(primary);

  const load = counterLoad([primary.http], 'f', 4, { timeoutMs: 20_000 });
  const { acknowledged } = load;
  try {
    for (let cut = 0; cut < 3; cut++) {
      await load.reached(acknowledged.length + 40);
      const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      expect(rowCount).toBeGreaterThan(0);
    }
    await load.reached(acknowledged.length + 40);
  } finally {
    await load.stop();
  }
  expect(new Set(acknowledged).size).toBe(acknowledged.length); // none executed twice
  const { rows } = await admin.query('SELECT value FROM counter WHERE id = 1');
  expect(rows[0].value).toBe(acknowledged.length); // none lost, none extra
  expect(await createClient([primary.http]).call('get')).toBe(acknowledged.length);
  await admin.end();
});

it('keeps its promise when another process holds the SQLite file locked past the busy timeout', async () => {
  const out = path.join(root, '.tmp', 'faults', 'counter-db-sqlite');
  const compiled = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/db.xml'), out, 'test');
  expect(compiled.diagnostics).toEqual([]);
  const file = path.join(out, `locked-${Date.now()}.db`);
  const primary = await startNode(out, 'primary', ['--db', `sqlite:${file}`]);
  nodes.push(primary);

  const load = counterLoad([primary.http], 's', 3, { timeoutMs: 30_000, attemptTimeoutMs: 10_000 });
  const { acknowledged } = load;
  try {
    await load.reached(30);
    // Another writer takes the database's write lock and keeps it longer than the 5 s busy timeout.
    const locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE');
    await new Promise((r) => setTimeout(r, 6_000));
    locker.exec('ROLLBACK');
    locker.close();
    await load.reached(acknowledged.length + 30);
  } finally {
    await load.stop();
  }
  expect(new Set(acknowledged).size).toBe(acknowledged.length);
  // The lock outlasted the busy timeout: some commits failed, were answered 503, and retried.
  const metrics = (await (await fetch(`${primary.http}/metrics`)).json()) as { unavailable: number };
  expect(metrics.unavailable).toBeGreaterThan(0);
  const reader = new Database(file, { readonly: true });
  expect((reader.prepare('SELECT value FROM counter WHERE id = 1').get() as { value: number }).value).toBe(acknowledged.length);
  reader.close();
}, 60_000);

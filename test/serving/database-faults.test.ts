// Database faults under load: PostgreSQL cuts every connection of the primary (pg_terminate_backend) while
// four clients send requests. The commits in flight fail or succeed; the primary settles which from its
// decision records, answers 503 for those it cannot confirm (the client retries the same id), and goes on
// once the pool reconnects. Nothing acknowledged is lost, nothing runs twice.
import path from 'node:path';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { createClient } from '../../proxies/serving/client.js';
import { optedOut } from '../support/databases.js';
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
  await admin.query('DROP TABLE IF EXISTS counter, durable_requests, durable_meta');
  const out = path.join(root, '.tmp', 'faults', 'counter-db');
  const compiled = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/db.xml'), out, 'test');
  expect(compiled.diagnostics).toEqual([]);
  const primary = await startNode(out, 'primary', ['--db', URL]);
  nodes.push(primary);

  const acknowledged: number[] = [];
  let stop = false;
  const load = Array.from({ length: 4 }, async (_, c) => {
    const client = createClient([primary.http], { timeoutMs: 20_000 });
    for (let i = 0; !stop; i++) acknowledged.push(await client.call<number>('add', [], { id: `f${c}-${i}` }));
  });
  try {
    for (let cut = 0; cut < 3; cut++) {
      const before = acknowledged.length;
      while (acknowledged.length < before + 40) await new Promise((r) => setTimeout(r, 5));
      const { rowCount } = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
      expect(rowCount).toBeGreaterThan(0);
    }
    const before = acknowledged.length;
    while (acknowledged.length < before + 40) await new Promise((r) => setTimeout(r, 5));
  } finally {
    stop = true;
    await Promise.all(load);
  }
  expect(new Set(acknowledged).size).toBe(acknowledged.length); // none executed twice
  const { rows } = await admin.query('SELECT value FROM counter WHERE id = 1');
  expect(rows[0].value).toBe(acknowledged.length); // none lost, none extra
  expect(await createClient([primary.http]).call('get')).toBe(acknowledged.length);
  await admin.end();
});

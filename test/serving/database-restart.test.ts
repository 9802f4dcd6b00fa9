// PostgreSQL crashes and restarts under load (its own server: test/support/private-postgres.ts). Commits in
// flight are lost or kept by the WAL; the primary cannot tell which until the server is back, so it
// stops committing and goes silent, and its backup takes over once the database answers again, settling
// from the decision records. Clients retry the same ids throughout. Nothing acknowledged is lost,
// nothing runs twice, and the service serves again afterwards.
import path from 'node:path';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { createClient } from '../../proxies/serving/client.js';
import { optedOut } from '../support/databases.js';
import { postgresBinaries, PrivatePostgres } from '../support/private-postgres.js';
import { counterLoad } from './load.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const nodes: Node[] = [];
let server: PrivatePostgres | undefined;
afterEach(async () => {
  for (const n of nodes.splice(0)) n.kill();
  await server?.destroy();
  server = undefined;
});

// Under CI a machine without PostgreSQL's server binaries fails this test rather than skip it.
const runnable = process.env.CI === 'true' || (!optedOut('postgres') && postgresBinaries() !== undefined);

it.runIf(runnable)('keeps its promise when PostgreSQL crashes and restarts under load', async () => {
  server = await PrivatePostgres.start();
  const out = path.join(root, '.tmp', 'faults', 'counter-db-restart');
  const compiled = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/db.xml'), out, 'test');
  expect(compiled.diagnostics).toEqual([]);
  const args = ['--db', server.url, '--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
  const backup = await startNode(out, 'backup', args);
  nodes.push(backup);
  const primary = await startNode(out, 'primary', ['--backups', backup.repl, ...args]);
  nodes.push(primary);
  await primary.waitFor('replication.backup.joined');

  const load = counterLoad([primary.http, backup.http], 'r', 4, { timeoutMs: 30_000 });
  const { acknowledged } = load;
  try {
    await load.reached(60);
    await server.crash();
    const atCrash = acknowledged.length;
    await new Promise((r) => setTimeout(r, 1_500));
    // Nothing can be made durable while the database is down.
    expect(acknowledged.length - atCrash).toBeLessThanOrEqual(8); // at most the replies already on their way
    await server.startAgain();
    await load.reached(acknowledged.length + 60);
  } finally {
    await load.stop();
  }

  expect(new Set(acknowledged).size).toBe(acknowledged.length); // none executed twice
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const { rows } = await admin.query('SELECT value FROM counter WHERE id = 1');
  await admin.end();
  expect(Number(rows[0].value)).toBe(acknowledged.length); // none lost, none extra
  expect(await createClient([primary.http, backup.http]).call('get')).toBe(acknowledged.length);
  // The way there: the primary stopped (a commit's outcome unknown), the backup took over once the
  // database answered again.
  expect(primary.log.some((l) => l.includes('"role":"stopped"'))).toBe(true);
  expect(backup.log.some((l) => l.includes('"role":"primary"'))).toBe(true);
});

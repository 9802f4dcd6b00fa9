// `npm run chaos -- --kills N --clients C --example counter|matchmaker [--db URL] [--out FILE]`: a primary
// and a backup from compiled builds, clients recording every request (its id and outcome), the primary
// killed with SIGKILL at random moments, a replacement backup joining after each failover. Then the
// history is checked: every acknowledged update present, none executed twice, none partial. Prints and
// writes a JSON summary.
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileService } from '../dist/compiler/compile.js';
import { createClient } from '../dist/index.js';
import { percentiles } from '../dist/proxies/serving/http.js';
import { spawnNode } from '../dist/proxies/serving/spawn.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    clients: { type: 'string', default: '4' },
    example: { type: 'string', default: 'counter' },
    db: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
  },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KILLS = Number(values.kills);
const CLIENTS = Number(values.clients);
const example = values.example;
const config = example === 'matchmaker' ? 'pb+db' : 'pb';
const build = path.join(root, '.tmp', 'chaos', `${example}-${config}`);
const db = values.db ?? `sqlite:${path.join(build, `chaos-${Date.now()}.db`)}`;
let seed = Number(values.seed ?? Date.now() % 100000);
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

const compiled = await compileService(path.join(root, 'examples', example, 'service.ts'), path.join(root, 'examples', example, 'mappings', `${config}.xml`), build, 'chaos');
if (compiled.files.length === 0) throw new Error(JSON.stringify(compiled.diagnostics));
// A server database keeps the last run's tables: a run starts from none (else its checks count the last run's rows).
if (example === 'matchmaker' && /^postgres/.test(db)) await resetPostgres(db);
if (example === 'matchmaker' && /^(mysql|mariadb):/.test(db)) await resetMysql(db);

const env = { DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
const nodes = [];

const startNode = async (role, extra) => {
  const node = await spawnNode(build, role, ['--db', db, ...timing, ...extra], env);
  nodes.push(node);
  return node;
};
const waitFor = (node, predicate, ms = 15_000) => node.waitFor(predicate, ms);

// The cluster: a primary and one backup; after each kill the backup takes over and a new one joins.
let backup = await startNode('backup', []);
let primary = await startNode('primary', ['--backups', backup.repl]);
await waitFor(primary, (e) => e.event === 'replication.backup.joined');
const urls = () => nodes.filter((n) => n.alive()).map((n) => n.http);

const history = [];
let stop = false;
async function clientLoop(index) {
  let turn = 0;
  while (!stop) {
    const id = randomUUID();
    const [method, args] =
      example === 'counter'
        ? ['add', []]
        : turn++ % 3 === 0
          ? ['machineAdvertise', [{ id: `m-${index}-${turn}`, cpu: 1 + (turn % 4), memoryMb: 1024, diskGb: 10 }]]
          : ['jobSubmit', [`client${index}`, { cpu: 1, memoryMb: 512, diskGb: 5 }]];
    const entry = { id, method, args, client: index, sentAt: Date.now() };
    history.push(entry);
    try {
      entry.result = await createClient(urls(), { timeoutMs: 20_000, attemptTimeoutMs: 1_000 }).call(method, args, { id });
      entry.outcome = 'ok';
    } catch (error) {
      entry.outcome = error.code === 'SERVICE_ERROR' ? 'service-error' : 'unknown';
      entry.error = error.message;
    }
  }
}
const load = Array.from({ length: CLIENTS }, (_, i) => clientLoop(i));

const failovers = [];
for (let kill = 0; kill < KILLS; kill++) {
  await new Promise((r) => setTimeout(r, 200 + random() * 600));
  const killedAt = Date.now();
  primary.kill('SIGKILL');
  const changed = await waitFor(backup, (e) => e.event === 'role.changed' && e.role === 'primary');
  failovers.push(changed.seenAt - killedAt);
  primary = backup;
  const joined = primary.events.filter((e) => e.event === 'replication.backup.joined').length;
  backup = await startNode('backup', ['--join', primary.repl]);
  await waitFor(primary, (e) => e.event === 'replication.backup.joined' && primary.events.filter((x) => x.event === 'replication.backup.joined').indexOf(e) >= joined);
  await waitFor(backup, (e) => e.event === 'replication.primary.connected');
  process.stderr.write(`kill ${kill + 1}/${KILLS}: failover ${failovers.at(-1)} ms, ${history.filter((h) => h.outcome === 'ok').length} acknowledged so far\n`);
}
stop = true;
await Promise.all(load);

// The history, checked against the state the last primary holds.
const final = createClient([primary.http], { timeoutMs: 10_000 });
const acknowledged = history.filter((h) => h.outcome === 'ok');
const unknown = history.filter((h) => h.outcome === 'unknown');
let lost = 0;
let duplicated = 0;
let partial = 0;
if (example === 'counter') {
  const value = await final.call('get', []);
  const results = acknowledged.map((h) => h.result);
  duplicated += results.length - new Set(results).size; // two requests answered with the same count
  lost += results.filter((r) => r > value).length; // answered, then gone
  const executed = value; // each add executed once moves the counter by one
  if (executed < acknowledged.length) lost += acknowledged.length - executed;
  if (executed > acknowledged.length + unknown.length) duplicated += executed - acknowledged.length - unknown.length;
} else {
  const jobs = acknowledged.filter((h) => h.method === 'jobSubmit');
  const machineIds = jobs.map((h) => h.result.id);
  duplicated += machineIds.length - new Set(machineIds).size; // one machine handed out twice
  for (let c = 0; c < CLIENTS; c++) {
    const charged = jobs.filter((h) => h.client === c).reduce((sum, h) => sum + h.result.cpu, 0);
    const pending = unknown.filter((h) => h.client === c && h.method === 'jobSubmit').length * 4;
    const balance = await final.call('balance', [`client${c}`]);
    if (balance < charged) lost += 1; // an acknowledged charge missing
    if (balance > charged + pending) duplicated += 1; // charged more than the jobs it was told about
  }
  // Partial: a job that took a machine (replicated) but whose charge (database) is missing, or the other
  // way round, shows as a queue that does not match what was advertised and taken.
  const advertised = acknowledged.filter((h) => h.method === 'machineAdvertise').length;
  const unknownAds = unknown.filter((h) => h.method === 'machineAdvertise').length;
  const unknownJobs = unknown.filter((h) => h.method === 'jobSubmit').length;
  const available = await final.call('available', []);
  const expectedLow = advertised - jobs.length - unknownJobs;
  const expectedHigh = advertised + unknownAds - jobs.length;
  if (available < expectedLow || available > expectedHigh) partial += 1;
}
const summary = {
  example,
  config,
  database: db.replace(/:[^:@/]*@/, ':***@'),
  seed: Number(values.seed ?? 0) || undefined,
  kills: KILLS,
  clients: CLIENTS,
  requests: history.length,
  acknowledged: acknowledged.length,
  serviceErrors: history.filter((h) => h.outcome === 'service-error').length,
  unknown: unknown.length,
  lost,
  duplicated,
  partial,
  failoverMs: (({ p50, p99 }) => ({ p50, p99 }))(percentiles(failovers)),
};
await Promise.all(nodes.map((node) => node.stop()));
if (db.startsWith('sqlite:')) rmSync(db.slice(7), { force: true });
console.log(JSON.stringify(summary, null, 2));
if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 2) + '\n');
process.exitCode = lost + duplicated + partial > 0 ? 1 : 0;

async function resetMysql(url) {
  const { default: mysql } = await import('mysql2/promise');
  const connection = await mysql.createConnection(url.replace(/^mariadb:/, 'mysql:'));
  await connection.query('DROP TABLE IF EXISTS bills, machines, durable_requests, durable_log, durable_meta, durable_configuration');
  await connection.end();
}

async function resetPostgres(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('DROP TABLE IF EXISTS bills, machines, durable_requests, durable_log, durable_meta, durable_configuration');
  await client.end();
}

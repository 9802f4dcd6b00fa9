// The peer for `npm run bench:peer`: the Counter written with DBOS Transact, a durable workflow per
// `add` whose one step increments the row in PostgreSQL, served over the same HTTP JSON RPC shape
// (POST /rpc/add with {"id"} as the workflow id, so a retry is answered once, as ours are).
import http from 'node:http';
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';

const url = process.env.DBOS_DATABASE_URL;
const pool = new pg.Pool({ connectionString: url, max: 8 });
await pool.query('CREATE TABLE IF NOT EXISTS dbos_counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)');
await pool.query('INSERT INTO dbos_counter (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING');

async function increment() {
  const { rows } = await pool.query('UPDATE dbos_counter SET value = value + 1 WHERE id = 1 RETURNING value');
  return rows[0].value;
}
const add = DBOS.registerWorkflow(async () => DBOS.runStep(increment, { name: 'increment' }), { name: 'add' });

DBOS.setConfig({ name: 'counter-peer', systemDatabaseUrl: process.env.DBOS_SYSTEM_DATABASE_URL ?? url });
DBOS.logger?.info?.('launching');
await DBOS.launch();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const { id } = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      const handle = await DBOS.startWorkflow(add, { workflowID: id })();
      const result = await handle.getResult();
      const body = JSON.stringify({ result });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } catch (error) {
      res.writeHead(500);
      res.end(JSON.stringify({ error: { message: String(error) } }));
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stderr.write(JSON.stringify({ event: 'node.started', http: `http://127.0.0.1:${server.address().port}` }) + '\n'));
process.on('SIGTERM', async () => {
  server.close();
  await DBOS.shutdown();
  await pool.end();
  process.exit(0);
});

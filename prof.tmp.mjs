import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
const [buildDir, conns] = process.argv.slice(2);
const env = { ...process.env, DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
spawnSync('rm', ['-rf', '/tmp/run2.db', '/tmp/run2.db-wal', '/tmp/run2.db-shm', '/tmp/prof-p', '/tmp/prof-b']);
function start(role, dir, args) {
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, 'bin/durable.js', 'serve', buildDir, '--role', role, '--http', '127.0.0.1:0', '--repl', '127.0.0.1:0', '--db', 'sqlite:/tmp/run2.db', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const waitFor = (s) => new Promise((resolve) => { const check = () => { const line = log.split('\n').find((l) => l.includes(s)); if (line) resolve(JSON.parse(line)); }; child.stderr.on('data', (c) => { log += c; check(); }); check(); });
  return { child, waitFor };
}
const backup = start('backup', '/tmp/prof-b', []);
const b = await backup.waitFor('node.started');
const primary = start('primary', '/tmp/prof-p', ['--backups', b.repl]);
const p = await primary.waitFor('node.started');
await primary.waitFor('replication.backup.joined');
const r = spawnSync('wrk', ['-t1', `-c${conns}`, '-d4s', '--latency', '-s', '/tmp/post.lua', `${p.http}/rpc/add`], { encoding: 'utf8' });
console.log(r.stdout.split('\n').filter(l => /Requests\/sec|50%/.test(l)).map((l) => l.trim()).join('  '));
for (const n of [primary, backup]) { n.child.kill('SIGINT'); await new Promise((r) => n.child.once('exit', r)); }

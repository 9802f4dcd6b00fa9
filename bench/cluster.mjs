// Starts a primary and a backup of a compiled build as processes on loopback, for the benchmarks.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'durable.js');

export async function startCluster(build, extra = []) {
  const env = { ...process.env, DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
  const nodes = [];
  const start = (args) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'serve', build, '--http', '127.0.0.1:0', '--repl', '127.0.0.1:0', ...extra, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const node = { child, events: [], http: '', repl: '' };
      nodes.push(node);
      let buffered = '';
      child.stderr.on('data', (chunk) => {
        buffered += chunk;
        let i;
        while ((i = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, i);
          buffered = buffered.slice(i + 1);
          try {
            const event = { ...JSON.parse(line), seenAt: Date.now() };
            node.events.push(event);
            if (event.event === 'node.started') {
              node.http = event.http;
              node.repl = event.repl;
              resolve(node);
            }
          } catch {}
        }
      });
      child.once('exit', (code) => reject(new Error(`node exited (${code})`)));
    });
  const backup = await start(['--role', 'backup']);
  const primary = await start(['--role', 'primary', '--backups', backup.repl]);
  while (!primary.events.some((e) => e.event === 'replication.backup.joined')) await new Promise((r) => setTimeout(r, 20));
  const stop = () => Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null || n.child.signalCode !== null ? r() : (n.child.once('exit', r), n.child.kill('SIGKILL'))))));
  return { primary, backup, stop };
}

/** A keep-alive JSON RPC caller for one client. */
export function caller(url) {
  return async (method, args, id) => {
    const response = await fetch(`${url}/rpc/${method}`, { method: 'POST', body: JSON.stringify({ args, id }) });
    const body = await response.json();
    if (response.status !== 200) throw Object.assign(new Error(`${method}: ${response.status} ${JSON.stringify(body)}`), { status: response.status });
    return body.result;
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

// Starts a primary and a backup of a compiled build as processes on loopback, for the benchmarks.
import { randomBytes } from 'node:crypto';
import { spawnNode } from '../dist/proxies/serving/spawn.js';

export async function startCluster(build, extra = []) {
  const env = { DURABLE_CLUSTER_KEY: randomBytes(24).toString('hex') };
  const backup = await spawnNode(build, 'backup', extra, env);
  const primary = await spawnNode(build, 'primary', ['--backups', backup.repl, ...extra], env);
  await primary.waitFor('replication.backup.joined');
  const stop = () => Promise.all([primary, backup].map((n) => n.stop('SIGKILL')));
  return { primary, backup, stop, env };
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

// Real `durable serve` processes for the serving tests: started from a compiled build on loopback with
// ports the OS picks (read back from each node's "node.started" log line), and killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin', 'durable.js');

export interface Node {
  process: ChildProcess;
  http: string;
  repl: string;
  log: string[];
  /** Resolves with the first log line whose event is `event`. */
  waitFor(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(): void;
}

export async function startNode(build: string, role: 'primary' | 'backup', extra: string[] = [], env: Record<string, string> = {}): Promise<Node> {
  const child = spawn(process.execPath, [bin, 'serve', build, '--role', role, '--http', '127.0.0.1:0', '--repl', '127.0.0.1:0', ...extra], {
    cwd: root,
    env: { ...process.env, DURABLE_CLUSTER_KEY: 'serving-tests-cluster-key-0123456789', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const waiters: { event: string; resolve: (f: Record<string, unknown>) => void }[] = [];
  let buffered = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      log.push(line);
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(line);
      } catch {
        continue;
      }
      for (const w of waiters.filter((w) => w.event === fields.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(fields);
      }
    }
  });
  const waitFor = (event: string, timeoutMs = 15_000) => {
    const seen = log.map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((f) => f.event === event);
    if (seen) return Promise.resolve(seen as Record<string, unknown>);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${event}' from the ${role} within ${timeoutMs} ms; its log:\n${log.join('\n')}`)), timeoutMs);
      waiters.push({ event, resolve: (f) => { clearTimeout(timer); resolve(f); } });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the ${role} exited (${code}) before '${event}'; its log:\n${log.join('\n')}`)); });
    });
  };
  const started = await waitFor('node.started');
  return {
    process: child,
    http: String(started.http),
    repl: String(started.repl),
    log,
    waitFor,
    kill: () => child.kill('SIGKILL'),
  };
}

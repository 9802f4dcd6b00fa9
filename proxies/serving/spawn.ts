// `durable serve` as a child process, for the tools that run clusters (compare, the benchmarks, the
// chaos harness, the serving tests): started on loopback with ports the OS picks, read back from the
// node's `node.started` log line; every JSON log line kept as an event.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SELF } from '../../compiler/package-root.js';

interface NodeEvent {
  event: string;
  /** When this process read the line (ms since the epoch). */
  seenAt: number;
  [field: string]: unknown;
}

export interface SpawnedNode {
  child: ChildProcess;
  role: 'primary' | 'backup';
  http: string;
  repl: string;
  events: NodeEvent[];
  /** Every stderr line, JSON or not (for failure messages). */
  log: string[];
  alive(): boolean;
  /** Resolves with the first event that satisfies `match` (an event name or a predicate). */
  waitFor(match: string | ((e: NodeEvent) => boolean), timeoutMs?: number): Promise<NodeEvent>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM (or `signal`), resolved once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Where the `durable` command is and where it runs: this installation's, in this process's directory, by default. */
export interface SpawnPlace {
  bin?: string;
  cwd?: string;
}

export function spawnNode(build: string, role: 'primary' | 'backup', args: string[] = [], env: Record<string, string | undefined> = {}, place: SpawnPlace = {}): Promise<SpawnedNode> {
  const bin = place.bin ?? path.join(SELF.root, 'bin', 'durable.js');
  const child = spawn(process.execPath, [bin, 'serve', build, '--role', role, '--http', '127.0.0.1:0', '--repl', '127.0.0.1:0', ...args], {
    cwd: place.cwd,
    env: { ...process.env, ...env },
    // The IPC channel carries nothing: it closes when this process ends, and the node then dies too.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.channel?.unref();
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const node: SpawnedNode = {
    child,
    role,
    http: '',
    repl: '',
    events: [],
    log: [],
    alive: () => !exited(),
    waitFor: (match, timeoutMs = 15_000) => {
      const test = typeof match === 'string' ? (e: NodeEvent) => e.event === match : match;
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = () => {
          const found = node.events.find(test);
          if (found) return resolve(found);
          if (exited()) return reject(new Error(`the ${role} exited (${child.exitCode ?? child.signalCode}) before ${String(match)}; its log:\n${node.log.join('\n')}`));
          if (Date.now() > deadline) return reject(new Error(`no ${String(match)} from the ${role} within ${timeoutMs} ms; its log:\n${node.log.join('\n')}`));
          setTimeout(poll, 10);
        };
        poll();
      });
    },
    kill: (signal = 'SIGKILL') => {
      if (!exited()) child.kill(signal);
    },
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (exited()) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
  let buffered = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      node.log.push(line);
      try {
        node.events.push({ ...(JSON.parse(line) as { event: string }), seenAt: Date.now() });
      } catch {
        // not a log line of ours (a warning from Node, say)
      }
    }
  });
  return node.waitFor('node.started').then((started) => {
    node.http = String(started.http);
    node.repl = String(started.repl);
    return node;
  });
}

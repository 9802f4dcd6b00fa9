// Real etcd servers for the configuration-authority tests: a cluster of one or three members on
// loopback, on free ports, in a scratch directory; killed with SIGKILL like any other process. The
// binary comes from Debian's etcd-server (.ci/run installs it). Under CI=true a missing binary fails the
// test; elsewhere a developer may opt out with DURABLE_SKIP_DATABASES=etcd.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ETCD_BINARY = process.env.DURABLE_TEST_ETCD ?? 'etcd';

/** Why etcd is not tested in this run, or undefined when it must be. Never skipped under CI. */
export function etcdOptedOut(): string | undefined {
  if (process.env.CI === 'true') return undefined;
  const skipped = (process.env.DURABLE_SKIP_DATABASES ?? '').split(',').map((s) => s.trim());
  return skipped.includes('etcd') ? 'DURABLE_SKIP_DATABASES names etcd' : undefined;
}

export interface EtcdCluster {
  /** etcd://host:port,… for --coordinator. */
  url: string;
  members: { name: string; client: string; child: ChildProcess }[];
  kill(name: string): void;
  stop(): void;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startEtcd(size: 1 | 3): Promise<EtcdCluster> {
  if (spawnSync(ETCD_BINARY, ['--version']).status !== 0) {
    throw new Error(
      `etcd is not installed (${ETCD_BINARY}). Install Debian's etcd-server (apt-get install etcd-server), point DURABLE_TEST_ETCD at a binary, or (outside CI only) set DURABLE_SKIP_DATABASES=etcd.`,
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-etcd-'));
  const specs = [];
  for (let i = 0; i < size; i++) specs.push({ name: `e${i}`, client: await freePort(), peer: await freePort() });
  const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const members = specs.map((s) => {
    const child = spawn(
      ETCD_BINARY,
      [
        '--name',
        s.name,
        '--data-dir',
        path.join(dir, s.name),
        '--listen-client-urls',
        `http://127.0.0.1:${s.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${s.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${s.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${s.peer}`,
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' } },
    );
    child.stderr!.resume();
    return { name: s.name, client: `127.0.0.1:${s.client}`, child };
  });
  // A test process that ends without stopping the cluster (a failure before its afterAll) takes it along.
  const killAll = () => {
    for (const m of members) m.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const cluster: EtcdCluster = {
    url: `etcd://${members.map((m) => m.client).join(',')}`,
    members,
    kill: (name) => members.find((m) => m.name === name)?.child.kill('SIGKILL'),
    stop: () => {
      killAll();
      process.off('exit', killAll);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Ready once every member answers its health endpoint with a leader elected.
  const deadline = Date.now() + 20_000;
  for (const m of members) {
    for (;;) {
      const healthy = await fetch(`http://${m.client}/health`).then(
        (r) => r.json() as Promise<{ health?: string }>,
        () => undefined,
      );
      if (healthy?.health === 'true') break;
      if (Date.now() > deadline) {
        cluster.stop();
        throw new Error(`etcd member ${m.name} did not become healthy within 20 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return cluster;
}

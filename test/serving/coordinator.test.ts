// The configuration authority (docs/SERVING.md, "With a configuration authority"): real processes of
// the Counter with replicated state only, a real authority (a fresh PostgreSQL database, a MariaDB
// database, an SQLite file, an etcd started by the test), the primary killed with SIGKILL, a backup
// stalled with SIGSTOP, a primary paused past the timeout. With an authority a backup may take over on
// silence too, since only a member of the latest configuration can, and a primary removes a backup there
// before it acknowledges anything without it.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { createClient } from '../../proxies/serving/client.js';
import { optedOut, scratchDatabaseUrl } from '../support/databases.js';
import { etcdOptedOut, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const nodes: Node[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.kill();
  for (const c of cleanups.splice(0)) await c();
});

let dir: string;
beforeAll(async () => {
  dir = path.join(root, '.tmp', 'serving', 'coordinator-pb');
  const result = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/pb.xml'), dir, 'test');
  expect(result.diagnostics).toEqual([]);
});

async function scratch(dialect: 'postgres' | 'mysql' | 'sqlite'): Promise<string> {
  const { url, dispose } = await scratchDatabaseUrl(dialect);
  cleanups.push(dispose);
  return url;
}

/** A fresh, empty authority of each kind; disposed after the test. */
const authorities: Record<string, () => Promise<string>> = {
  postgres: () => scratch('postgres'),
  mysql: () => scratch('mysql'),
  sqlite: () => scratch('sqlite'),
  etcd: async () => {
    const cluster = await startEtcd(1);
    cleanups.push(() => cluster.stop());
    return cluster.url;
  },
};

async function health(node: Node): Promise<{ role: string; ready: boolean; takeover?: { automatic: boolean; reason?: string } }> {
  return (await (await fetch(`${node.http}/health`)).json()) as never;
}

/** A primary and one backup on `coordinator`, default timings unless given; four clients adding. */
async function cluster(coordinator: string, timing: string[] = []) {
  const backup = await startNode(dir, 'backup', ['--coordinator', coordinator, ...timing]);
  nodes.push(backup);
  const primary = await startNode(dir, 'primary', ['--backups', backup.repl, '--coordinator', coordinator, ...timing]);
  nodes.push(primary);
  await primary.waitFor('coordination.member.added');
  const acknowledged: number[] = [];
  let stop = false;
  /** Where the clients send requests (a test adds nodes it starts). */
  const urls = [primary.http, backup.http];
  const load = Array.from({ length: 4 }, async (_, c) => {
    for (let i = 0; !stop; i++) {
      const value = await createClient(urls, { timeoutMs: 4_000 })
        .call<number>('add', [], { id: `a${c}-${i}` })
        .catch(() => undefined);
      if (value !== undefined) acknowledged.push(value);
      else await new Promise((r) => setTimeout(r, 50));
    }
  });
  return { backup, primary, acknowledged, urls, stop: () => ((stop = true), Promise.all(load)) };
}

function unique(values: number[]): void {
  expect(new Set(values).size).toBe(values.length);
}

describe.each(Object.keys(authorities))('with a configuration authority (%s)', (kind) => {
  const skip = kind === 'etcd' ? etcdOptedOut() : kind === 'sqlite' ? undefined : optedOut(kind as 'postgres' | 'mysql');

  it.skipIf(skip !== undefined)('a SIGKILLed primary is taken over within 5 s, with nothing acknowledged lost', async () => {
    const { backup, primary, acknowledged, stop } = await cluster(await authorities[kind]!());
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 5));
    const killedAt = Date.now();
    primary.kill();
    await backup.waitFor('role.changed');
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    const before = acknowledged.length;
    while (acknowledged.length < before + 100) await new Promise((r) => setTimeout(r, 5));
    await stop();
    unique(acknowledged);
    expect(await createClient([backup.http]).call<number>('get')).toBe(Math.max(...acknowledged));
  });

  it.skipIf(skip !== undefined)('a backup stalled past the timeout, then the primary killed: the authority refuses it the takeover', async () => {
    const { backup, primary, acknowledged, stop } = await cluster(await authorities[kind]!());
    while (acknowledged.length < 100) await new Promise((r) => setTimeout(r, 5));
    backup.child.kill('SIGSTOP');
    await primary.waitFor((e) => e.event === 'coordination.member.removed');
    const removedAt = acknowledged.length;
    while (acknowledged.length < removedAt + 50) await new Promise((r) => setTimeout(r, 5)); // acknowledged without it
    primary.kill();
    backup.child.kill('SIGCONT');
    const blocked = await backup.waitFor('failure.takeover.blocked');
    expect(String(blocked.reason)).toMatch(/not a member of the latest configuration/);
    await stop();
    expect((await health(backup)).role).toBe('backup');
    expect(backup.events.some((e) => e.event === 'role.changed')).toBe(false);
  });

  it.skipIf(skip !== undefined)('a primary paused past the timeout is taken over, and fenced when it comes back', async () => {
    const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
    const { backup, primary, acknowledged, stop } = await cluster(await authorities[kind]!(), timing);
    while (acknowledged.length < 50) await new Promise((r) => setTimeout(r, 5));
    primary.child.kill('SIGSTOP');
    await backup.waitFor('role.changed');
    const before = acknowledged.length;
    while (acknowledged.length < before + 50) await new Promise((r) => setTimeout(r, 5));
    primary.child.kill('SIGCONT');
    const stale = await fetch(`${primary.http}/rpc/add`, { method: 'POST', body: JSON.stringify({ args: [], id: 'stale' }) });
    expect(stale.status).toBe(503);
    await stop();
    unique(acknowledged);
    expect(await createClient([backup.http]).call<number>('get')).toBe(Math.max(...acknowledged));
    await primary.waitFor((e) => e.event === 'role.changed' && e.role === 'fenced');
  });
});

describe('a three-member etcd cluster', () => {
  let etcd: EtcdCluster | undefined;
  afterAll(() => etcd?.stop());
  it.skipIf(etcdOptedOut() !== undefined)('keeps the service failing over with one member killed', async () => {
    etcd = await startEtcd(3);
    const { backup, primary, acknowledged, urls, stop } = await cluster(etcd.url);
    while (acknowledged.length < 50) await new Promise((r) => setTimeout(r, 5));
    etcd.kill('e0');
    const third = await startNode(dir, 'backup', ['--join', primary.repl, '--coordinator', etcd.url]);
    nodes.push(third);
    urls.push(third.http);
    await primary.waitFor((e) => e.event === 'coordination.member.added' && Array.isArray(e.members) && e.members.length === 2);
    primary.kill();
    const promoted = await Promise.race(
      [backup, third].map((n) =>
        n.waitFor('role.changed').then(
          () => n,
          () => new Promise<Node>(() => undefined),
        ),
      ),
    );
    const before = acknowledged.length;
    while (acknowledged.length < before + 50) await new Promise((r) => setTimeout(r, 5));
    await stop();
    unique(acknowledged);
    expect(await createClient([promoted.http]).call<number>('get')).toBe(Math.max(...acknowledged));
  });
});

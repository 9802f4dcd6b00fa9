// Real processes on real sockets: a primary and a backup started with `durable serve`, several clients
// sending requests with ids, the primary killed with SIGKILL under load. Every acknowledged add is
// there after the failover, none executed twice (the counter equals the number of distinct
// acknowledged adds, and no two replies are the same), and the backup served within the timeout.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { createClient } from '../../proxies/serving/client.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const nodes: Node[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.kill();
});

async function build(config: string): Promise<string> {
  const out = path.join(root, '.tmp', 'serving', config);
  const result = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, `examples/counter/mappings/${config}.xml`), out, 'test');
  expect(result.diagnostics).toEqual([]);
  return out;
}

describe.each(['pb', 'db'])('the Counter (%s) across a SIGKILL of its primary', (config) => {
  it('loses no acknowledged add and executes none twice', async () => {
    const dir = await build(config);
    const db = config === 'db' ? ['--db', `sqlite:${path.join(dir, `shared-${Date.now()}.db`)}`] : [];
    const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
    const backup = await startNode(dir, 'backup', [...timing, ...db]);
    nodes.push(backup);
    const primary = await startNode(dir, 'primary', ['--backups', backup.repl, ...timing, ...db]);
    nodes.push(primary);
    await primary.waitFor('replication.backup.joined');

    const clients = Array.from({ length: 4 }, () => createClient([primary.http, backup.http], { timeoutMs: 15_000 }));
    const acknowledged: number[] = [];
    let sent = 0;
    const load = clients.map(async (client, c) => {
      for (let i = 0; i < 60; i++) {
        sent++;
        acknowledged.push(await client.call<number>('add', [], { id: `c${c}-r${i}` }));
      }
    });
    while (acknowledged.length < 60) await new Promise((r) => setTimeout(r, 5));
    const killedAt = Date.now();
    primary.kill();
    const promoted = await backup.waitFor('role.changed');
    const failoverMs = Date.now() - killedAt;
    await Promise.all(load);

    expect(sent).toBe(240);
    expect(new Set(acknowledged).size).toBe(acknowledged.length); // each add answered once, distinct values
    const final = await createClient([backup.http]).call<number>('get');
    expect(final).toBe(240);
    expect(Math.max(...acknowledged)).toBe(240);
    expect(await (await fetch(`${backup.http}/metrics`)).json()).toMatchObject({ role: 'primary', promotions: 1 });
    const primaryEpoch = Number((await primary.waitFor('node.started')).epoch);
    expect(promoted.epoch).toBe(primaryEpoch + 1);
    expect(failoverMs).toBeLessThan(3_000);
  });
});

const KEY = 'serving-tests-cluster-key-0123456789';

/** A backup, and a primary started with it as --backups, once the backup has joined. */
async function primaryAndBackup(dir: string, extra: string[] = []): Promise<{ primary: Node; backup: Node }> {
  const backup = await startNode(dir, 'backup', extra);
  nodes.push(backup);
  const primary = await startNode(dir, 'primary', ['--backups', backup.repl, ...extra]);
  nodes.push(primary);
  await primary.waitFor('replication.backup.joined');
  return { primary, backup };
}

async function health(node: Node): Promise<{ role: string; ready: boolean; epoch: number; takeover?: { automatic: boolean; reason?: string; remedy?: string } }> {
  return (await (await fetch(`${node.http}/health`)).json()) as never;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

describe.each([
  ['pb', ['--min-acks', '1']],
  ['db', []],
])('a stale primary brought back (%s)', (config, extra) => {
  it('is not taken over on silence; promoted by hand, the backup fences it: it acknowledges nothing more', async () => {
    const dir = await build(config);
    const db = config === 'db' ? ['--db', `sqlite:${path.join(dir, `stale-${Date.now()}.db`)}`] : [];
    const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
    const backup = await startNode(dir, 'backup', [...timing, ...db]);
    nodes.push(backup);
    const primary = await startNode(dir, 'primary', ['--backups', backup.repl, ...timing, ...db, ...extra]);
    nodes.push(primary);
    await primary.waitFor('replication.backup.joined');
    const client = createClient([primary.http], { timeoutMs: 2_000 });
    expect(await client.call('add', [], { id: 'before' })).toBe(1);

    primary.child.kill('SIGSTOP'); // paused, not dead: it will come back believing it is the primary
    // Silence alone never starts a takeover: the primary may be alive and may have dropped this backup.
    const silent = await until(
      () => health(backup),
      (h) => h.takeover?.automatic === false,
    );
    expect(silent.takeover?.reason).toMatch(/silent for \d+ ms .* never takes over on silence alone/);
    await new Promise((r) => setTimeout(r, 600));
    expect((await health(backup)).role).toBe('backup');

    // The operator, who knows the primary is gone for good (here: paused), promotes the backup by hand.
    const promoted = await fetch(`${backup.http}/admin/promote`, { method: 'POST', headers: { 'x-durable-key': KEY }, body: '{}' });
    expect(promoted.status).toBe(200);
    expect(await createClient([backup.http]).call('add', [], { id: 'after' })).toBe(2);
    primary.child.kill('SIGCONT');

    const stale = await fetch(`${primary.http}/rpc/add`, { method: 'POST', body: JSON.stringify({ args: [], id: 'stale' }) });
    expect(stale.status).toBe(503);
    expect(await createClient([backup.http]).call('get')).toBe(2);
    // It says so on /health too, once it has heard of the new primary (its first contact with it: a
    // refused commit, or taking its backup on again): not ready, not the primary.
    expect(
      await until(
        () => health(primary),
        (h) => h.role === 'backup',
        3_000,
      ),
    ).toMatchObject({ role: 'backup', ready: false });
    // Promoted by hand itself, the replaced primary refuses and says what to do instead.
    const again = await fetch(`${primary.http}/admin/promote`, { method: 'POST', headers: { 'x-durable-key': KEY }, body: '{}' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/was replaced .* restart it as a backup/);
  });
});

describe('default settings (heartbeat 100 ms, timeout 1000 ms, --min-acks 0), replicated state only', () => {
  /** A primary with one joined backup and four clients adding; returns what they were told. */
  async function loaded(clientTimeoutMs = 20_000) {
    const dir = await build('pb');
    const { primary, backup } = await primaryAndBackup(dir);
    const acknowledged: number[] = [];
    let stop = false;
    const load = Array.from({ length: 4 }, async (_, c) => {
      const client = createClient([primary.http, backup.http], { timeoutMs: clientTimeoutMs });
      for (let i = 0; !stop; i++) acknowledged.push(await client.call<number>('add', [], { id: `d${c}-${i}` }).catch(() => -1));
    });
    return { dir, backup, primary, acknowledged, stop: () => ((stop = true), Promise.all(load)) };
  }

  it('a SIGKILLed primary is taken over within 5 s, with nothing acknowledged lost', async () => {
    const { backup, primary, acknowledged, stop } = await loaded();
    while (acknowledged.length < 200) await new Promise((r) => setTimeout(r, 5));
    const killedAt = Date.now();
    primary.kill();
    await backup.waitFor('role.changed');
    const failoverMs = Date.now() - killedAt;
    while (acknowledged.filter((n) => n > 0).length < 400) await new Promise((r) => setTimeout(r, 5));
    await stop();
    const ok = acknowledged.filter((n) => n > 0);
    expect(new Set(ok).size).toBe(ok.length);
    expect(await createClient([backup.http]).call<number>('get')).toBeGreaterThanOrEqual(Math.max(...ok));
    expect(failoverMs).toBeLessThan(5_000);
  });

  it('a SIGKILLed primary: the backup answers well before the 1000 ms timeout (its connection ended, its port refuses)', async () => {
    const { backup, primary, acknowledged, stop } = await loaded();
    while (acknowledged.length < 100) await new Promise((r) => setTimeout(r, 5));
    const killedAt = Date.now();
    primary.kill();
    const client = createClient([backup.http], { timeoutMs: 5_000, retryDelayMs: 5 });
    await client.call<number>('add', [], { id: 'after-the-kill' });
    const firstAnswerMs = Date.now() - killedAt;
    await stop();
    expect(backup.events.find((e) => e.event === 'failure.suspected')).toMatchObject({ reason: 'its connection ended' });
    expect(firstAnswerMs).toBeLessThan(700); // the timeout path alone would take 1000 ms; 40-130 ms here
  });

  it("a SIGKILLed backup holds the primary's commits for a round trip, not the drop timeout", async () => {
    const { backup, primary, acknowledged, stop } = await loaded();
    while (acknowledged.length < 100) await new Promise((r) => setTimeout(r, 5));
    const answeredAt: number[] = [];
    const watch = setInterval(() => answeredAt.push(acknowledged.length), 10);
    backup.kill();
    await primary.waitFor('replication.backup.gone', 5_000);
    await new Promise((r) => setTimeout(r, 700));
    clearInterval(watch);
    await stop();
    // Sampled every 10 ms: the longest run of samples without a new answer.
    let longest = 0;
    for (let i = 1, run = 0; i < answeredAt.length; i++) longest = Math.max(longest, (run = answeredAt[i] === answeredAt[i - 1] ? run + 1 : 0));
    expect(longest * 10).toBeLessThan(600); // waiting out the lease would be about 1000 ms
    expect(primary.events.find((e) => e.event === 'replication.backup.gone')).toMatchObject({ id: expect.any(String) });
  });

  it('an idle primary killed just after its backup joined is taken over: the backup hears at once that it is counted on', async () => {
    const { primary, backup } = await primaryAndBackup(await build('pb'));
    await new Promise((r) => setTimeout(r, 30)); // the snapshot's acknowledgement and its echo: a round trip
    primary.kill();
    await backup.waitFor('role.changed', 5_000);
  });

  it('a backup stalled past the timeout, then the primary killed: no takeover, since acknowledged writes would be lost', async () => {
    const { backup, primary, acknowledged, stop } = await loaded(3_000);
    while (acknowledged.length < 100) await new Promise((r) => setTimeout(r, 5));
    backup.child.kill('SIGSTOP');
    const stalledAt = acknowledged.length;
    await new Promise((r) => setTimeout(r, 2_500)); // the primary drops it after 1 s and goes on alone
    expect(acknowledged.length).toBeGreaterThan(stalledAt); // acknowledged without the backup
    primary.kill();
    backup.child.kill('SIGCONT');
    await stop();
    // It was told it was dropped (queued while it stalled), and its lease would have run out anyway.
    await backup.waitFor((e) => e.event === 'failure.takeover.blocked' && /dropped it|longer than 0.9 of the 1000 ms drop timeout/.test(String(e.reason)));
    await new Promise((r) => setTimeout(r, 1_500));
    const h = await health(backup);
    expect(h.role).toBe('backup');
    expect(h.ready).toBe(false); // it could not take over: not ready, whatever it holds
    expect(h.takeover).toMatchObject({ automatic: false, reason: expect.stringMatching(/will not take over by itself/), remedy: expect.stringMatching(/POST \/admin\/promote/) });
    expect(backup.events.some((e) => e.event === 'role.changed')).toBe(false);
  });
});

describe('membership', () => {
  /** A primary of the Counter (pb) with one backup that has joined it. */
  async function primaryWithBackup() {
    const dir = await build('pb');
    const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '500'];
    const { primary, backup: first } = await primaryAndBackup(dir, timing);
    return { dir, timing, first, primary };
  }

  it('a backup told to --join another backup is sent on to the primary', async () => {
    const { dir, timing, first, primary } = await primaryWithBackup();
    await new Promise((r) => setTimeout(r, 200)); // a heartbeat names the primary to the backup
    const second = await startNode(dir, 'backup', ['--join', first.repl, ...timing]);
    nodes.push(second);
    await second.waitFor('replication.join.redirected');
    await second.waitFor(followsEpoch(1));
    await primary.waitFor(() => primary.events.filter((e) => e.event === 'replication.backup.joined').length === 2);
  });

  it('a backup told to --join a list asks the next address when the first is gone', async () => {
    const { dir, timing, first, primary } = await primaryWithBackup();
    first.kill(); // its address now refuses
    await primary.waitFor('replication.backup.dropped');
    const second = await startNode(dir, 'backup', ['--join', `${first.repl},${primary.repl}`, ...timing]);
    nodes.push(second);
    await second.waitFor(followsEpoch(1));
    await primary.waitFor((e) => e.event === 'replication.backup.joined' && e.backup === second.repl);
  });

  it('a new backup joins under load, then the first backup takes over and the new one follows it', async () => {
    const { dir, timing, first, primary } = await primaryWithBackup();

    const client = createClient([primary.http, first.http], { timeoutMs: 15_000 });
    const acknowledged: number[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop || i < 40; i++) acknowledged.push(await client.call<number>('add', [], { id: `m${i}` }));
    })();
    const second = await startNode(dir, 'backup', ['--join', primary.repl, ...timing]);
    nodes.push(second);
    await second.waitFor('replication.primary.connected');
    const atJoin = acknowledged.length;
    while (acknowledged.length < atJoin + 40) await new Promise((r) => setTimeout(r, 5));

    primary.kill();
    await first.waitFor('role.changed');
    await second.waitFor(followsEpoch(2));
    stop = true;
    await load;
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    expect(await createClient([first.http]).call('get')).toBe(acknowledged.length);

    // The old primary, restarted as primary, refuses: a backup of its own took over.
    const restarted = startNode(dir, 'primary', ['--backups', first.repl, ...timing]);
    await expect(restarted).rejects.toThrow(/is already the primary .* Start this node as a backup instead/);

    // The second backup now follows the first: it survives the loss of the first as well.
    await new Promise((r) => setTimeout(r, 300));
    first.kill();
    await second.waitFor('role.changed');
    expect(await createClient([second.http]).call('get')).toBe(acknowledged.length);
  });
});

describe('operator mistakes and blips', () => {
  it('refuses to start a primary over a backup that still holds the state', async () => {
    const dir = await build('pb');
    const backup = await startNode(dir, 'backup', ['--heartbeat-timeout', '5000']);
    nodes.push(backup);
    const primary = await startNode(dir, 'primary', ['--backups', backup.repl, '--heartbeat-timeout', '5000']);
    nodes.push(primary);
    await primary.waitFor('replication.backup.joined');
    for (let i = 0; i < 3; i++) await createClient([primary.http]).call('add', [], { id: `h${i}` });
    primary.kill();
    // Restarted at once: it would start empty and erase the backup (or the backup has already taken over).
    await expect(startNode(dir, 'primary', ['--backups', backup.repl])).rejects.toThrow(/holds the state of a primary \(up to record 3|is already the primary/);
    await createClient([backup.http])
      .call('get')
      .catch(() => undefined);
  });

  it('promotes one backup only, however the addresses are spelled', async () => {
    const dir = await build('pb');
    const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
    const spelled = (node: Node) => node.repl.replace('127.0.0.1', 'localhost');
    const a = await startNode(dir, 'backup', timing);
    const b = await startNode(dir, 'backup', timing);
    nodes.push(a, b);
    const primary = await startNode(dir, 'primary', ['--backups', `${spelled(a)},${spelled(b)}`, ...timing]);
    nodes.push(primary);
    while (primary.log.filter((l) => l.includes('replication.backup.joined')).length < 2) await new Promise((r) => setTimeout(r, 20));
    await createClient([primary.http]).call('add');
    await new Promise((r) => setTimeout(r, 200)); // heartbeats carry the succession
    primary.kill();
    // The backup that joined first takes over (the primary connects to both at once: either may be it).
    const promoted = await Promise.race(
      [a, b].map((n) =>
        n.waitFor('role.changed').then(
          () => n,
          () => undefined,
        ),
      ),
    );
    expect(promoted).toBeDefined();
    const other = promoted === a ? b : a;
    await other.waitFor(followsEpoch(2));
    expect(other.log.some((l) => l.includes('"event":"role.changed"'))).toBe(false);
  });

  it('with --min-acks 1, refuses writes while the backup is gone and resumes once it rejoins', async () => {
    const dir = await build('pb');
    const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '300'];
    const backup = await startNode(dir, 'backup', timing);
    nodes.push(backup);
    const primary = await startNode(dir, 'primary', ['--backups', backup.repl, '--min-acks', '1', ...timing]);
    nodes.push(primary);
    await primary.waitFor('replication.backup.joined');
    const client = createClient([primary.http], { timeoutMs: 1_000 });
    expect(await client.call('add', [], { id: 'k1' })).toBe(1);
    backup.kill();
    await new Promise((r) => setTimeout(r, 500));
    const refused = await fetch(`${primary.http}/rpc/add`, { method: 'POST', body: JSON.stringify({ args: [], id: 'k2' }) });
    expect(refused.status).toBe(503);
    const again = await startNode(dir, 'backup', ['--join', primary.repl, ...timing]);
    nodes.push(again);
    await again.waitFor('replication.primary.connected');
    await new Promise((r) => setTimeout(r, 200));
    expect(await createClient([primary.http]).call('add', [], { id: 'k2' })).toBe(2);
  });
});

/** The backup follows a primary of this epoch: it joined it, or the new primary took it on directly. */
function followsEpoch(epoch: number) {
  return (e: { event: string; epoch?: unknown }) => e.event === 'replication.primary.connected' && e.epoch === epoch;
}

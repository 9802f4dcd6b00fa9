// The serving contract (docs/SERVING.md) over a real `durable serve` process: status codes and error bodies,
// transactions over HTTP, /health and /metrics, a forced promotion with the cluster key, and a graceful
// stop on SIGTERM.
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
let primary: Node;
let backup: Node;

const post = async (node: Node, url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(node.http + url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

beforeAll(async () => {
  const out = path.join(root, '.tmp', 'serving', 'matchmaker-pb');
  const result = await compileService(path.join(root, 'examples/matchmaker/service.ts'), path.join(root, 'examples/matchmaker/mappings/pb.xml'), out, 'test');
  expect(result.diagnostics).toEqual([]);
  backup = await startNode(out, 'backup', ['--heartbeat-timeout', '60000']);
  primary = await startNode(out, 'primary', ['--backups', backup.repl, '--heartbeat-timeout', '60000']);
  await primary.waitFor('replication.backup.joined');
});

afterAll(() => {
  primary?.kill();
  backup?.kill();
});

describe('the serving contract', () => {
  it('answers results, service errors, and malformed requests with their codes', async () => {
    expect(await post(primary, '/rpc/machineAdvertise', { args: [{ id: 'm1', cpu: 4, memoryMb: 8192, diskGb: 100 }], id: 'a1' })).toEqual({ status: 200, body: { result: 1 } });
    const noMachine = await post(primary, '/rpc/jobSubmit', { args: ['alice', { cpu: 64, memoryMb: 1, diskGb: 1 }], id: 'j0' });
    expect(noMachine).toMatchObject({ status: 422, body: { error: { code: 'SERVICE_ERROR', message: expect.stringContaining('no machine with 64 cores') } } });
    expect((await post(primary, '/rpc/jobSubmit', '{"args": [')).status).toBe(400);
    expect(await post(primary, '/rpc/jobSubmit', { args: 'alice' })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('"args" must be an array') } } });
    expect(await post(primary, '/rpc/noSuchMethod', { args: [] })).toMatchObject({ status: 400, body: { error: { code: 'UNKNOWN_METHOD' } } });
    expect((await post(primary, '/rpc/jobSubmit', { args: [], id: 'x'.repeat(2 * 1024 * 1024) })).status).toBe(413);
    expect((await post(primary, '/nowhere', {})).status).toBe(404);
  });

  it('answers odd request targets with 400 and stays up', async () => {
    const raw = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(primary.http).port), '127.0.0.1', () => socket.write('GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 (400|404|405) /); // an answer, not a crash
    expect((await post(primary, '/tx/%E0%A4%A/commit', {})).status).toBe(400);
    expect((await fetch(`${primary.http}/health`)).status).toBe(200);
  });

  it('sends requests on a backup to the primary: 503 NOT_PRIMARY naming it', async () => {
    expect(await post(backup, '/rpc/balance', { args: ['alice'] })).toMatchObject({ status: 503, body: { error: { code: 'NOT_PRIMARY', primary: primary.http } } });
    const health = await (await fetch(`${backup.http}/health`)).json();
    expect(health).toEqual({ role: 'backup', epoch: 1, ready: true, primary: primary.http, takeover: { automatic: true } });
  });

  it('runs transactions over several requests: abort undoes, commit keeps', async () => {
    await post(primary, '/rpc/machineAdvertise', { args: [{ id: 'm2', cpu: 2, memoryMb: 4096, diskGb: 50 }] });
    const { body: begun } = await post(primary, '/tx', {});
    // 144 random bits, base64url: knowing one id tells nothing of another.
    const { body: another } = await post(primary, '/tx', {});
    for (const id of [begun.tx, another.tx]) expect(id).toMatch(/^tx-[A-Za-z0-9_-]{24}$/);
    expect(another.tx).not.toBe(begun.tx);
    await post(primary, `/tx/${another.tx}/abort`, {});
    expect(await post(primary, '/rpc/jobSubmit', { args: ['bob', { cpu: 1, memoryMb: 1, diskGb: 1 }], tx: begun.tx })).toMatchObject({ status: 200 });
    expect(await post(primary, '/rpc/balance', { args: ['bob'] })).toMatchObject({ status: 409, body: { error: { code: 'TX_CONFLICT' } } });
    expect(await post(primary, `/tx/${begun.tx}/abort`, {})).toMatchObject({ status: 200 });
    expect(await post(primary, '/rpc/balance', { args: ['bob'] })).toEqual({ status: 200, body: { result: 0 } });
    expect(await post(primary, '/rpc/balance', { args: ['bob'], tx: begun.tx })).toMatchObject({ status: 409, body: { error: { code: 'TX_ABORTED' } } });

    const { body: second } = await post(primary, '/tx', {});
    await post(primary, '/rpc/jobSubmit', { args: ['bob', { cpu: 1, memoryMb: 1, diskGb: 1 }], tx: second.tx });
    expect(await post(primary, `/tx/${second.tx}/commit`, {})).toMatchObject({ status: 200 });
    // A retried commit (its answer lost on the way) gets the same answer, not TX_ABORTED.
    expect(await post(primary, `/tx/${second.tx}/commit`, {})).toEqual({ status: 200, body: { result: { committed: second.tx } } });
    expect((await post(primary, '/rpc/balance', { args: ['bob'] })).body.result).toBeGreaterThan(0);
  });

  it('counts requests and latencies in /metrics', async () => {
    const metrics = (await (await fetch(`${primary.http}/metrics`)).json()) as { commits: { actions: number; groups: number } };
    expect(metrics).toMatchObject({
      role: 'primary',
      liveBackups: [backup.repl],
      ok: expect.any(Number),
      latencyMs: { p50: expect.any(Number), p99: expect.any(Number) },
      commits: { groups: expect.any(Number), replicationMs: { p50: expect.any(Number), p99: expect.any(Number) } },
    });
    expect(metrics.commits.actions).toBeGreaterThanOrEqual(metrics.commits.groups);
    expect((metrics as unknown as { methods: Record<string, Record<string, { count: number }>> }).methods.machineAdvertise!.ok!.count).toBeGreaterThan(0);
  });

  it('answers /metrics in the Prometheus text format to a client that asks for it', async () => {
    const answer = await fetch(`${primary.http}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } });
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await answer.text();
    // Every line a comment or a sample `name{labels} value`, every sample's name declared by a TYPE line.
    const declared = new Map([...text.matchAll(/^# TYPE (\S+) (counter|gauge|summary|histogram)$/gm)].map((m) => [m[1], m[2]]));
    for (const line of text.trimEnd().split('\n')) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+-]+)$/.exec(line);
      expect(sample, line).not.toBeNull();
      const family = sample![1]!.replace(/_(count|sum|bucket)$/, '');
      expect(declared.has(family) || declared.has(sample![1]!), line).toBe(true);
    }
    const value = (sample: string) => Number(new RegExp(`^${sample.replace(/[{}"=.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('durable_primary')).toBe(1);
    expect(value('durable_live_backups')).toBe(1);
    expect(value('durable_requests_total')).toBeGreaterThan(0);
    expect(value('durable_request_outcomes_total{outcome="ok"}')).toBeGreaterThan(0);
    expect(value('durable_commit_groups_total')).toBeGreaterThan(0);
    expect(value('durable_request_latency_seconds{quantile="0.5"}')).toBeGreaterThan(0);
    // A histogram per method and outcome: cumulative buckets ending in +Inf = _count.
    const advertised = 'method="machineAdvertise",outcome="ok"';
    const buckets = [...text.matchAll(new RegExp(`^durable_request_duration_seconds_bucket\\{${advertised},le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [m[1], Number(m[2])] as const);
    expect(buckets.at(-1)![0]).toBe('+Inf');
    expect(buckets.map(([, n]) => n)).toEqual([...buckets.map(([, n]) => n)].sort((a, b) => a - b));
    expect(buckets.at(-1)![1]).toBe(value(`durable_request_duration_seconds_count{${advertised}}`));
    expect(value(`durable_request_duration_seconds_count{${advertised}}`)).toBeGreaterThan(0);
    expect(value('durable_request_duration_seconds_count{method="jobSubmit",outcome="service_error"}')).toBeGreaterThan(0);
    expect(value(`durable_replication_lag_records{backup="${backup.repl}"}`)).toBe(0);
    expect(value('durable_promotions_total')).toBe(0);
    // JSON stays the answer to anyone else.
    expect((await fetch(`${primary.http}/metrics`)).headers.get('content-type')).toBe('application/json');
  });

  it("offers the service's own typed client, which finds the primary from any node", async () => {
    const build = await import(pathToFileURL(path.join(root, '.tmp', 'serving', 'matchmaker-pb', 'primary', 'service.mjs')).href);
    const client = build.createClient([backup.http, primary.http]);
    expect(await client.machineAdvertise({ id: 'm9', cpu: 16, memoryMb: 65536, diskGb: 500 })).toBeGreaterThan(0);
    expect(await client.jobSubmit('carol', { cpu: 16, memoryMb: 1, diskGb: 1 })).toEqual({ id: 'm9', cpu: 16, memoryMb: 65536, diskGb: 500 });
    expect(await client.balance('carol')).toBe(16);
  });

  it('answers GET /watch at once on a serving primary, and on a backup after waitMs with what it is', async () => {
    const watch = async (node: Node, query: string) => {
      const started = Date.now();
      const response = await fetch(`${node.http}/watch${query}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown>, ms: Date.now() - started };
    };
    const onPrimary = await watch(primary, '?waitMs=5000');
    expect(onPrimary).toMatchObject({ status: 200, body: { role: 'primary', epoch: 1, ready: true, primary: primary.http } });
    expect(onPrimary.ms).toBeLessThan(1_000);
    const onBackup = await watch(backup, '?waitMs=300');
    expect(onBackup).toMatchObject({ status: 200, body: { role: 'backup', primary: primary.http } });
    expect(onBackup.ms).toBeGreaterThanOrEqual(250);
    expect((await watch(backup, '?waitMs=soon')).status).toBe(400);
  });

  it('promotes a backup on POST /admin/promote with the cluster key only; a watch on it answers then', async () => {
    expect((await post(backup, '/admin/promote', {})).status).toBe(401);
    const watching = fetch(`${backup.http}/watch?waitMs=30000`).then(async (r) => ({ at: Date.now(), body: await r.json() }));
    await new Promise((r) => setTimeout(r, 100));
    const promoted = await post(backup, '/admin/promote', {}, { 'x-durable-key': 'serving-tests-cluster-key-0123456789' });
    const promotedAt = Date.now();
    expect(promoted).toEqual({ status: 200, body: { role: 'primary', epoch: 2 } });
    const watched = await watching;
    expect(watched.body).toMatchObject({ role: 'primary', epoch: 2, ready: true });
    expect(watched.at - promotedAt).toBeLessThan(1_000); // not the 30 s it asked to wait
    expect((await post(backup, '/rpc/balance', { args: ['bob'] })).body.result).toBeGreaterThan(0);
  });

  it('stops gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => primary.child.once('exit', (code) => resolve(code)));
    primary.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(primary.log.some((l) => l.includes('"event":"node.stopped"'))).toBe(true);
  });
});

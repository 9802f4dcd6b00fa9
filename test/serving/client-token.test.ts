// The client token over a real `durable serve` process (issue 15, docs/SECURITY.md): /rpc, /tx… and
// /metrics answer 401 without `Authorization: Bearer <token>`, /health stays open, the generated client
// sends the token, a fuzzed Authorization header is let in only when it is the token, and a node on a
// non-loopback address refuses to start without one.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { createClient, RemoteServiceError } from '../../proxies/serving/client.js';
import { startNode, type Node } from './processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const out = path.join(root, '.tmp', 'serving', 'client-token');
const TOKEN = 'client-token-for-the-tests-0123456789abcdef';
let node: Node;

beforeAll(async () => {
  const result = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/pb.xml'), out, 'test');
  expect(result.diagnostics).toEqual([]);
  node = await startNode(out, 'primary', [], { DURABLE_CLIENT_TOKEN: TOKEN });
});

afterAll(() => node?.kill());

const ask = (method: string, url: string, authorization?: string, headers: Record<string, string> = {}) =>
  fetch(node.http + url, { method, headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) }, body: method === 'POST' ? '{"args": []}' : undefined });

const PATHS: [string, string][] = [
  ['POST', '/rpc/add'],
  ['POST', '/rpc/get'],
  ['POST', '/tx'],
  ['POST', '/tx/tx-anything/commit'],
  ['POST', '/tx/tx-anything/abort'],
  ['GET', '/metrics'],
  ['GET', '/nowhere'],
];

describe('a node with a client token', () => {
  it.each(PATHS)('answers %s %s with 401 UNAUTHORIZED without the token, or with a wrong one', async (method, url) => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN]) {
      const answer = await ask(method, url, authorization);
      expect(answer.status, String(authorization)).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await answer.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    const text = await ask(method, url, undefined, { accept: 'text/plain' });
    expect(text.status).toBe(401);
  });

  it('reads a path the way the router does: a target that only normalises to /health is not let in', async () => {
    for (const target of ['/rpc/..\\health', '/rpc/%2e%2e/health', '/health/../rpc/get', '/admin/promote/../../rpc/get']) {
      const status = await new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(node.http);
        const request = http.request({ host: hostname, port, path: target, method: 'POST' }, (response) => {
          response.resume();
          resolve(response.statusCode!);
        });
        request.on('error', reject);
        request.end('{"args": []}');
      });
      expect(status, target).toBe(401);
    }
  });

  it('lets the token in on every path, and leaves /health open', async () => {
    expect((await ask('GET', '/health')).status).toBe(200);
    const bearer = `Bearer ${TOKEN}`;
    expect(await (await ask('POST', '/rpc/add', bearer)).json()).toEqual({ result: 1 });
    expect(await (await ask('POST', '/rpc/get', `bearer  ${TOKEN}`)).json()).toEqual({ result: 1 }); // the scheme is case-insensitive
    const { tx } = (await (await ask('POST', '/tx', bearer)).json()) as { tx: string };
    expect((await ask('POST', `/tx/${tx}/abort`, bearer)).status).toBe(200);
    expect((await ask('GET', '/metrics', bearer)).status).toBe(200);
    expect((await ask('GET', '/metrics', bearer, { accept: 'text/plain' })).status).toBe(200);
    expect((await ask('GET', '/nowhere', bearer)).status).toBe(404);
  });

  it('lets a fuzzed Authorization header in only when it is the token', async () => {
    const header = fc.oneof(
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(...TOKEN), maxLength: TOKEN.length + 2 }).map((t) => `Bearer ${t}`),
      fc.constantFrom(`Bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer ${TOKEN} `, ` Bearer ${TOKEN}`, `Bearer\t${TOKEN}`, `Bearer ${TOKEN}${TOKEN}`, 'Bearer', 'Bearer '),
    );
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        const answer = await ask('POST', '/rpc/get', authorization);
        // fetch trims the header's outer whitespace, as a server would read it.
        const meant = /^Bearer +(\S+)$/i.exec(authorization.trim())?.[1] === TOKEN;
        expect(answer.status, JSON.stringify(authorization)).toBe(meant ? 200 : 401);
      }),
      { numRuns: 150, seed: 15 },
    );
  });

  it('is called through the generated client with the token, and refuses it at once without', async () => {
    const build = await import(path.join(out, 'primary', 'service.mjs'));
    const withToken = build.createClient([node.http], { token: TOKEN });
    expect(await withToken.get()).toBeGreaterThanOrEqual(1);
    const started = Date.now();
    await expect(createClient([node.http], { timeoutMs: 5_000 }).call('get')).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    await expect(createClient([node.http]).call('get')).rejects.toBeInstanceOf(RemoteServiceError);
    expect(Date.now() - started).toBeLessThan(2_000); // not retried as if the node were down
  });
});

describe('starting without a client token', () => {
  const serve = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(root, 'bin', 'durable.js'), 'serve', out, '--role', 'primary', '--repl', '127.0.0.1:0', ...args], {
      env: { ...process.env, DURABLE_CLUSTER_KEY: 'client-token-tests-cluster-key-0123456789', DURABLE_CLIENT_TOKEN: '', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('refuses an --http other machines can reach, before listening, and says what to do', () => {
    const result = serve(['--http', '0.0.0.0:0']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/--http 0\.0\.0\.0:0 is reachable from other machines, and no client token is set.*DURABLE_CLIENT_TOKEN.*--client-token-file.*--no-client-token/);
  });

  it('refuses a token that is too short, and a token together with --no-client-token', () => {
    expect(serve(['--http', '127.0.0.1:0'], { DURABLE_CLIENT_TOKEN: 'short' }).stderr).toMatch(/client token is shorter than 16 bytes/);
    expect(serve(['--http', '127.0.0.1:0', '--no-client-token'], { DURABLE_CLIENT_TOKEN: TOKEN }).stderr).toMatch(/--no-client-token says to serve without a client token, but one is set/);
  });
});

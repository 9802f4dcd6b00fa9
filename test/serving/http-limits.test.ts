// What a client hears at the HTTP edge for what the server will not take (issue 14): a body over the limit
// is answered 413 even while the client is still sending it (it used to see its connection reset), and a
// path the server does not have is 404 whatever the method (405 is for a known path asked wrongly).
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcServer } from '../../proxies/serving/http.js';

const node = {
  role: () => 'primary' as const,
  epoch: () => 1,
  ready: () => true,
  primaryHint: () => undefined,
  metrics: () => ({}),
  dispatch: async () => ({ kind: 'ok' as const, result: 1 }),
  begin: () => 'tx-1',
  commit: async () => ({ kind: 'ok' as const, result: null }),
  abort: async () => ({ kind: 'ok' as const, result: null }),
  promote: async () => undefined,
};

let server: RpcServer;
let base = '';
beforeAll(async () => {
  server = new RpcServer(node as never, {});
  const address: AddressInfo = await server.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(() => server.close());

describe('the HTTP edge', () => {
  it('answers 413 to a 50 MB body, which the client hears (not a reset), and then serves the next request', async () => {
    const body = JSON.stringify({ args: ['x'.repeat(50 * 1024 * 1024)], id: 'big' });
    const answer = await fetch(`${base}/rpc/anything`, { method: 'POST', body });
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(/exceeds 1048576 bytes/);
    // Chunked, with no length announced: the same.
    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024 * 1024)));
        controller.close();
      },
    });
    const streamed = await fetch(`${base}/rpc/anything`, { method: 'POST', body: chunked, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await fetch(`${base}/rpc/anything`, { method: 'POST', body: JSON.stringify({ args: [], id: 'small' }) })).status).toBe(200);
  });

  it('answers 404 to a path it does not have, 405 to a known path asked with the wrong method', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/rpc/anything`)).status).toBe(405);
    expect((await fetch(`${base}/tx`)).status).toBe(405);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});

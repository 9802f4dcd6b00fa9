// Fuzzing the HTTP side (docs/SERVING.md, "HTTP"): arbitrary bodies, request targets and raw bytes sent to
// the RPC server. Whatever arrives, it answers with a status of the contract and a JSON body saying why
// (never a 500, never a crash), passes a method exactly the arguments the body held, and runs nothing
// for a body it refused. The server under test is the real RpcServer over loopback, in front of a node
// that records what it was asked to run.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../proxies/action/controller.js';
import { RpcServer } from '../../proxies/serving/http.js';

const calls: { method: string; args: unknown[]; request: { requestId?: string; tx?: string } }[] = [];
const node = {
  role: () => 'primary' as const,
  epoch: () => 1,
  ready: () => true,
  primaryHint: () => undefined,
  async dispatch(method: string, args: unknown[], request: { requestId?: string; tx?: string }): Promise<Outcome> {
    calls.push({ method, args, request });
    if (method === 'fails') return { kind: 'service-error', message: 'it threw' };
    if (method === 'missing') return { kind: 'unknown-method', message: 'no such method' };
    return { kind: 'ok', result: args };
  },
  begin: () => 'tx-1',
  commit: async (): Promise<Outcome> => ({ kind: 'tx-aborted', message: 'no such transaction' }),
  abort: async (): Promise<Outcome> => ({ kind: 'tx-aborted', message: 'no such transaction' }),
  promote: async () => undefined,
  metrics: () => ({}),
  key: Buffer.from('k'.repeat(32)),
};

const CONTRACT = new Set([200, 400, 401, 404, 405, 409, 413, 422, 503]);
const LIMIT = 64 * 1024;
let server: RpcServer;
let base: string;

beforeAll(async () => {
  server = new RpcServer(node, { maxBodyBytes: LIMIT });
  const address = await server.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(() => server.close(100));

async function request(method: string, target: string, body?: string | Uint8Array): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(base + target, { method, body: method === 'GET' || method === 'HEAD' ? undefined : body });
  const text = await response.text();
  return { status: response.status, body: method === 'HEAD' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Every answer: a status of the contract, and either a result or an error with a code and a reason. */
function expectContract(answer: { status: number; body: Record<string, unknown> }): void {
  expect(CONTRACT.has(answer.status), `status ${answer.status}`).toBe(true);
  if (answer.status === 200) return;
  const error = answer.body.error as { code?: unknown; message?: unknown } | undefined;
  expect(typeof error?.code).toBe('string');
  expect(typeof error?.message).toBe('string');
  expect((error!.message as string).length).toBeGreaterThan(0);
}

const method = fc.oneof(fc.constantFrom('add', 'get', 'fails', 'missing', '$x', '_y1'), fc.string({ maxLength: 20 }));
const bodyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record(
    {
      args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
      id: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
      tx: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
    },
    { requiredKeys: [] },
  ),
);

describe('the RPC server under arbitrary input', () => {
  it('answers every JSON body per the contract and passes exactly its arguments', async () => {
    await fc.assert(
      fc.asyncProperty(method, bodyValue, async (name, value) => {
        calls.length = 0;
        const target = `/rpc/${encodeURIComponent(name)}`;
        const answer = await request('POST', target, JSON.stringify(value));
        expectContract(answer);
        const valid =
          // Any method name routes (quoted names such as 'my-method' too); the service says whether it has it.
          // But '.' and '..' (or their %2E spellings) cannot be sent: a URL takes them for dot segments.
          name.length > 0 &&
          name.length <= 200 &&
          !name.includes('/') &&
          name !== '.' &&
          name !== '..' &&
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          (value.args === undefined || Array.isArray(value.args)) &&
          (value.id === undefined || (typeof value.id === 'string' && value.id.length > 0 && value.id.length <= 200)) &&
          (value.tx === undefined || typeof value.tx === 'string');
        if (!valid) {
          expect(calls).toEqual([]); // refused before anything ran
          expect([400, 404]).toContain(answer.status);
          return;
        }
        expect(calls).toHaveLength(1);
        // What the wire carried: JSON has no -0 (JSON.stringify(-0) is "0"; seed -1823139472), so the
        // arguments a method must get are the body's, parsed back, not the value before it was sent.
        const args = JSON.parse(JSON.stringify((value as { args?: unknown[] }).args ?? [])) as unknown[];
        expect(calls[0]!.args).toEqual(args);
        if (name === 'fails') expect(answer.status).toBe(422);
        else if (name === 'missing') expect(answer.status).toBe(400);
        else expect(answer.body.result).toEqual(args);
      }),
      // A method named '.' or '..' cannot be reached (seed 539715907): it is refused, running nothing.
      {
        numRuns: 300,
        examples: [
          ['.', {}],
          ['..', { args: [1] }],
          ['add', { args: [-0] }],
        ],
      },
    );
  }, 60_000);

  it('answers arbitrary bytes, empty and oversized bodies without running anything', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 2_000 }),
      fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
      fc.integer({ min: LIMIT - 10, max: 3 * LIMIT }).map((n) => new Uint8Array(n).fill(0x7b)),
    );
    await fc.assert(
      fc.asyncProperty(method, bytes, async (name, body) => {
        calls.length = 0;
        const answer = await request('POST', `/rpc/${encodeURIComponent(name)}`, body);
        expectContract(answer);
        if (body.length > LIMIT) expect(answer.status).toBe(413);
        // A refused body ran nothing ('missing' is refused by the node itself, after dispatch).
        if (answer.status === 413 || (answer.status === 400 && name !== 'missing')) expect(calls).toEqual([]);
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('answers arbitrary request targets and methods', async () => {
    const target = fc.oneof(
      fc.webPath(),
      fc.string({ maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`),
      fc.constantFrom('/tx', '/tx/%E0%A4%A/commit', '/tx/a/abort', '/tx//commit', '/admin/promote', '/rpc/', '/rpc//x', '/health', '/metrics', '/%'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), target, async (verb, path) => {
        const answer = await request(verb, path.startsWith('/') ? path : `/${path}`, verb === 'GET' ? undefined : '{}');
        expectContract(answer);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('survives raw garbage on the socket and still serves', async () => {
    const port = Number(new URL(base).port);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4_000 }),
          fc.string({ maxLength: 300 }).map((s) => Buffer.from(`POST /rpc/add HTTP/1.1\r\n${s}\r\n\r\n`)),
        ),
        async (garbage) => {
          await new Promise<void>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => socket.end(Buffer.from(garbage)));
            socket.on('data', () => undefined);
            socket.on('error', () => resolve());
            socket.on('close', () => resolve());
            socket.setTimeout(2_000, () => socket.destroy());
          });
        },
      ),
      { numRuns: 100 },
    );
    expect((await request('GET', '/health')).status).toBe(200);
    expect((await request('POST', '/rpc/add', JSON.stringify({ args: [1], id: 'after' }))).body.result).toEqual([1]);
  }, 60_000);
});

// The fault-tolerant client stub (Figure III.1; seed 001's client-side interceptor): every call carries a
// request id, and on a connection failure or a 503 the same id goes to the next node (to the primary
// a backup names, first), until a bounded total timeout. A node that had executed the request answers
// with its original reply, so the failover stays hidden from the caller.
import { randomUUID } from 'node:crypto';

export interface ClientOptions {
  /** Total time one call may take, failovers included (default 10 s). */
  timeoutMs?: number;
  /** Pause before trying the nodes again after each has failed once (default 50 ms, doubling to 1 s). */
  retryDelayMs?: number;
  /** How long one node may take before the next is tried (default 2 s): a paused node must not take the whole budget. */
  attemptTimeoutMs?: number;
  /** The nodes' client token, sent as `Authorization: Bearer <token>` (docs/SECURITY.md). */
  token?: string;
  /** The CA that signs the nodes' HTTPS certificates (PEM), where it is not one the system trusts. */
  ca?: string | Buffer;
}

export class RemoteServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RemoteServiceError';
  }
}

export class ClientTimeoutError extends Error {}

export interface DurableClient {
  call<R = unknown>(method: string, args?: unknown[], request?: { id?: string; tx?: string }): Promise<R>;
  begin(): Promise<string>;
  commit(tx: string): Promise<void>;
  abort(tx: string): Promise<void>;
  /** The node believed to be the primary now. */
  readonly current: string;
}

export function createClient(urls: readonly string[], options: ClientOptions = {}): DurableClient {
  if (urls.length === 0) throw new Error('createClient needs at least one node URL.');
  const nodes = urls.map((u) => u.replace(/\/+$/, ''));
  let preferred = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };

  // With a CA of its own, HTTPS goes through undici's fetch with an agent that trusts it (the global fetch
  // takes no CA); else the global fetch.
  let agentFetch: Promise<typeof fetch> | undefined;
  const transport = (): Promise<typeof fetch> | typeof fetch => {
    if (options.ca === undefined) return fetch;
    agentFetch ??= import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { ca: options.ca } });
      return ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch;
    });
    return agentFetch;
  };

  async function post(path: string, body: unknown): Promise<unknown> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let delay = options.retryDelayMs ?? 50;
    let lastError = 'no node answered';
    for (;;) {
      for (let attempt = 0; attempt < nodes.length; attempt++) {
        const index = (preferred + attempt) % nodes.length;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new ClientTimeoutError(`${path}: gave up after ${options.timeoutMs ?? 10_000} ms (${lastError}).`);
        let response: Response;
        try {
          const attempt = Math.min(remaining, options.attemptTimeoutMs ?? 2_000);
          response = await (await transport())(nodes[index] + path, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(attempt) });
        } catch (error) {
          lastError = `${nodes[index]}: ${(error as Error).message}`;
          continue;
        }
        const json = (await response.json().catch(() => ({}))) as { result?: unknown; tx?: string; error?: { code: string; message: string; primary?: string | null } };
        if (response.status === 200) {
          preferred = index;
          return json;
        }
        if (response.status === 503) {
          lastError = `${nodes[index]}: ${json.error?.code ?? 503}`;
          const hint = json.error?.primary ? nodes.indexOf(json.error.primary.replace(/\/+$/, '')) : -1;
          if (hint >= 0 && hint !== index) {
            preferred = hint;
            attempt = -1; // start over from the named primary
          }
          continue;
        }
        throw new RemoteServiceError(json.error?.code ?? String(response.status), json.error?.message ?? `HTTP ${response.status}`, response.status);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(1_000, delay * 2);
    }
  }

  return {
    get current() {
      return nodes[preferred]!;
    },
    async call<R>(method: string, args: unknown[] = [], request: { id?: string; tx?: string } = {}): Promise<R> {
      const json = (await post(`/rpc/${method}`, { args, id: request.id ?? randomUUID(), tx: request.tx })) as { result: R };
      return json.result;
    },
    async begin() {
      return ((await post('/tx', {})) as { tx: string }).tx;
    },
    async commit(tx: string) {
      await post(`/tx/${encodeURIComponent(tx)}/commit`, {});
    },
    async abort(tx: string) {
      await post(`/tx/${encodeURIComponent(tx)}/abort`, {});
    },
  };
}

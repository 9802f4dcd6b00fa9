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

/** The longest one wait for a node to say it serves (GET /watch) lasts before the nodes are tried again. */
const WATCH_MS = 2_000;

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
      // One round: every node once, the preferred first, and a node a backup names as primary next.
      const tried = new Set<number>();
      let index = preferred;
      let primaryBusy = false; // a primary answered that it cannot serve now (UNAVAILABLE, NOT_READY)
      while (tried.size < nodes.length) {
        while (tried.has(index)) index = (index + 1) % nodes.length;
        tried.add(index);
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
          if (json.error?.code !== 'NOT_PRIMARY') primaryBusy = true;
          const hint = json.error?.primary ? nodes.indexOf(json.error.primary.replace(/\/+$/, '')) : -1;
          if (hint >= 0 && !tried.has(hint)) index = hint;
          continue;
        }
        throw new RemoteServiceError(json.error?.code ?? String(response.status), json.error?.message ?? `HTTP ${response.status}`, response.status);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) continue; // the next round's first attempt says so
      // No node serves: unless a primary said it is busy, wait for one to say it serves (GET /watch, the
      // failover notification), not for a fixed delay; back off only when none can tell.
      const serving = primaryBusy ? undefined : await watchForPrimary(Math.min(remaining, WATCH_MS));
      if (serving !== undefined) {
        preferred = serving;
        delay = options.retryDelayMs ?? 50;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(1_000, delay * 2);
    }
  }

  /**
   * Asks every node's GET /watch, which answers once that node serves as primary: the index of the first
   * that does, or undefined when none did within `waitMs` (or none could be asked).
   */
  async function watchForPrimary(waitMs: number): Promise<number | undefined> {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), waitMs);
    try {
      const asked = nodes.map(async (node, index) => {
        const response = await (await transport())(`${node}/watch?waitMs=${Math.max(0, Math.round(waitMs))}`, { headers, signal: stop.signal });
        const json = (await response.json()) as { role?: string; ready?: boolean };
        if (response.status !== 200 || json.role !== 'primary' || json.ready !== true) throw new Error('not serving');
        return index;
      });
      return await Promise.any(asked);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
      stop.abort();
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

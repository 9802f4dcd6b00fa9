// The HTTP JSON RPC of the serving contract (docs/SERVING.md), over node:http. Request bodies are size-limited and
// validated (400 with a reason); outcomes map to status codes: 200 result, 422 SERVICE_ERROR, 409
// TX_CONFLICT / TX_ABORTED, 503 NOT_PRIMARY / NOT_READY / UNAVAILABLE (retry with the same id).
import http from 'node:http';
import https from 'node:https';
import type { TlsFiles } from '../transport/tls.js';
import { prometheusText, wantsPrometheusText } from './prometheus.js';
import { RequestHistograms } from './histogram.js';
import type { ClientTokenCheck } from './client-token.js';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Outcome } from '../action/controller.js';

/** What the HTTP layer needs from the node it serves. */
export interface ServedNode {
  role(): 'primary' | 'backup';
  epoch(): number;
  ready(): boolean;
  /** Where the primary is, when this node knows (for NOT_PRIMARY). */
  primaryHint(): string | undefined;
  dispatch(method: string, args: unknown[], request: { requestId?: string; tx?: string }): Promise<Outcome>;
  begin(): string;
  commit(tx: string): Promise<Outcome>;
  abort(tx: string): Promise<Outcome>;
  promote(): Promise<void>;
  /**
   * While this backup decides whether to take over, and takes over: settles when it has. A request that
   * comes meanwhile waits for it (bounded) rather than being sent away: the client's first answer after a
   * failover is the new primary's, without a retry's delay.
   */
  takingOver?(): Promise<unknown> | undefined;
  /** Settles at this node's next change of role or readiness (for GET /watch). */
  nextChange?(): Promise<void>;
  /** A backup's answer to "would you take over if the primary died now?" (undefined on a primary). */
  takeover?(): { automatic: boolean; reason?: string; remedy?: string } | undefined;
  metrics(): Record<string, unknown>;
  /** The cluster key, for /admin/promote; absent with --insecure. */
  key?: Buffer;
}

export interface HttpServerOptions {
  maxBodyBytes?: number;
  /** HTTPS with this certificate and key (transport/tls.ts); HTTP without. */
  tls?: TlsFiles;
  /** When set, /rpc, /tx… and /metrics need `Authorization: Bearer <token>` (docs/SECURITY.md). */
  clientToken?: ClientTokenCheck;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** How long a request may wait on a backup that is taking over (see ServedNode.takingOver). */
const HOLD_MS = 1_000;

export class RpcServer {
  private readonly server: http.Server | https.Server;
  readonly counters = { requests: 0, ok: 0, serviceErrors: 0, refused: 0, unavailable: 0, notPrimary: 0, badRequests: 0, txConflicts: 0, unauthorized: 0 };
  readonly latencies: number[] = [];
  readonly histograms = new RequestHistograms();

  constructor(
    private readonly node: ServedNode,
    private readonly options: HttpServerOptions = {},
  ) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((error: Error) => {
        this.options.log?.('http.error', { error: error.message });
        if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'The node failed to answer; retry with the same id.' } });
      });
    };
    const { tls } = options;
    this.server = tls ? https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler) : http.createServer(handler);
    this.server.keepAliveTimeout = 65_000;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  private closing = false;

  /**
   * Stops accepting and lets requests in flight finish; their connections close after the answer, and
   * any still open after `graceMs` are cut, so a keep-alive client cannot hold the stop up.
   */
  close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const cut = setTimeout(() => this.server.closeAllConnections(), graceMs);
      cut.unref();
      this.server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.server.closeIdleConnections();
      this.server.on('request', (_req, res) => res.on('finish', () => this.server.closeIdleConnections()));
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let url: URL;
    try {
      // Relative to a fixed origin, so that any request target (even '//') parses.
      url = new URL(`http://node${(req.url ?? '/').startsWith('/') ? '' : '/'}${req.url ?? '/'}`);
    } catch {
      return this.bad(res, 400, 'The request target is not a valid path.');
    }
    if (this.closing) res.setHeader('connection', 'close');
    // /health stays open (load balancers ask it); /admin/promote has the cluster key; the rest needs the client token.
    const token = this.options.clientToken;
    // The target as sent (the router reads methods from it: URL parsing would drop a method named '.' or
    // '..' as a dot segment). Open paths must be open read both ways.
    const target = decodedPath(rawPath(req.url ?? '/'));
    const open = (path: string) => url.pathname === path && target === path;
    if (token && !open('/health') && !open('/admin/promote') && !token.accepts(req.headers.authorization)) {
      this.counters.unauthorized++;
      req.resume(); // the body is not read, but drained, so that a client still sending hears the answer
      res.setHeader('www-authenticate', 'Bearer realm="durable"');
      return send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'This node needs the client token: send Authorization: Bearer <token>.' } });
    }
    try {
      if (req.method === 'GET' && url.pathname === '/health') {
        const takeover = this.node.takeover?.();
        return send(res, 200, { role: this.node.role(), epoch: this.node.epoch(), ready: this.node.ready(), primary: this.node.primaryHint() ?? null, ...(takeover ? { takeover } : {}) });
      }
      if (req.method === 'GET' && url.pathname === '/watch') return await this.watch(url, res);
      if (req.method === 'GET' && url.pathname === '/metrics') {
        const latencyMs = percentiles(this.latencies);
        if (wantsPrometheusText(req.headers.accept)) {
          const text = prometheusText(this.counters, this.node.metrics(), latencyMs, this.histograms);
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
          return void res.end(text);
        }
        return send(res, 200, { ...this.counters, ...this.node.metrics(), latencyMs, methods: this.histograms.summary() });
      }
      if (req.method !== 'POST') {
        // A path the server has, asked with the wrong method, is 405; any other path is 404.
        const known = url.pathname.startsWith('/rpc/') || url.pathname === '/tx' || url.pathname.startsWith('/tx/') || url.pathname === '/admin/promote';
        if (!known) return this.bad(res, 404, `No such endpoint: ${req.method} ${url.pathname}. The service answers POST /rpc/<method>, GET /health, GET /watch and GET /metrics.`);
        return this.bad(res, 405, `Use POST for ${url.pathname} (GET serves /health, /watch and /metrics).`);
      }
      const body = await readJson(req, this.options.maxBodyBytes ?? 1024 * 1024);
      if ('error' in body) {
        if (body.close) res.setHeader('connection', 'close'); // the rest of that body is not a request
        return this.bad(res, body.status, body.error);
      }
      const json = body.value as Record<string, unknown>;

      // Any method name the service has, quoted ones ('my-method') too: dispatch checks it is one.
      const rpc = /^\/rpc\/([^/]{1,200})$/.exec(target);
      if (rpc) {
        if (json.args !== undefined && !Array.isArray(json.args)) return this.bad(res, 400, '"args" must be an array of the method\'s arguments.');
        if (json.id !== undefined && (typeof json.id !== 'string' || json.id.length === 0 || json.id.length > 200))
          return this.bad(res, 400, '"id" must be a non-empty string of at most 200 characters.');
        if (json.tx !== undefined && typeof json.tx !== 'string') return this.bad(res, 400, '"tx" must be a transaction id string.');
        if (!(await this.primaryOrTakingOver())) return this.notPrimary(res);
        if (!this.node.ready()) return this.notReady(res);
        this.counters.requests++;
        const outcome = await this.node.dispatch(rpc[1]!, (json.args as unknown[]) ?? [], { requestId: json.id as string | undefined, tx: json.tx as string | undefined });
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        this.latencies.push(elapsedMs);
        if (this.latencies.length > 10_000) this.latencies.splice(0, 5_000);
        // A method the service does not have is not a label of its own: requests would choose the labels.
        this.histograms.observe(outcome.kind === 'unknown-method' ? '(unknown)' : rpc[1]!, outcome.kind.replace('-', '_'), elapsedMs / 1000);
        if (outcome.kind === 'service-error' && looksLikeABug(outcome.error)) {
          // A method that threw is answered 422 and rolled back; one that threw a TypeError and its kind
          // is most likely a bug, so its stack (mapped to the user's TypeScript) goes to the log as well.
          this.options.log?.('service.bug', { method: rpc[1]!, error: (outcome.error as Error).stack ?? String(outcome.error) });
        }
        return this.answer(res, outcome, rpc[1]!);
      }
      if (url.pathname === '/tx') {
        if (!(await this.primaryOrTakingOver())) return this.notPrimary(res);
        if (!this.node.ready()) return this.notReady(res);
        return send(res, 200, { tx: this.node.begin() });
      }
      const tx = /^\/tx\/([^/]+)\/(commit|abort)$/.exec(url.pathname);
      if (tx) {
        if (this.node.role() !== 'primary') return this.notPrimary(res);
        let id: string;
        try {
          id = decodeURIComponent(tx[1]!);
        } catch {
          return this.bad(res, 400, 'The transaction id in the path is not valid percent-encoding.');
        }
        const outcome = tx[2] === 'commit' ? await this.node.commit(id) : await this.node.abort(id);
        return this.answer(res, outcome, `(transaction ${tx[2]})`);
      }
      if (url.pathname === '/admin/promote') {
        if (this.node.key && !keyMatches(this.node.key, req.headers['x-durable-key'])) return this.bad(res, 401, 'Promotion needs the cluster key in the X-Durable-Key header.');
        if (this.node.role() === 'primary') return send(res, 200, { role: 'primary', epoch: this.node.epoch() });
        try {
          await this.node.promote();
        } catch (error) {
          // Not promoted (behind the database, refused by the authority, replaced already): the reason is the operator's to read.
          return this.bad(res, 409, `This node was not promoted: ${(error as Error).message}`, 'NOT_PROMOTED');
        }
        return send(res, 200, { role: this.node.role(), epoch: this.node.epoch() });
      }
      return this.bad(res, 404, `No such endpoint: ${req.method} ${url.pathname}. The service answers POST /rpc/<method>.`);
    } catch (error) {
      this.options.log?.('http.error', { path: url.pathname, error: (error as Error).message });
      if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'The node failed to answer; retry with the same id.' } });
    }
  }

  private answer(res: http.ServerResponse, outcome: Outcome, method: string): void {
    // The client hears which rule a statement broke; the log keeps the database's whole message.
    if ((outcome.kind === 'service-error' || outcome.kind === 'unavailable') && outcome.detail) {
      this.options.log?.(outcome.kind === 'service-error' ? 'request.database_refused' : 'request.database_failed', { method, detail: outcome.detail });
    }
    switch (outcome.kind) {
      case 'ok':
        this.counters.ok++;
        return sendRaw(res, 200, `{"result":${toJson(outcome.result)}}`);
      case 'service-error':
        this.counters.serviceErrors++;
        return send(res, 422, { error: { code: 'SERVICE_ERROR', message: outcome.message } });
      case 'refused':
        // Definitive, like a service error: the run-time could not make this request's effect durable as
        // written, so nothing of it was kept. The message names the DUR code and what to change.
        this.counters.refused++;
        return send(res, 422, { error: { code: 'REFUSED', message: outcome.message } });
      case 'unknown-method':
        return this.bad(res, 400, outcome.message, 'UNKNOWN_METHOD');
      case 'bad-arguments':
        return this.bad(res, 400, outcome.message, 'BAD_ARGUMENTS');
      case 'unavailable':
        this.counters.unavailable++;
        return send(res, 503, { error: { code: 'UNAVAILABLE', message: outcome.message } });
      case 'not-primary':
        return this.notPrimary(res, outcome.message);
      case 'tx-conflict':
        this.counters.txConflicts++;
        return send(res, 409, { error: { code: 'TX_CONFLICT', message: outcome.message } });
      case 'tx-aborted':
        return send(res, 409, { error: { code: 'TX_ABORTED', message: outcome.message } });
    }
  }

  /**
   * GET /watch[?waitMs=T]: the failover notification (Table III.4). Answers as soon as this node serves as
   * the primary (at once if it does), or after T ms (default 10 000, at most 60 000) with what it is then;
   * a client whose primary is gone asks every node and goes to the first that answers as primary.
   */
  private async watch(url: URL, res: http.ServerResponse): Promise<void> {
    const asked = Number(url.searchParams.get('waitMs') ?? 10_000);
    if (!Number.isFinite(asked) || asked < 0) return this.bad(res, 400, 'waitMs must be a number of milliseconds (at most 60000).');
    const deadline = performance.now() + Math.min(asked, 60_000);
    const serving = () => this.node.role() === 'primary' && this.node.ready();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - performance.now())));
    res.on('close', () => clearTimeout(timer));
    while (!serving() && !this.closing && !res.destroyed && performance.now() < deadline) {
      // Readiness has no event of its own (enough backups holding the state, say): looked at every 50 ms too.
      await Promise.race([this.node.nextChange?.() ?? timedOut, timedOut, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    clearTimeout(timer);
    if (res.destroyed) return;
    send(res, 200, { role: this.node.role(), epoch: this.node.epoch(), ready: this.node.ready(), primary: this.node.primaryHint() ?? null });
  }

  /** Whether this node is the primary, once a takeover under way (if any) has ended or HOLD_MS passed. */
  private async primaryOrTakingOver(): Promise<boolean> {
    const pending = this.node.role() === 'primary' ? undefined : this.node.takingOver?.();
    if (pending) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pending.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, HOLD_MS)))]);
      clearTimeout(timer);
    }
    return this.node.role() === 'primary';
  }

  private notPrimary(res: http.ServerResponse, message?: string): void {
    if (!this.node.ready() && this.node.role() === 'primary') return this.notReady(res);
    this.counters.notPrimary++;
    const primary = this.node.primaryHint();
    send(res, 503, { error: { code: 'NOT_PRIMARY', message: message ?? `This node is a backup${primary ? `; the primary is ${primary}` : ''}.`, primary: primary ?? null } });
  }

  /** A primary that cannot serve yet: starting, or fewer backups than --min-acks hold its state. */
  private notReady(res: http.ServerResponse): void {
    this.counters.unavailable++;
    send(res, 503, { error: { code: 'NOT_READY', message: 'This primary cannot serve yet (starting, or waiting for enough backups to hold its state); retry shortly with the same id.' } });
  }

  private bad(res: http.ServerResponse, status: number, message: string, code = 'BAD_REQUEST'): void {
    this.counters.badRequests++;
    send(res, status, { error: { code, message } });
  }
}

/** A result as JSON text: Maps and Sets become arrays, Dates ISO strings, bigints strings. */
function toJson(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v) => {
      if (v instanceof Map) return [...v];
      if (v instanceof Set) return [...v];
      if (typeof v === 'bigint') return v.toString();
      return v;
    }) ?? 'null'
  );
}

/** How much of a body past the limit is read and dropped before its 413, at most; past it the connection is cut. */
const MAX_DRAINED = 256 * 1024 * 1024;

type Body = { value: unknown } | { error: string; status: number; close?: boolean };

/**
 * The request's body as a JSON object. One past the limit is answered 413 once it has been read to its
 * end and dropped: answered while the client still sends, the connection would close under it and the
 * client would see a broken pipe instead of the 413 (read with events: leaving a for-await loop early
 * destroys the request).
 */
function readJson(req: http.IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const tooLarge: Body = { status: 413, error: `The request body exceeds ${limit} bytes.`, close: true };
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number(req.headers['content-length']) > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (!over && size > limit) {
        over = true;
        chunks.length = 0;
      }
      if (!over) chunks.push(chunk);
      else if (size > limit + MAX_DRAINED) {
        req.destroy();
        resolve(tooLarge);
      }
    });
    req.on('end', () => resolve(over ? tooLarge : parseBody(Buffer.concat(chunks).toString('utf8'))));
    // Cut off before its end: nothing to answer on that connection, but the handler must not wait for ever.
    req.on('close', () => resolve(over ? tooLarge : { status: 400, error: 'The request body ended before its length.' }));
  });
}

function parseBody(text: string): Body {
  // The body is read as JSON whatever Content-Type says: clients such as curl -d label it otherwise.
  if (text.trim() === '') return { value: {} };
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { status: 400, error: 'The body must be a JSON object: {"args": [...], "id": "..."}.' };
    return { value };
  } catch (error) {
    return { status: 400, error: `The body is not valid JSON: ${(error as Error).message}` };
  }
}

/** The path with percent-escapes decoded (`/rpc/%24x` names `$x`); left as it is when they are malformed. */
/** The request target's path, as sent (no dot segments resolved), without its query. */
function rawPath(target: string): string {
  const path = target.split(/[?#]/, 1)[0]!;
  return path.startsWith('/') ? path : `/${path}`;
}

function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  sendRaw(res, status, JSON.stringify(body));
}

function sendRaw(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function keyMatches(key: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header);
  return given.length === key.length && timingSafeEqual(given, key);
}

export function percentiles(values: number[]): { p50: number; p99: number; count: number } {
  if (values.length === 0) return { p50: 0, p99: 0, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000) / 1000;
  return { p50: at(0.5), p99: at(0.99), count: values.length };
}

/** Errors the language throws for mistakes in code (not ones a service throws on purpose). */
function looksLikeABug(error: unknown): boolean {
  return error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError || error instanceof SyntaxError;
}

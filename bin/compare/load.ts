// The load generator of `durable compare`: real HTTP over keep-alive connections, one connection per
// client, each client sending its next request when the last one answered (closed loop), every request
// with its own id. Latencies are measured per request, from send to the last byte of the answer.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { percentiles } from '../../proxies/serving/http.js';

export interface Workload {
  /** Before the measurement: fills the state the requests need (not measured). */
  prepare(call: Caller): Promise<void>;
  /** One client's loop: calls `call` for each request until `more()` says stop. */
  client(call: Caller, index: number, more: () => boolean): Promise<void>;
}

type Caller = (method: string, args: unknown[]) => Promise<unknown>;

export interface LoadResult {
  clients: number;
  requests: number;
  errors: number;
  seconds: number;
  throughput: number;
  p50: number;
  p99: number;
}

export async function runLoad(baseUrl: string, workload: Workload, clients: number, requests: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients + 1 });
  const url = new URL(baseUrl);
  // Ids unique across runs: a node that recovered an earlier run's replies would otherwise answer these
  // as retries, without executing them.
  const run = randomUUID();
  let sequence = 0;
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  const call: Caller = (method, args) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ args, id: `${run}-${sequence++}` });
      const started = process.hrtime.bigint();
      const req = http.request(
        { agent, host: url.hostname, port: url.port, method: 'POST', path: `/rpc/${method}`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (measuring) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200) return resolve((JSON.parse(text) as { result: unknown }).result);
            if (measuring) errors++;
            reject(new Error(`${method}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  try {
    await workload.prepare(call);
    measuring = true;
    let sent = 0;
    const more = () => sent++ < requests;
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: clients }, (_, i) => workload.client(call, i, more)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    measuring = false;
    const { p50, p99 } = percentiles(latencies);
    return { clients, requests: latencies.length, errors, seconds, throughput: latencies.length / seconds, p50, p99 };
  } finally {
    agent.destroy();
  }
}

// `durable serve`: option checking and the node's start, with structured logs (one JSON object a line on
// stderr: role changes, epochs, peers joining and leaving).
import { ServiceNode, parseAddress, type Address } from '../proxies/serving/node.js';
import { ClusterKeyError, loadClusterKey } from '../proxies/transport/handshake.js';
import { ClientTokenError, loadClientToken } from '../proxies/serving/client-token.js';
import { readTlsFiles, type TlsFiles } from '../proxies/transport/tls.js';
import { DurabilityRefusal } from '../proxies/core/refusals.js';
import { UserError, type CliIO } from './io.js';

export interface ServeOptions {
  role: 'primary' | 'backup';
  http: string;
  repl: string;
  backups?: string;
  join?: string;
  db?: string;
  coordinator?: string;
  keyFile?: string;
  clientTokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** false with --no-client-token: serve without a client token on a non-loopback address, deliberately. */
  clientToken?: boolean;
  insecure?: boolean;
  minAcks: string;
  heartbeatInterval: string;
  heartbeatTimeout: string;
}

/** Loopback only: where --insecure may be used, and a fixed development key stands in. */
const INSECURE_KEY = Buffer.from('durable-insecure-loopback-development-key');

export async function startServing(build: string, options: ServeOptions, io: CliIO): Promise<ServiceNode> {
  const address = (flag: string, text: string): Address => {
    try {
      return parseAddress(text);
    } catch (error) {
      throw new UserError(`--${flag}: ${(error as Error).message}`);
    }
  };
  const http = address('http', options.http);
  const repl = address('repl', options.repl);
  const addresses = (flag: string, text: string | undefined) =>
    (text ?? '')
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => address(flag, s));
  const backups = addresses('backups', options.backups);
  // Any nodes of the cluster (a backup sends the joiner on to its primary): asked in turn until one answers.
  const join = addresses('join', options.join);
  const number = (flag: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UserError(`--${flag} must be a whole number of at least ${min}, not '${text}'.`);
    return n;
  };
  let key: Buffer | undefined;
  try {
    key = loadClusterKey({ keyFile: options.keyFile, env: io.env });
  } catch (error) {
    if (error instanceof ClusterKeyError) throw new UserError(error.message);
    throw error;
  }
  if (!key) {
    const all = [http, repl, ...backups, ...join];
    if (!options.insecure) throw new UserError('Replication needs a cluster key: set DURABLE_CLUSTER_KEY or pass --key-file (or, on loopback addresses only, --insecure).');
    if (!all.every((a) => isLoopback(a.host))) throw new UserError('--insecure is allowed only when every address is on loopback (127.0.0.0/8, ::1, localhost).');
    key = INSECURE_KEY;
  }
  let clientToken: string | undefined;
  try {
    clientToken = loadClientToken({ file: options.clientTokenFile, env: io.env });
  } catch (error) {
    if (error instanceof ClientTokenError) throw new UserError(error.message);
    throw error;
  }
  if (clientToken && options.clientToken === false)
    throw new UserError('--no-client-token says to serve without a client token, but one is set (--client-token-file or DURABLE_CLIENT_TOKEN): drop one of them.');
  if (!clientToken && options.clientToken !== false && !isLoopback(http.host)) {
    throw new UserError(
      `--http ${options.http} is reachable from other machines, and no client token is set: anyone who reaches it could call any method. Set DURABLE_CLIENT_TOKEN or pass --client-token-file (clients then send Authorization: Bearer <token>), or pass --no-client-token if something in front of this node already admits only your clients.`,
    );
  }
  let tls: TlsFiles | undefined;
  try {
    tls = readTlsFiles({ cert: options.tlsCert, key: options.tlsKey, ca: options.tlsCa });
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const coordinator = coordinatorUrl(options);
  const log = (event: string, fields: Record<string, unknown>) => io.stderr(JSON.stringify({ time: new Date().toISOString(), event, ...fields }) + '\n');
  const starting = ServiceNode.start({
    build,
    role: options.role,
    http,
    repl,
    backups,
    join: join.length > 0 ? join : undefined,
    db: options.db,
    coordinator,
    key,
    clientToken,
    tls,
    minAcks: number('min-acks', options.minAcks, 0),
    heartbeatIntervalMs: number('heartbeat-interval', options.heartbeatInterval, 1),
    heartbeatTimeoutMs: number('heartbeat-timeout', options.heartbeatTimeout, 10),
    log,
    // A backup that cannot finish joining is no backup: it says why and ends (a supervisor may restart it).
    onGaveUp: (reason) => {
      io.stderr(`durable serve: this backup gave up joining: ${reason}. See the 'replication.join.gave-up' log line for what to check.\n`);
      process.exit(1);
    },
  });
  try {
    const node = await starting;
    surviveRefusedWrites(log);
    return node;
  } catch (error) {
    // A node that cannot start (a database it cannot reach, a port in use, a primary already elsewhere)
    // is the operator's to fix: a message, exit 1.
    throw new UserError(`cannot start the ${options.role}: ${(error as Error).message}`);
  }
}

/**
 * The configuration authority: --coordinator, or else --db when that names a server database (every
 * node reaches the same one), or none ('none' says so explicitly).
 */
function coordinatorUrl(options: ServeOptions): string | undefined {
  const given = options.coordinator?.trim();
  if (given === 'none') return undefined;
  if (given !== undefined) {
    if (!/^(sqlite:.+|postgres(ql)?:\/\/.+|(mysql|mariadb):\/\/.+|etcd:\/\/.+)$/.test(given)) {
      throw new UserError(`--coordinator '${given}' is not postgres://…, mysql://…, etcd://HOST:PORT[,HOST:PORT…], sqlite:PATH or none.`);
    }
    return given;
  }
  return options.db && /^(postgres(ql)?|mysql|mariadb):\/\//.test(options.db) ? options.db : undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * A change to state from code that runs outside any request (a timer, an event handler, a promise
 * callback after the reply) is refused where it is made: the run-time throws into that code, which has
 * no caller to catch it. The node must not die of it: it logs the refusal (with what to change) and goes
 * on serving. Anything else uncaught ends the process as Node would, after saying why.
 */
function surviveRefusedWrites(log: (event: string, fields: Record<string, unknown>) => void): void {
  const isRefusal = (error: unknown) => error instanceof DurabilityRefusal || (error instanceof Error && (error.name === 'StateOutsideActionError' || error.name === 'DurabilityRefusal'));
  const handle = (error: unknown, origin: string) => {
    if (isRefusal(error)) {
      log('state.refused', { origin, error: (error as Error).message });
      return;
    }
    log('node.crashed', { origin, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  };
  process.on('uncaughtException', (error) => handle(error, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => handle(reason, 'unhandled rejection'));
}

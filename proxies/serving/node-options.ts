// What a node is started with (`durable serve`'s options, checked), and the small helpers its duties share.
import type { TlsFiles } from '../transport/tls.js';

export interface Address {
  host: string;
  port: number;
}

export interface NodeOptions {
  build: string;
  role: 'primary' | 'backup';
  http: Address;
  repl: Address;
  backups: Address[];
  /** Nodes of a running cluster to join through (a backup sends the joiner on to its primary): asked in turn. */
  join?: Address[];
  db?: string;
  /** The configuration authority's URL (docs/SERVING.md, "Configuration authority"); none: the lease alone. */
  coordinator?: string;
  key: Buffer;
  /** TLS for replication and HTTPS for clients (transport/tls.ts); plain TCP and HTTP without. */
  tls?: TlsFiles;
  /** The client token /rpc, /tx… and /metrics ask for; none: they are open (loopback, or --no-client-token). */
  clientToken?: string;
  minAcks: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** A backup gave up joining (its snapshot failed too many times): `durable serve` exits with the reason. */
  onGaveUp?: (reason: string) => void;
}

export function parseAddress(text: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  if (!match || Number(match[3]) > 65535) throw new Error(`'${text}' is not HOST:PORT.`);
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

/** An address as parseAddress reads it back (an IPv6 host in brackets). */
export function formatAddress(address: Address): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

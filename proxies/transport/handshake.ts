// Peers prove they hold the cluster key without sending it: each side sends a fresh nonce, and each
// answers with an HMAC over both nonces (and, from the primary, its name and epoch), so neither a replay
// nor a reflected proof passes. Plain functions; the connections call them.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readSecret } from '../core/secret.js';

const PROTOCOL = 'durable/1';

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The primary's proof: over the backup's nonce, its own, its node name, epoch and process id. */
export function primaryProof(key: Buffer, backupNonce: string, primaryNonce: string, node: string, epoch: number, id = ''): string {
  return hmac(key, `${PROTOCOL} primary ${backupNonce} ${primaryNonce} ${node} ${epoch} ${id}`);
}

/** The backup's proof, over the nonces the other way round: a reflected primary proof does not match. */
export function backupProof(key: Buffer, backupNonce: string, primaryNonce: string): string {
  return hmac(key, `${PROTOCOL} backup ${primaryNonce} ${backupNonce}`);
}

/** A joining backup's proof, binding the address it asks the primary to connect to. */
export function joinProof(key: Buffer, serverNonce: string, clientNonce: string, address: string): string {
  return hmac(key, `${PROTOCOL} join ${serverNonce} ${clientNonce} ${address}`);
}

export function proofsMatch(expected: string, received: unknown): boolean {
  if (typeof received !== 'string') return false;
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(received, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

function hmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

export class ClusterKeyError extends Error {}

/** The cluster key from --key-file or DURABLE_CLUSTER_KEY; at least 16 bytes, or none. */
export function loadClusterKey(options: { keyFile?: string; env?: Record<string, string | undefined> }): Buffer | undefined {
  const key = readSecret('cluster key', { file: options.keyFile, value: options.env?.DURABLE_CLUSTER_KEY }, (message) => new ClusterKeyError(message));
  return key === undefined ? undefined : Buffer.from(key, 'utf8');
}

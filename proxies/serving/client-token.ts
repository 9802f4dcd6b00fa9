// The client token (docs/SECURITY.md): a shared secret clients send as `Authorization: Bearer <token>`
// on /rpc, /tx… and /metrics. Compared as SHA-256 digests in constant time, so neither the token's
// length nor how much of it matched shows in the time an answer takes.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecret } from '../core/secret.js';

export class ClientTokenError extends Error {}

/** From --client-token-file, else $DURABLE_CLIENT_TOKEN; undefined when neither is set. */
export function loadClientToken(options: { file?: string; env?: Record<string, string | undefined> }): string | undefined {
  const fail = (message: string) => new ClientTokenError(message);
  const token = readSecret('client token', { file: options.file, value: options.env?.DURABLE_CLIENT_TOKEN?.trim() }, fail);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw fail('The client token must be printable ASCII without spaces (it travels in an HTTP header).');
  return token;
}

/** Checks `Authorization` headers against one token. */
export class ClientTokenCheck {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  accepts(header: string | string[] | undefined): boolean {
    if (typeof header !== 'string') return false;
    const match = /^Bearer +(\S+)$/i.exec(header);
    // Compared whatever the header holds, so that a malformed one costs the same time as a wrong one.
    const same = timingSafeEqual(sha256(match?.[1] ?? ''), this.digest);
    return match !== null && same;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

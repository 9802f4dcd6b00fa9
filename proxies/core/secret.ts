// A shared secret from a file (its contents, trimmed) or else a value from the environment: the cluster
// key (transport/handshake.ts) and the client token (serving/client-token.ts). Either is at least 16 bytes.
import { readFileSync } from 'node:fs';

/** `name` as the messages say it ("cluster key"); `fail` makes the caller's error from a message. */
export function readSecret(name: string, source: { file?: string; value?: string }, fail: (message: string) => Error): string | undefined {
  let secret = source.value;
  if (source.file) {
    try {
      secret = readFileSync(source.file, 'utf8').trim();
    } catch (error) {
      throw fail(`Cannot read the ${name} file '${source.file}': ${(error as Error).message}`);
    }
  }
  if (secret === undefined || secret === '') return undefined;
  if (Buffer.byteLength(secret) < 16) throw fail(`The ${name} is shorter than 16 bytes; use a long random secret (e.g. \`openssl rand -hex 32\`).`);
  return secret;
}

// A new backup asks a running primary to take it on (`durable serve --role backup --join HOST:PORT`):
// it proves the cluster key on the primary's replication port and gives the address of its own, where
// the primary then connects, sends the snapshot and streams to it.
import { encodeFrame, FrameDecoder, type Message } from './frames.js';
import { backupProof, joinProof, newNonce, proofsMatch } from './handshake.js';
import { connectPeer, type TlsFiles } from './tls.js';

/** A join refused; a backup asked says which primary it follows (its replication address). */
export class JoinRefusedError extends Error {
  constructor(
    message: string,
    readonly primary: string | undefined,
  ) {
    super(message);
  }
}

export function requestJoin(host: string, port: number, key: Buffer, ownAddress: string, timeoutMs = 5_000, files?: TlsFiles): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectPeer(host, port, files);
    const decoder = new FrameDecoder(1024 * 1024);
    const nonce = newNonce();
    let serverNonce = '';
    const timer = setTimeout(() => finish(new Error(`The primary at ${host}:${port} did not answer the join request in time.`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('error', (error) => finish(new Error(`Cannot reach the primary at ${host}:${port}: ${error.message}`)));
    socket.on('data', (chunk) => {
      let messages: Message[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        return finish(error as Error);
      }
      for (const message of messages) {
        if (message.type === 'hello') {
          serverNonce = String(message.nonce);
          socket.write(encodeFrame({ type: 'join', nonce, address: ownAddress, mac: joinProof(key, serverNonce, nonce, ownAddress) }));
        } else if (message.type === 'welcome') {
          return proofsMatch(backupProof(key, serverNonce, nonce), message.mac) ? finish() : finish(new Error(`The node at ${host}:${port} does not hold the cluster key.`));
        } else if (message.type === 'refuse') {
          const primary = typeof message.primary?.address === 'string' ? message.primary.address : undefined;
          return finish(new JoinRefusedError(`The node at ${host}:${port} refused the join: ${message.reason}`, primary));
        }
      }
    });
  });
}

/** What the node listening at host:port says it is (from its greeting), or undefined if it does not answer. */
export interface Greeting {
  /** Nothing listens there: the host answered the connection with a reset (the process is gone). */
  refused?: boolean;
  /** Reset before its greeting (a listener dying as it was reached): a caller may ask again. */
  reset?: boolean;
  id?: string;
  holders?: { id: string; address: string }[];
  replacedAt?: number;
  role?: string;
  epoch?: number;
  node?: string;
  seq?: number;
  holdsState?: boolean;
  /** A backup's primary (its replication port), as the backup knows it. */
  following?: { id: string; address: string };
}

export function probeRole(host: string, port: number, timeoutMs = 1_000, files?: TlsFiles): Promise<Greeting | undefined> {
  return new Promise((resolve) => {
    const socket = connectPeer(host, port, files);
    const decoder = new FrameDecoder(1024 * 1024);
    const done = (value: Greeting | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') return done({ refused: true });
      // Answered after a breath, so that a caller asking again does not spin.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return void setTimeout(() => done({ reset: true }), 10);
      done(undefined);
    });
    // Closed before its greeting, without an error: the same as a reset.
    socket.on('close', () => setTimeout(() => done({ reset: true }), 10));
    socket.on('data', (chunk) => {
      try {
        const hello = decoder.push(chunk).find((m) => m.type === 'hello');
        if (hello && hello.type === 'hello')
          done({
            id: typeof hello.id === 'string' ? hello.id : undefined,
            holders: Array.isArray(hello.holders) ? hello.holders.filter((h) => typeof h?.id === 'string' && typeof h?.address === 'string') : undefined,
            replacedAt: typeof hello.replacedAt === 'number' ? hello.replacedAt : undefined,
            role: hello.role,
            epoch: hello.epoch,
            node: hello.node,
            seq: hello.seq,
            holdsState: hello.holdsState,
            following: hello.following,
          });
      } catch {
        done(undefined);
      }
    });
  });
}

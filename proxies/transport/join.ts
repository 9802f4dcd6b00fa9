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

/**
 * The joining side of a join, as plain decisions: the node asked greets with its nonce, this answers with
 * a join proven over both nonces, and the node's welcome (proven back) or refusal ends it. requestJoin
 * drives it over TCP, the simulation over its network.
 */
export class JoinRequest {
  private serverNonce = '';

  constructor(
    private readonly key: Buffer,
    /** The replication address the primary should connect to. */
    private readonly address: string,
    private readonly nonce: string,
    /** The node asked, as the errors name it. */
    private readonly asked: string,
  ) {}

  /** A message from the node asked: a join to send, or the end (done, or an error to reject with). */
  receive(message: Message): { send?: Message; done?: true; error?: Error } {
    if (message.type === 'hello') {
      this.serverNonce = String(message.nonce);
      return { send: { type: 'join', nonce: this.nonce, address: this.address, mac: joinProof(this.key, this.serverNonce, this.nonce, this.address) } };
    }
    if (message.type === 'welcome')
      return proofsMatch(backupProof(this.key, this.serverNonce, this.nonce), message.mac) ? { done: true } : { error: new Error(`The node at ${this.asked} does not hold the cluster key.`) };
    if (message.type === 'refuse') {
      const primary = typeof message.primary?.address === 'string' ? (message.primary.address as string) : undefined;
      return { error: new JoinRefusedError(`The node at ${this.asked} refused the join: ${message.reason}`, primary) };
    }
    return {};
  }
}

export function requestJoin(host: string, port: number, key: Buffer, ownAddress: string, timeoutMs = 5_000, files?: TlsFiles): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectPeer(host, port, files);
    const decoder = new FrameDecoder(1024 * 1024);
    const request = new JoinRequest(key, ownAddress, newNonce(), `${host}:${port}`);
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
        const step = request.receive(message);
        if (step.send) socket.write(encodeFrame(step.send));
        if (step.done || step.error) return finish(step.error);
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
        if (hello?.type === 'hello') done(greetingOf(hello));
      } catch {
        done(undefined);
      }
    });
  });
}

/** What a node's greeting says (its hello), as probes read it. */
export function greetingOf(hello: Extract<Message, { type: 'hello' }>): Greeting {
  return {
    id: typeof hello.id === 'string' ? hello.id : undefined,
    holders: Array.isArray(hello.holders) ? hello.holders.filter((h) => typeof h?.id === 'string' && typeof h?.address === 'string') : undefined,
    replacedAt: typeof hello.replacedAt === 'number' ? hello.replacedAt : undefined,
    role: hello.role,
    epoch: hello.epoch,
    node: hello.node,
    seq: hello.seq,
    holdsState: hello.holdsState,
    following: hello.following,
  };
}

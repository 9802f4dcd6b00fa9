// The primary's replication link over TCP (node:net, or TLS): the protocol of primary-link.ts over one
// socket per backup, with frames (frames.ts), back-pressure from the socket, the event loop's timers and
// a monotonic clock (performance.now: a wall clock that jumps must not shorten a lease). The decisions
// are all in PrimaryLink and the BackupSet under it; this only moves bytes.
import type net from 'node:net';
import type { Greeting } from '../replication/following.js';
import { DEFAULT_MAX_FRAME, encodeFrame, encodeText, FrameDecoder, type Message } from './frames.js';
import { newNonce } from './handshake.js';
import { probeRole } from './join.js';
import { PrimaryLink, type LinkPort, type PeerChannel, type PrimaryLinkOptions } from './primary-link.js';
import { connectPeer, type TlsFiles } from './tls.js';

export interface TcpLinkOptions extends PrimaryLinkOptions {
  maxFrame?: number;
  /** TLS for the connections to the backups (transport/tls.ts); plain TCP without. */
  tls?: TlsFiles;
}

export class TcpLink extends PrimaryLink {
  constructor(options: TcpLinkOptions) {
    super(options, tcpPort(options));
  }

  /** Connects to the backup at host:port (or at an address already written host:port). */
  override connect(host: string, port?: number): ReturnType<PrimaryLink['connect']> {
    return super.connect(port === undefined ? host : `${host}:${port}`);
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

function tcpPort(options: TcpLinkOptions): LinkPort {
  return {
    now: () => performance.now(),
    nonce: newNonce,
    every: (ms, run) => {
      const timer = setInterval(run, ms);
      timer.unref();
      return { cancel: () => clearInterval(timer) };
    },
    after: (ms, run) => void setTimeout(run, ms).unref(),
    soon: (run) => void setImmediate(run),
    probe: (address, timeoutMs): Promise<Greeting | undefined> => {
      const { host, port } = splitAddress(address);
      return probeRole(host, port, timeoutMs, options.tls);
    },
    connect: (address, events) => {
      const { host, port } = splitAddress(address);
      const socket = connectPeer(host, port, options.tls);
      socket.setNoDelay(true);
      const decoder = new FrameDecoder(options.maxFrame ?? DEFAULT_MAX_FRAME);
      socket.on('error', (error) => events.closed(error.message));
      socket.on('close', () => events.closed('connection closed'));
      socket.on('data', (chunk) => {
        let messages: Message[];
        try {
          messages = decoder.push(chunk);
        } catch (error) {
          return events.closed(`bad frame: ${(error as Error).message}`);
        }
        for (const message of messages) events.message(message);
      });
      return socketChannel(socket);
    },
  };
}

function socketChannel(socket: net.Socket): PeerChannel {
  return {
    get open() {
      return !socket.destroyed;
    },
    send: (message) => void (socket.destroyed || socket.write(encodeFrame(message))),
    sendText: (json) => void (socket.destroyed || socket.write(encodeText(json))),
    close: (farewell) => {
      if (farewell && !socket.destroyed && socket.writable) {
        socket.end(encodeFrame(farewell));
        setTimeout(() => socket.destroy(), 5_000).unref(); // a peer that never reads it is not waited for
      } else socket.destroy();
    },
    backlog: () => socket.writableLength,
    congested: () => socket.writableNeedDrain,
    drained: () =>
      new Promise((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      }),
  };
}

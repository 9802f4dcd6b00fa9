// What the replication port's tests share: a primary joining a backup, and idle connections that never
// prove the key (over TCP or TLS alike).
import net from 'node:net';
import { expect } from 'vitest';
import type { ServiceRuntime } from '../../proxies/runtime.js';
import type { TcpLink } from '../../proxies/transport/tcp-link.js';

/** Connects the primary to the backup at `port`, sends its snapshot, and waits until the backup counts as live. */
export async function joined(primary: { link: TcpLink; runtime: ServiceRuntime }, port: number): Promise<void> {
  const handle = await primary.link.connect('127.0.0.1', port);
  const before = primary.link.liveBackups.length;
  await primary.runtime.join((snapshot) => handle.join(snapshot));
  for (let i = 0; i < 500 && primary.link.liveBackups.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  expect(primary.link.liveBackups.length).toBe(before + 1);
}

/**
 * `count` connections to `port` from this address that read what comes and say nothing; `closed()` counts
 * those the other end has closed, and `openAtMost(n)` waits (up to 3 s: a loaded machine reads the closes
 * late) until no more than `n` are still open.
 */
export async function idleConnections(port: number, count: number): Promise<{ sockets: net.Socket[]; closed(): number; openAtMost(n: number): Promise<void> }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port }, resolve);
          socket.resume(); // reads the hello, and sees the end when the backup closes it
          socket.on('error', () => undefined);
          socket.on('close', () => closed++);
          sockets.push(socket);
        }),
    ),
  );
  return {
    sockets,
    closed: () => closed,
    openAtMost: async (n) => {
      for (const deadline = Date.now() + 3_000; count - closed > n && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

// Replication over real sockets on loopback: the frame decoder against random bytes, a primary and a
// backup over TCP through a failover, a peer without the cluster key, garbage and oversized frames sent
// to the replication port, and a backup that stops acknowledging.
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameError, type Message } from '../../proxies/transport/frames.js';
import { ReplicationServer } from '../../proxies/transport/server.js';
import { TcpLink } from '../../proxies/transport/tcp-link.js';
import { Follower } from '../../proxies/replication/following.js';
import { TRANSFER_LIMITS } from '../../proxies/replication/transfer.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import { Bank, classes, Counter, Ledger, Log, mapping, stateOf } from '../proxies/support.js';
import { idleConnections, joined } from './support.js';

const KEY = Buffer.from('a-cluster-key-for-tests-only-0123456789');
const objects = [
  { name: 'counter', create: () => new Counter() },
  { name: 'log', create: () => new Log() },
  { name: 'ledger', create: () => new Ledger() },
];

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function backupNode() {
  const runtime = await ServiceRuntime.start({ role: 'backup', mapping: mapping(false), objects, classes });
  const server = new ReplicationServer({
    follower: new Follower(runtime.replica, { id: 'backup-under-test', address: 'backup' }),
    key: KEY,
    node: 'backup',
    handshakeTimeoutMs: 500,
    epoch: () => runtime.currentEpoch,
  });
  const address = await server.listen('127.0.0.1', 0);
  closers.push(() => server.close());
  return { runtime, server, port: address.port };
}

async function primaryNode(options: { key?: Buffer; minAcks?: number; ackTimeoutMs?: number } = {}) {
  let epoch = 1;
  const link = new TcpLink({ key: options.key ?? KEY, node: 'primary', epoch: () => epoch, minAcks: options.minAcks, ackTimeoutMs: options.ackTimeoutMs ?? 300, heartbeatMs: 50 });
  closers.push(() => link.close());
  const runtime = await ServiceRuntime.start({ role: 'primary', mapping: mapping(false), objects, classes, link });
  epoch = runtime.currentEpoch;
  return { runtime, link, bank: new Bank(runtime) };
}

describe('frames', () => {
  it('decode whatever way the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ n: fc.integer(), s: fc.string() }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(50), { maxLength: 10 }), (payloads, cuts) => {
        const messages: Message[] = payloads.map((p) => ({ type: 'heartbeat', epoch: p.n, at: p.s.length }));
        const bytes = Buffer.concat(messages.map(encodeFrame));
        const decoder = new FrameDecoder();
        const out: Message[] = [];
        let at = 0;
        for (const cut of cuts) {
          const next = Math.min(bytes.length, at + cut);
          out.push(...decoder.push(bytes.subarray(at, next)));
          at = next;
        }
        out.push(...decoder.push(bytes.subarray(at)));
        expect(out).toEqual(messages);
      }),
    );
  });

  it('refuse random bytes with a FrameError, never anything else, within the size limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoder = new FrameDecoder(1024);
        try {
          decoder.push(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

/** Connects the primary to the backup and streams it its snapshot; resolves once the backup is live. */
describe('replication over TCP', () => {
  it('keeps a backup in step over a real socket, and the backup takes over with everything acknowledged', async () => {
    const backup = await backupNode();
    const primary = await primaryNode();
    await joined(primary, backup.port);
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => primary.bank.charge(`c${i % 5}`, 1, { id: `r${i}` })));
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
    expect(backup.server.following).toBe(true);
    await backup.runtime.promote();
    const replicated = (s: ReturnType<typeof stateOf>) => ({ counter: s.counter, log: s.log });
    expect(replicated(stateOf(backup.runtime))).toEqual(replicated(stateOf(primary.runtime)));
    expect(await new Bank(backup.runtime).charge('c1', 1, { id: 'r7' })).toEqual(outcomes[7]);
  });

  it('refuses a primary without the cluster key, and changes nothing', async () => {
    const backup = await backupNode();
    const intruder = await primaryNode({ key: Buffer.from('not-the-cluster-key-at-all-000000') });
    await expect(intruder.link.connect('127.0.0.1', backup.port)).rejects.toThrow(/refused: wrong cluster key|does not hold the cluster key/);
    expect(backup.server.following).toBe(false);
    expect(stateOf(backup.runtime).counter).toBe(0);
  });

  it('closes a connection that sends garbage or an oversized frame, and keeps serving its primary', async () => {
    const backup = await backupNode();
    const primary = await primaryNode();
    await joined(primary, backup.port);
    await primary.bank.bump();

    const bigHeader = Buffer.alloc(4);
    bigHeader.writeUInt32BE(5 * 1024 * 1024); // a 5 MB frame before authenticating: refused at once
    for (const payload of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      bigHeader,
      encodeFrame({ type: 'batch', batch: { epoch: 99, records: [{ seq: 1 }] } } as Message),
    ]) {
      const closed = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: backup.port }, () => socket.write(payload));
        let received = Buffer.alloc(0);
        socket.on('data', (d) => (received = Buffer.concat([received, d])));
        socket.on('close', () => resolve(received.toString('utf8')));
        socket.on('error', () => undefined);
      });
      expect(closed).toMatch(/"type":"refuse"/);
    }
    expect(await primary.bank.bump()).toEqual({ kind: 'ok', result: 2 });
    expect(backup.server.following).toBe(true);
    await backup.runtime.promote();
    expect(stateOf(backup.runtime).counter).toBe(2);
  });

  it('drops a backup that stops acknowledging, and keeps serving; with --min-acks 1 it stops instead', async () => {
    for (const minAcks of [0, 1]) {
      const backup = await backupNode();
      const primary = await primaryNode({ minAcks, ackTimeoutMs: 200 });
      await joined(primary, backup.port);
      expect(await primary.bank.bump()).toMatchObject({ kind: 'ok' });
      await backup.server.close(); // the backup is gone
      await new Promise((r) => setTimeout(r, 400));
      expect(primary.link.liveBackups).toEqual([]);
      expect(await primary.bank.bump()).toMatchObject(minAcks === 0 ? { kind: 'ok', result: 2 } : { kind: 'unavailable' });
    }
  });

  it('gives up on a backup that accepts the connection but never answers the handshake', async () => {
    const silent = net.createServer(() => undefined); // accepts, says nothing (a stopped process)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => silent.close(resolve)));
    const link = new TcpLink({ key: KEY, node: 'primary', epoch: () => 1, ackTimeoutMs: 100, handshakeTimeoutMs: 300 });
    closers.push(() => link.close());
    const started = Date.now();
    await expect(link.connect('127.0.0.1', (silent.address() as net.AddressInfo).port)).rejects.toThrow(/did not answer the handshake in time/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  // Found by a second review of the streamed snapshot: a joining connection replaced by a newer one to
  // the same backup was counted as a failed join, and the node's retry then replaced the transfer running,
  // again and again (a snapshot longer than the retry's wait never completed, and the last retry dropped a
  // live backup). A replaced transfer is no longer a failure, and the node does not retry while another
  // connection to that backup is open. The node's retry is reproduced here with short waits.
  it('does not count a joining connection replaced by a newer one to the same backup as a failed join', async () => {
    // Slow transfers: one part in flight, tiny parts.
    const saved = { ...TRANSFER_LIMITS };
    Object.assign(TRANSFER_LIMITS, { partBytes: 64, window: 1 });
    closers.push(() => Object.assign(TRANSFER_LIMITS, saved));
    const { port } = await backupNode();

    let epoch = 1;
    const failures: number[] = [];
    let joinedLogs = 0;
    let connecting = false;
    let link!: TcpLink;
    let runtime!: ServiceRuntime;
    // As ServiceNode.connectBackup: one attempt at a time per address, returns once the snapshot began.
    const connectBackup = async () => {
      if (connecting) return;
      connecting = true;
      try {
        const handle = await link.connect('127.0.0.1', port);
        await runtime.join((w) => handle.join(w));
      } catch {
        // as the node: tried again later
      } finally {
        connecting = false;
      }
    };
    link = new TcpLink({
      key: KEY,
      node: 'primary',
      epoch: () => epoch,
      ackTimeoutMs: 2000,
      heartbeatMs: 50,
      log: (event) => void (event === 'replication.backup.joined' && joinedLogs++),
      // As ServiceNode's handler, with the waits divided by 10.
      onJoinFailed: (_address, n) => {
        failures.push(n);
        setTimeout(() => void connectBackup(), Math.min(3_000, 25 * 2 ** n));
      },
    });
    closers.push(() => link.close());
    runtime = await ServiceRuntime.start({ role: 'primary', mapping: mapping(false), objects, classes, link });
    epoch = runtime.currentEpoch;
    // A state whose transfer takes a while.
    await runtime.execute({ method: 'fill', touches: ['log'] }, () => {
      const log = runtime.object<Log>('log');
      for (let i = 0; i < 4000; i++) log.entries.push({ at: i, text: `entry ${i}` });
    });

    await connectBackup(); // the first transfer begins
    await new Promise((r) => setTimeout(r, 20));
    // A second connection to the same backup while it streams (e.g. the backup's own join request).
    connecting = false;
    await connectBackup();
    await new Promise((r) => setTimeout(r, 4000));
    // The first transfer was only superseded: no failure counted (each would schedule a connection that
    // replaces the next transfer), and the backup joined.
    expect(failures).toEqual([]);
    expect(joinedLogs).toBeGreaterThan(0);
  }, 15_000);
});

describe('connections that never prove the key', () => {
  it('cannot keep the primary out, and do not flood the log', async () => {
    const lines: string[] = [];
    const runtime = await ServiceRuntime.start({ role: 'backup', mapping: mapping(false), objects, classes });
    const server = new ReplicationServer({
      follower: new Follower(runtime.replica, { id: 'backup-under-flood', address: 'backup' }),
      key: KEY,
      node: 'backup',
      handshakeTimeoutMs: 60_000, // idle connections stay as long as they like
      epoch: () => runtime.currentEpoch,
      log: (event) => lines.push(event),
    });
    const { port } = await server.listen('127.0.0.1', 0);
    closers.push(() => server.close());
    // 150 idle connections from the primary's own address, opened before it connects.
    const idle = await idleConnections(port, 150);
    closers.push(() => idle.sockets.forEach((s) => s.destroy()));
    // The oldest were closed to make room, per address.
    await idle.openAtMost(8);
    expect(150 - idle.closed()).toBeLessThanOrEqual(8);

    const primary = await primaryNode();
    const started = performance.now();
    await joined(primary, port);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await primary.bank.charge('alice', 5, { id: 'after-the-flood' })).toMatchObject({ kind: 'ok' });
    expect(server.following).toBe(true);
    await runtime.promote();
    expect(stateOf(runtime).counter).toEqual(stateOf(primary.runtime).counter);
    // 142 closed connections: ten lines and, at the window's end, one summary.
    expect(lines.filter((l) => l.startsWith('replication.peer.')).length).toBeLessThanOrEqual(12);
  });
});

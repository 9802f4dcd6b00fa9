// Found by a second review of the streamed snapshot: a joining connection replaced by a newer one to
// the same backup was counted as a failed join, and the node's retry then replaced the transfer running,
// again and again (a snapshot longer than the retry's wait never completed, and the last retry dropped a
// live backup). A replaced transfer is no longer a failure, and the node does not retry while another
// connection to that backup is open. The node's retry is reproduced here with short waits.
import { afterEach, describe, expect, it } from 'vitest';
import { ReplicationServer } from '../../proxies/transport/server.js';
import { TcpLink } from '../../proxies/transport/tcp-link.js';
import { Follower } from '../../proxies/replication/following.js';
import { TRANSFER_LIMITS } from '../../proxies/replication/transfer.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import { classes, Counter, Ledger, Log, mapping } from '../proxies/support.js';

const KEY = Buffer.from('a-cluster-key-for-tests-only-0123456789');
const objects = [
  { name: 'counter', create: () => new Counter() },
  { name: 'log', create: () => new Log() },
  { name: 'ledger', create: () => new Ledger() },
];
const closers: (() => unknown)[] = [];
const saved = { ...TRANSFER_LIMITS };
afterEach(async () => {
  Object.assign(TRANSFER_LIMITS, saved);
  for (const close of closers.splice(0).reverse()) await close();
});

describe('a streaming connection replaced by a newer one to the same backup', () => {
  it('is not counted as a failed join (which makes the node connect again and cut off the newer transfer)', async () => {
    // Slow transfers: one part in flight, tiny parts.
    Object.assign(TRANSFER_LIMITS, { partBytes: 64, window: 1 });
    const backup = await ServiceRuntime.start({ role: 'backup', mapping: mapping(false), objects, classes });
    const server = new ReplicationServer({ follower: new Follower(backup.replica, { id: 'b', address: 'b' }), key: KEY, node: 'backup', handshakeTimeoutMs: 2000, epoch: () => backup.currentEpoch });
    const { port } = await server.listen('127.0.0.1', 0);
    closers.push(() => server.close());

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
      key: KEY, node: 'primary', epoch: () => epoch, ackTimeoutMs: 2000, heartbeatMs: 50,
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
    // The first transfer was only superseded; nothing broke. Expected: no failure counted, and the backup
    // joined. What happens: each replacement counts, schedules a connection that replaces the next one.
    expect(failures).toEqual([]);
    expect(joinedLogs).toBeGreaterThan(0);
  }, 15_000);
});

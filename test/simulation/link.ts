// The primary's replication link in the simulation: production's PrimaryLink (proxies/transport/
// primary-link.ts: handshake with nonces and MACs, snapshot, stream, acknowledgements, heartbeats, drops,
// leases, fencing) over the simulated network and virtual clock. Only the LinkPort is the simulation's.
import type { Greeting } from '../../proxies/replication/following.js';
import type { Message } from '../../proxies/transport/frames.js';
import { PrimaryLink, type LinkPort, type PeerChannel, type PrimaryLinkOptions } from '../../proxies/transport/primary-link.js';
import { onHost, type Connection, type Host, type Network } from './network.js';

/** Small parts and a small window: the simulation's states are small, and its joins must interleave with batches. */
const SIM_TRANSFER = { partBytes: 256, window: 2, sliceMs: Infinity };

export interface SimLinkOptions extends Omit<PrimaryLinkOptions, 'node' | 'self' | 'transfer'> {
  /** What answers at a backup's port now (the node's probe). */
  probe: (address: string, timeoutMs: number) => Promise<Greeting | undefined>;
}

export class SimLink extends PrimaryLink {
  constructor(host: Host, network: Network, options: SimLinkOptions) {
    super({ ...options, node: host.id, self: () => ({ id: host.id, address: host.id }), transfer: SIM_TRANSFER }, simPort(host, network, options.probe));
  }
}

function simPort(host: Host, network: Network, probe: SimLinkOptions['probe']): LinkPort {
  const scheduler = network.scheduler;
  let nonces = 0;
  return {
    now: () => scheduler.now,
    // Deterministic, and distinct per host and connection: the MACs bind them as production's random ones.
    nonce: () => `${host.id}/${++nonces}`,
    every: (ms, run) => {
      let cancelled = false;
      const next = () =>
        onHost(scheduler, host, scheduler.now + ms, () => {
          if (cancelled) return;
          run();
          next();
        });
      next();
      return { cancel: () => (cancelled = true) };
    },
    after: (ms, run) => onHost(scheduler, host, scheduler.now + ms, run),
    soon: (run) => onHost(scheduler, host, scheduler.now, run),
    probe,
    connect: (address, events) => {
      const connection = network.connect(host, address, {
        message: (message) => events.message(message as Message),
        close: (refused) => events.closed(refused ? 'connection refused' : 'connection closed'),
      });
      return channelOf(connection);
    },
  };
}

/** A simulated connection as a PeerChannel: it never pushes back (the network models delay, not buffers). */
function channelOf(connection: Connection): PeerChannel {
  return {
    get open() {
      return connection.open;
    },
    send: (message) => connection.send(0, message as Record<string, unknown> & { type: string }),
    sendText: (json) => connection.send(0, JSON.parse(json) as Record<string, unknown> & { type: string }),
    close: (farewell) => {
      if (farewell && connection.open) connection.send(0, farewell as Record<string, unknown> & { type: string });
      connection.close(0);
    },
    backlog: () => 0,
    congested: () => false,
    drained: () => Promise.resolve(),
  };
}

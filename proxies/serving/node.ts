// One node of a service: a compiled build run as a primary or a backup, with its HTTP port and its
// replication port. This is the adapter: files, sockets and the system's clock. What the node decides
// (its roles, stepping down, promotion, the backup's duties) is node-core.ts's, which the deterministic
// simulation drives too.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Outcome } from '../action/controller.js';
import { DatabaseStore } from '../database/store.js';
import { systemClock } from '../core/clock.js';
import { askAgain, Coordination } from '../coordination/coordination.js';
import { clusterName, openCoordinatorStore } from '../coordination/stores.js';
import { ReplicationServer } from '../transport/server.js';
import { probeRole, requestJoin } from '../transport/join.js';
import { TcpLink } from '../transport/tcp-link.js';
import { stallAwareClock } from '../transport/clock.js';
import { Follower } from '../replication/following.js';
import type { ServiceRuntime } from '../runtime.js';
import { ClientTokenCheck } from './client-token.js';
import { percentiles, RpcServer } from './http.js';
import { formatAddress, parseAddress, sleep, type Address, type NodeOptions } from './node-options.js';
import { describeOutcome } from './backup-duties.js';
import { NodeCore, type NodePort } from './node-core.js';

export type { Address, NodeOptions } from './node-options.js';
export { parseAddress } from './node-options.js';

/**
 * What the node uses of a running generated service: its run-time controls, from the class's static
 * `controls(service)`, which no method of the service can shadow (its methods keep their own names,
 * `commit` or `dispatch` included).
 */
interface BuiltService {
  runtime: ServiceRuntime;
  dispatch(method: string, args: unknown[], request: { requestId?: string; tx?: string }): Promise<Outcome>;
  begin(): string;
  commit(tx: string): Promise<Outcome>;
  abort(tx: string): Promise<Outcome>;
  promote?(link?: TcpLink): Promise<void>;
}

interface BuiltClass {
  start(options: Record<string, unknown>): Promise<object>;
  controls(service: object): BuiltService;
}

export class ServiceNode {
  private service!: BuiltService;
  private replication!: ReplicationServer;
  private rpc!: RpcServer;
  private database: DatabaseStore | undefined;
  /** The configuration authority, when there is one: membership and takeovers are decided there. */
  private coordination: Coordination | undefined;
  /** The node's decisions; this class gives it sockets and timers. */
  private core!: NodeCore;
  private stopping = false;
  readonly addresses: { http?: Address; repl?: Address } = {};
  /** This process among the primary's backups: addresses can be spelled many ways, ids cannot. */
  private readonly id = randomBytes(8).toString('hex');
  /** The backup's lease clock: a suspended host or a paused VM cannot hide elapsed time from it. */
  private readonly leaseClock = stallAwareClock();

  private constructor(private readonly options: NodeOptions) {}

  static async start(options: NodeOptions): Promise<ServiceNode> {
    const node = new ServiceNode(options);
    await node.boot();
    return node;
  }

  private get httpUrl(): string {
    const a = this.addresses.http ?? this.options.http;
    return `${this.options.tls ? 'https' : 'http'}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  }

  private async boot(): Promise<void> {
    const { build, log } = this.options;
    const manifest = JSON.parse(readFileSync(path.join(build, 'manifest.json'), 'utf8')) as { service: string; stateObjects: { mechanism: string }[] };
    if (manifest.stateObjects.some((s) => s.mechanism === 'database')) {
      this.database = await DatabaseStore.open(this.options.db ?? `sqlite:${path.join(build, 'durable.db')}`);
    }
    if (this.options.coordinator) {
      this.coordination = new Coordination(await openCoordinatorStore(this.options.coordinator, clusterName(manifest.service, this.options.key)));
    }
    const role = this.options.role;
    this.core = new NodeCore(
      {
        backups: this.options.backups.map(formatAddress),
        join: this.options.join?.map(formatAddress),
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
        log,
        onGaveUp: this.options.onGaveUp,
      },
      this.port(),
      this.coordination,
      role,
    );
    const module = (await import(pathToFileURL(path.join(build, role, 'service.mjs')).href)) as Record<string, BuiltClass>;
    const Service = module[manifest.service];
    if (typeof Service?.controls !== 'function')
      throw new Error(`${build}/${role}/service.mjs does not export ${manifest.service} as this version of durability-compiler builds it; compile the service again.`);

    if (role === 'primary') {
      // A node started as primary while one of its backups already is (it took over after this node
      // died) would take over again with less state: refuse, and say how to rejoin instead. With a
      // configuration authority, the nodes it names are asked too, and the new epoch is above its own.
      const configured = this.coordination && (await askAgain(() => this.coordination!.read(), sleep));
      const named = (configured ? [configured.primary, ...configured.members] : []).map((m) => parseAddress(m.address));
      for (const backup of [...this.options.backups, ...named]) {
        const found = await probeRole(backup.host, backup.port, undefined, this.options.tls);
        if (found?.role === 'primary') {
          throw new Error(
            `The node at ${backup.host}:${backup.port} is already the primary (epoch ${found.epoch}, serving ${found.node}). Start this node as a backup instead: --role backup --join ${backup.host}:${backup.port}.`,
          );
        }
        if (found?.holdsState) {
          throw new Error(
            `The backup at ${backup.host}:${backup.port} holds the state of a primary (up to record ${found.seq}, epoch ${found.epoch}); starting a new primary over it would erase that. Let it take over (it will after its heartbeat timeout, or POST /admin/promote to it), then start this node with --role backup --join ${backup.host}:${backup.port}.`,
          );
        }
      }
      this.service = Service.controls(await Service.start({ database: this.database, link: this.core.newLink(), minEpoch: configured ? configured.epoch + 1 : undefined }));
    } else {
      this.service = Service.controls(await Service.start({ database: this.database }));
    }
    const follower = new Follower(this.service.runtime.replica, { id: this.id, address: '' }, this.options.heartbeatTimeoutMs);
    const core = this.core;
    this.replication = new ReplicationServer({
      follower,
      key: this.options.key,
      node: this.httpUrl,
      tls: this.options.tls,
      log,
      onJoin: (address) => core.joinRequested(address),
      isPrimary: () => core.role === 'primary',
      epoch: () => this.service.runtime.currentEpoch,
      role: () => core.greetingRole(),
      onNewerPrimary: (epoch) => core.stepDown(epoch),
      holders: () => core.holdersAtStop,
      replacedAt: () => core.replacedAt(),
      clock: this.leaseClock,
      onPrimaryLost: () => core.duties.detect(),
    });
    const repl = await this.replication.listen(this.options.repl.host, this.options.repl.port);
    this.addresses.repl = { host: repl.address, port: repl.port };
    (follower.self as { address: string }).address = formatAddress({ host: repl.address, port: repl.port });
    core.attach(this.service.runtime, follower);
    if (role === 'primary' && this.coordination) {
      const claimed = await core.claimPrimary();
      if (claimed.kind !== 'written' && claimed.kind !== 'done')
        throw new Error(`The configuration authority (${this.coordination.store.description}) did not make this node primary: ${describeOutcome(claimed)}.`);
      log('coordination.primary', { epoch: this.service.runtime.currentEpoch });
    }
    this.rpc = new RpcServer(this.served(), { log, clientToken: this.options.clientToken ? new ClientTokenCheck(this.options.clientToken) : undefined, tls: this.options.tls });
    const http = await this.rpc.listen(this.options.http.host, this.options.http.port);
    this.addresses.http = { host: http.address, port: http.port };
    (this.replication.options as { node: string }).node = this.httpUrl;
    log('node.started', { role, epoch: this.service.runtime.currentEpoch, http: this.httpUrl, repl: `${repl.address}:${repl.port}` });
    core.start(this.database !== undefined);
  }

  /** The core's ports: TCP (or TLS) to the other nodes, the system's timers, this node's replication port. */
  private port(): NodePort {
    const { key, tls, heartbeatTimeoutMs } = this.options;
    return {
      // The system's clock, with sleeps that do not keep the process alive (a join retried in 30 s must not delay an exit).
      clock: { ...systemClock, sleep },
      leaseNow: this.leaseClock,
      probe: (address) => {
        const { host, port } = parseAddress(address);
        return probeRole(host, port, heartbeatTimeoutMs, tls);
      },
      requestJoin: (address) => {
        const { host, port } = parseAddress(address);
        return requestJoin(host, port, key, this.core.follower.self.address, undefined, tls);
      },
      newLink: (events) =>
        new TcpLink({
          ...events,
          key,
          node: () => this.httpUrl,
          epoch: () => this.service?.runtime.currentEpoch ?? 1,
          minAcks: this.options.minAcks,
          ackTimeoutMs: heartbeatTimeoutMs,
          heartbeatMs: this.options.heartbeatIntervalMs,
          tls,
          log: this.options.log,
          // The follower exists once the run-time has started; the link's timer may tick before that.
          self: () => this.core.follower?.self,
        }),
      following: () => this.replication?.following ?? false,
      lastEnded: () => this.replication?.lastEnded,
      stopping: () => this.stopping,
      changed: () => {
        this.change.resolve();
        this.change = changeSignal();
      },
    };
  }

  /** Settles at the next change of this node's role (GET /watch waits on it). */
  private change = changeSignal();

  /** Becomes the primary (POST /admin/promote, and tests). */
  promote(): Promise<void> {
    return this.core.promote();
  }

  private served() {
    const core = this.core;
    const backupReady = () => this.replication.following && core.follower.caughtUp && core.follower.countedSince !== undefined && core.duties.takeover().automatic;
    return {
      role: () => (core.fenced() ? 'backup' : core.role),
      epoch: () => this.service.runtime.currentEpoch,
      // A backup is ready once it holds its primary's snapshot and would take over by itself (docs/SERVING.md:
      // "a backup when it has caught up and could take over"), not merely when a primary connected.
      ready: () => (core.role === 'primary' ? core.serving : !core.fenced() && !this.service.runtime.stopped && backupReady()),
      takeover: () => (core.role === 'primary' || core.fenced() ? undefined : core.duties.takeover()),
      nextChange: () => this.change.promise,
      takingOver: () => core.takingOver,
      primaryHint: () => (core.role === 'primary' && !core.fenced() ? this.httpUrl : core.follower.primaryNode),
      dispatch: (method: string, args: unknown[], request: { requestId?: string; tx?: string }) => this.service.dispatch(method, args, request).finally(() => core.noticeStop()),
      begin: () => this.service.begin(),
      commit: (tx: string) => this.service.commit(tx).finally(() => core.noticeStop()),
      abort: (tx: string) => this.service.abort(tx),
      promote: () => core.promote(),
      metrics: () => {
        const stats = this.service.runtime.committer?.stats;
        return {
          role: core.fenced() ? 'backup' : core.role,
          epoch: this.service.runtime.currentEpoch,
          liveBackups: core.link?.liveBackups ?? [],
          replicationLag: core.link?.replicationLag ?? [],
          promotions: core.promotions,
          lastApplied: this.service.runtime.replica.lastApplied,
          commits: stats && {
            groups: stats.groups,
            actions: stats.actions,
            groupSize: percentiles(stats.groupSizes),
            replicationMs: percentiles(stats.replicationMs),
            databaseMs: percentiles(stats.databaseMs),
          },
        };
      },
      key: this.options.key,
    };
  }

  /** Graceful stop: no new requests, those in flight finish, then the ports and the database close. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.core.stop();
    await this.rpc.close();
    this.core.closeLink();
    await this.replication.close();
    await this.database?.close();
    await this.coordination?.close();
    this.options.log('node.stopped', { role: this.core.role });
  }
}

/** A promise and the function that settles it (Promise.withResolvers is not in Node 20). */
function changeSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

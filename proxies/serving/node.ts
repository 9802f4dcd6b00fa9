// One node of a service: a compiled build run as a primary or a backup, with its HTTP port, its
// replication port and its roles' duties. A primary connects to its backups (--backups, retried until
// they answer) and to backups that ask to join, and keeps the configuration authority's members; a
// backup's duties (watching its primary, taking over or saying why not) are in backup-duties.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Outcome } from '../action/controller.js';
import { DatabaseStore } from '../database/store.js';
import { askAgain, Coordination, type Outcome as ConfigurationOutcome } from '../coordination/coordination.js';
import { clusterName, openCoordinatorStore } from '../coordination/stores.js';
import { ReplicationServer } from '../transport/server.js';
import { probeRole } from '../transport/join.js';
import { TcpLink } from '../transport/tcp-link.js';
import { stallAwareClock } from '../transport/clock.js';
import { Follower, type Member } from '../replication/following.js';
import { BehindError, type ServiceRuntime } from '../runtime.js';
import { ClientTokenCheck } from './client-token.js';
import { percentiles, RpcServer } from './http.js';
import { parseAddress, sleep, type Address, type NodeOptions } from './node-options.js';
import { BackupDuties, describeOutcome } from './backup-duties.js';

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
  private role: 'primary' | 'backup';
  private service!: BuiltService;
  private link: TcpLink | undefined;
  private replication!: ReplicationServer;
  private follower!: Follower;
  private rpc!: RpcServer;
  private database: DatabaseStore | undefined;
  /** The configuration authority, when there is one: membership and takeovers are decided there. */
  private coordination: Coordination | undefined;
  /** The backup's duties: joining, watching the primary, taking over or saying why not. */
  private readonly duties: BackupDuties;
  private stopping = false;
  private promoting: Promise<void> | undefined;
  /** Times this node became the primary by taking over (for /metrics). */
  private promotions = 0;
  readonly addresses: { http?: Address; repl?: Address } = {};
  /** This process among the primary's backups: addresses can be spelled many ways, ids cannot. */
  private readonly id = randomBytes(8).toString('hex');
  /** The backup's lease clock: a suspended host or a paused VM cannot hide elapsed time from it. */
  private readonly clock = stallAwareClock();

  private constructor(private readonly options: NodeOptions) {
    this.role = options.role;
    // The duties read the node's parts as boot creates them.
    const node = this;
    this.duties = new BackupDuties({
      options: this.options,
      get follower() {
        return node.follower;
      },
      get replication() {
        return node.replication;
      },
      get coordination() {
        return node.coordination;
      },
      id: this.id,
      epoch: () => this.service.runtime.currentEpoch,
      clock: () => this.clock(),
      isBackup: () => this.role === 'backup' && this.fencedBy === undefined && !this.stopping,
      stopping: () => this.stopping,
      promote: () => this.promote(),
      holdsAllCommitted: () => this.service.runtime.holdsAllCommitted(),
      logOnce: (event, error) => this.logOnce(event, error),
    });
  }

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
    const module = (await import(pathToFileURL(path.join(build, this.role, 'service.mjs')).href)) as Record<string, BuiltClass>;
    const Service = module[manifest.service];
    if (typeof Service?.controls !== 'function')
      throw new Error(`${build}/${this.role}/service.mjs does not export ${manifest.service} as this version of durability-compiler builds it; compile the service again.`);

    if (this.role === 'primary') {
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
      this.link = this.newLink();
      this.service = Service.controls(await Service.start({ database: this.database, link: this.link, minEpoch: configured ? configured.epoch + 1 : undefined }));
    } else {
      this.service = Service.controls(await Service.start({ database: this.database }));
    }
    this.follower = new Follower(this.service.runtime.replica, { id: this.id, address: '' }, this.options.heartbeatTimeoutMs);
    this.replication = new ReplicationServer({
      follower: this.follower,
      key: this.options.key,
      node: this.httpUrl,
      tls: this.options.tls,
      log,
      onJoin: this.role === 'primary' ? (address) => void this.connectBackup(parseAddress(address)) : undefined,
      epoch: () => this.service.runtime.currentEpoch,
      role: () => (this.fenced() || this.service.runtime.stopped ? 'stopped' : this.role === 'primary' ? 'primary' : this.follower.greetingRole),
      onNewerPrimary: (epoch) => this.stepDown(epoch),
      holders: () => this.holdersAtStop,
      replacedAt: () => this.replacedAt(),
      clock: this.clock,
      onPrimaryLost: () => this.duties.detect(),
    });
    const repl = await this.replication.listen(this.options.repl.host, this.options.repl.port);
    this.addresses.repl = { host: repl.address, port: repl.port };
    (this.follower.self as { address: string }).address = `${repl.address}:${repl.port}`;
    if (this.role === 'primary' && this.coordination) {
      const claimed = await askAgain(() => this.coordination!.claimPrimary(this.follower.self, this.service.runtime.currentEpoch), sleep);
      if (claimed.kind !== 'written' && claimed.kind !== 'done')
        throw new Error(`The configuration authority (${this.coordination.store.description}) did not make this node primary: ${describeOutcome(claimed)}.`);
      log('coordination.primary', { epoch: this.service.runtime.currentEpoch });
    }
    this.rpc = new RpcServer(this.served(), { log, clientToken: this.options.clientToken ? new ClientTokenCheck(this.options.clientToken) : undefined, tls: this.options.tls });
    const http = await this.rpc.listen(this.options.http.host, this.options.http.port);
    this.addresses.http = { host: http.address, port: http.port };
    (this.replication.options as { node: string }).node = this.httpUrl;
    log('node.started', { role: this.role, epoch: this.service.runtime.currentEpoch, http: this.httpUrl, repl: `${repl.address}:${repl.port}` });

    if (this.role === 'primary') for (const backup of this.options.backups) void this.connectBackup(backup);
    else this.duties.start(`${this.addresses.repl!.host}:${this.addresses.repl!.port}`);
    if (this.database || this.coordination) this.watchEpoch();
  }

  private newLink(): TcpLink {
    return new TcpLink({
      key: this.options.key,
      node: () => this.httpUrl,
      epoch: () => this.service?.runtime.currentEpoch ?? 1,
      minAcks: this.options.minAcks,
      ackTimeoutMs: this.options.heartbeatTimeoutMs,
      heartbeatMs: this.options.heartbeatIntervalMs,
      tls: this.options.tls,
      log: this.options.log,
      onFenced: (epoch) => this.stepDown(epoch),
      // A backup lost while both live (a reset, a gap it refused, a slow link) is taken on again. With a
      // configuration authority, it stops being a member there before anything commits without it.
      onDropped: (address, id, lease, reconnect) => {
        if (this.coordination)
          void this.configure(
            'member.removed',
            (self, epoch) => this.coordination!.removeMember(self, epoch, id),
            () => this.link?.released(id, lease),
          );
        if (reconnect && this.role === 'primary' && !this.stopping) void this.connectBackup(parseAddress(address));
      },
      // A snapshot that broke off is sent again, after a wait that doubles each time (a backup that
      // asked to join asks again too; the two meet in connectBackup).
      onJoinFailed: (address, failures) => {
        if (this.role === 'primary' && !this.stopping)
          void sleep(Math.min(30_000, 250 * 2 ** failures)).then(() => {
            // Unless another connection to it has begun meanwhile (it asked to join again): that one goes on.
            if (this.role === 'primary' && !this.stopping && !this.link?.connectedTo(address)) void this.connectBackup(parseAddress(address));
          });
      },
      coordinated: this.coordination !== undefined,
      onCaughtUp: (backup) => {
        if (this.coordination) void this.configure('member.added', (self, epoch) => this.coordination!.addMember(self, epoch, backup));
      },
      // The follower exists once the run-time has started; the link's timer may tick before that.
      self: () => this.follower?.self,
    });
  }

  /** The primary's changes at the configuration authority, one at a time and in order (an add then a remove must not swap). */
  private configuring: Promise<void> = Promise.resolve();

  /**
   * Runs one membership change at the authority, retried while it cannot be reached (commits that
   * depend on it wait meanwhile); a primary the authority no longer names steps down.
   */
  private configure(what: string, step: (self: Member, epoch: number) => Promise<ConfigurationOutcome>, then?: () => void): Promise<void> {
    this.configuring = this.configuring.then(async () => {
      for (let attempt = 0; this.role === 'primary' && !this.fenced() && !this.stopping; attempt++) {
        try {
          const outcome = await step(this.follower.self, this.service.runtime.currentEpoch);
          if (outcome.kind === 'fenced') return this.stepDown(this.service.runtime.currentEpoch + 1);
          if (outcome.kind === 'written') this.options.log(`coordination.${what}`, { members: outcome.configuration.members.map((m) => m.address), version: outcome.configuration.version });
          then?.();
          return;
        } catch (error) {
          if (attempt % 20 === 0) this.options.log('coordination.unreachable', { step: what, error: (error as Error).message });
          await sleep(Math.min(1_000, 50 * (attempt + 1)));
        }
      }
    });
    return this.configuring;
  }

  /** Settles at the next change of this node's role (GET /watch waits on it). */
  private change = changeSignal();

  private changed(): void {
    this.change.resolve();
    this.change = changeSignal();
  }

  /** Another node is primary at a newer epoch: stop serving writes; clients are sent elsewhere. */
  private stepDown(epoch: number): void {
    if (this.role !== 'primary') return;
    this.role = 'backup';
    this.fencedBy = epoch;
    this.options.log('role.changed', { role: 'fenced', epoch: this.service.runtime.currentEpoch, newerEpoch: epoch });
    this.goSilent();
    this.changed();
  }

  /**
   * No more heartbeats: the backups that still follow this node find who takes over. It acknowledges
   * nothing more, so it names to backups that ask those that hold all it did (unless it was replaced).
   */
  private goSilent(): void {
    this.silent = true;
    // Replaced by a newer primary: that one may acknowledge what they lack, so it names none.
    if (this.replacedAt() === undefined) {
      this.holdersAtStop = this.link?.holders ?? [];
      this.options.log('replication.holders', { holders: this.holdersAtStop.map((m) => m.address), note: 'these backups hold everything this node acknowledged' });
    }
    this.link?.close();
  }

  private holdersAtStop: { id: string; address: string }[] | undefined;

  /** The newer epoch that replaced this primary (a peer's, or the database's), if one did. */
  private replacedAt(): number | undefined {
    return this.fencedBy ?? (this.service.runtime.stopped?.fenced ? this.service.runtime.currentEpoch + 1 : undefined);
  }

  private silent = false;

  private fencedBy: number | undefined;

  /** Fenced off: by a peer at a newer epoch, or by the database's epoch on a commit. */
  private fenced(): boolean {
    return this.fencedBy !== undefined || this.service.runtime.stopped?.fenced === true;
  }

  /** Backups being connected to: one attempt loop per address, however many reasons ask for one. */
  private readonly connecting = new Set<string>();

  /** Connects to a backup and joins it (snapshot, then stream), retrying until it answers. */
  private async connectBackup(address: Address): Promise<void> {
    const name = `${address.host}:${address.port}`;
    if (this.connecting.has(name)) return;
    this.connecting.add(name);
    try {
      await this.connectBackupOnce(address);
    } finally {
      this.connecting.delete(name);
    }
  }

  private async connectBackupOnce(address: Address): Promise<void> {
    for (let attempt = 0; !this.stopping && this.role === 'primary' && !this.fenced() && !this.service.runtime.stopped; attempt++) {
      try {
        const handle = await this.link!.connect(address.host, address.port);
        await this.service.runtime.join((snapshot) => handle.join(snapshot));
        return;
      } catch (error) {
        if (attempt % 20 === 0) this.options.log('replication.backup.unreachable', { backup: `${address.host}:${address.port}`, error: (error as Error).message });
        await sleep(Math.min(1_000, 100 * (attempt + 1)));
      }
    }
  }

  /**
   * Now and then, a primary checks that the database's epoch is still its own: one that another node
   * replaced while it was not committing (waiting for backups, or idle) steps down instead of holding
   * its backups and clients.
   */
  private watchEpoch(): void {
    this.epochWatch = setInterval(() => {
      if (this.role !== 'primary' || this.fenced() || this.stopping) return;
      void this.service.runtime.epochIsCurrent().then(
        (current) => {
          if (!current) this.stepDown(this.service.runtime.currentEpoch + 1);
        },
        () => undefined, // the database is unreachable: the next commit will say so
      );
      // And the configuration authority's: a primary it no longer names was replaced.
      void this.coordination?.read().then(
        (configuration) => {
          const epoch = this.service.runtime.currentEpoch;
          if (configuration && (configuration.primary.id !== this.id || configuration.epoch > epoch) && this.role === 'primary') this.stepDown(Math.max(configuration.epoch, epoch + 1));
        },
        () => undefined, // unreachable: the next change of members will wait for it
      );
    }, this.options.heartbeatTimeoutMs);
    this.epochWatch.unref();
  }

  private epochWatch: NodeJS.Timeout | undefined;

  /** A takeover retried every few milliseconds while the database is down logs each new reason once. */
  private logOnce(event: string, error: string): void {
    if (this.lastFailures.get(event) === error) return;
    this.lastFailures.set(event, error);
    this.options.log(event, { error });
  }

  private readonly lastFailures = new Map<string, string>();

  /** Becomes the primary: settles what the old primary left, raises the epoch, serves. */
  promote(): Promise<void> {
    this.promoting ??= this.takeOver().catch((error: Error) => {
      this.promoting = undefined; // another attempt may succeed (another node may have won instead)
      if (error instanceof BehindError) this.follower.cannotLead = error.message;
      this.logOnce('role.promotion.failed', error.message);
      throw error;
    });
    return this.promoting;
  }

  private takeOver(): Promise<void> {
    return (async () => {
      if (this.role === 'primary') return;
      const started = Date.now();
      if (this.coordination && this.duties.authorized === undefined) {
        // By hand (POST /admin/promote): the authority is told first, so the old primary is fenced there.
        const claimed = await this.coordination.promoteByHand(this.follower.self, this.service.runtime.currentEpoch);
        if (claimed.kind === 'written') this.duties.authorized = claimed.configuration.epoch;
        else if (claimed.kind !== 'done') throw new Error(`The configuration authority refused: ${describeOutcome(claimed)}`);
      }
      if (this.duties.authorized !== undefined) this.service.runtime.epochFloor = this.duties.authorized;
      this.service.runtime.identity = this.follower.self.id;
      this.link = this.newLink();
      this.follower.takingOver = true;
      try {
        await this.service.promote!(this.link);
      } finally {
        this.follower.takingOver = false;
      }
      this.role = 'primary';
      this.changed();
      this.replication.options.onJoin = (address) => void this.connectBackup(parseAddress(address));
      this.promotions++;
      this.options.log('role.changed', { role: 'primary', epoch: this.service.runtime.currentEpoch, promotionMs: Date.now() - started });
      for (const backup of this.options.backups) void this.connectBackup(backup);
      // And every backup of the old primary it knew of: they may not be in --backups (they joined).
      for (const member of this.follower.peers) if (member.id !== this.id) void this.connectBackup(parseAddress(member.address));
    })();
  }

  private served() {
    return {
      role: () => (this.fenced() ? 'backup' : this.role),
      epoch: () => this.service.runtime.currentEpoch,
      // A backup is ready once it holds its primary's snapshot and would take over by itself (docs/SERVING.md:
      // "a backup when it has caught up and could take over"), not merely when a primary connected.
      ready: () =>
        !this.fenced() &&
        !this.service.runtime.stopped &&
        (this.role === 'primary' ? (this.link?.ready ?? true) : this.replication.following && this.follower.caughtUp && this.follower.countedSince !== undefined && this.duties.takeover().automatic),
      takeover: () => (this.role === 'primary' || this.fenced() ? undefined : this.duties.takeover()),
      nextChange: () => this.change.promise,
      takingOver: () => (this.role === 'primary' || this.fenced() ? undefined : this.promoting),
      primaryHint: () => (this.fenced() ? this.follower.primaryNode : this.role === 'primary' ? this.httpUrl : this.follower.primaryNode),
      dispatch: (method: string, args: unknown[], request: { requestId?: string; tx?: string }) => this.service.dispatch(method, args, request).finally(() => this.noticeStop()),
      begin: () => this.service.begin(),
      commit: (tx: string) => this.service.commit(tx).finally(() => this.noticeStop()),
      abort: (tx: string) => this.service.abort(tx),
      promote: () => this.promote(),
      metrics: () => {
        const stats = this.service.runtime.committer?.stats;
        return {
          role: this.role,
          epoch: this.service.runtime.currentEpoch,
          liveBackups: this.link?.liveBackups ?? [],
          replicationLag: this.link?.replicationLag ?? [],
          promotions: this.promotions,
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

  /**
   * The run-time stopped committing (fenced by the database's epoch, a commit's outcome unknowable, or
   * the backups not all told): this node can no longer serve, so it goes silent. Its backups then
   * suspect it, find it stopped, and the first of them takes over from the state they hold.
   */
  private noticeStop(): void {
    const stopped = this.service.runtime.stopped;
    if (!stopped || this.role !== 'primary' || this.silent) return;
    this.options.log('role.changed', { role: stopped.fenced ? 'fenced' : 'stopped', epoch: this.service.runtime.currentEpoch, reason: stopped.reason });
    this.goSilent();
    this.changed();
  }

  /** Graceful stop: no new requests, those in flight finish, then the ports and the database close. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.duties.stop();
    clearInterval(this.epochWatch);
    await this.rpc.close();
    this.link?.close();
    await this.replication.close();
    await this.database?.close();
    await this.coordination?.close();
    this.options.log('node.stopped', { role: this.role });
  }
}

/** A promise and the function that settles it (Promise.withResolvers is not in Node 20). */
function changeSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

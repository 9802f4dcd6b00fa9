// One simulated process of the service: the adapter serving/node.ts and transport/server.ts are, over
// the simulated network and clock. It composes the real run-time (ServiceRuntime: action controller,
// committer, replication proxy, backup replica, promotion) with the real protocol cores (Follower and
// decideSuccession for the backup's side, BackupSet through SimLink for the primary's), so what the
// simulation explores is the code that runs in production, minus sockets and timers.
import type { Outcome } from '../../proxies/action/controller.js';
import type { Clock } from '../../proxies/core/clock.js';
import type { DatabaseStore } from '../../proxies/database/store.js';
import { decideSuccession, Follower, type Greeting, type Member } from '../../proxies/replication/following.js';
import { BehindError, ServiceRuntime } from '../../proxies/runtime.js';
import { askAgain, Coordination, type Outcome as ConfigurationOutcome } from '../../proxies/coordination/coordination.js';
import type { SimCoordinator } from './coordinator.js';
import type { SimDatabase } from './database.js';
import { BackupSession, type AcceptingNode } from '../../proxies/transport/backup-session.js';
import type { Message } from '../../proxies/transport/frames.js';
import { greetingOf, JoinRequest, JoinRefusedError } from '../../proxies/transport/join.js';
import { SimLink } from './link.js';
import { onHost, type Connection, type Host, type Network } from './network.js';
import { add, classes, objects, simulatedMapping } from './service.js';

/** The simulated cluster's key: the handshake's MACs are production's, over it. */
const SIM_CLUSTER_KEY = Buffer.from('simulation-cluster-key-0123456789');

export interface NodeConfig {
  minAcks: number;
  heartbeatMs: number;
  timeoutMs: number;
  update: 'repeat' | 'state';
  database?: SimDatabase;
  /** A configuration authority (--coordinator): membership and takeovers are decided there. */
  coordinator?: SimCoordinator;
  /** The other nodes' names (--backups): a primary connects to them, a promoted backup too. */
  backups: string[];
  /** A replacement backup asks this node to take it on (--join). */
  join?: string;
  log: (node: string, event: string, fields?: Record<string, unknown>) => void;
  /** Log the replication link's every step too. */
  trace?: boolean;
  /**
   * The rule this project had before the lease (a test of the checker only): a backup takes over when
   * its primary has been silent for the timeout. It loses acknowledged writes when the primary was only
   * paused or cut off and had dropped the backup; the checker must say so.
   */
  takeOverOnSilence?: boolean;
}

export class SimNode implements Host {
  alive = true;
  pausedUntil = 0;
  /** When this process started (virtual ms): the operator replaces a new backup that never got a snapshot. */
  readonly startedAt: number;
  role: 'primary' | 'backup';
  /** A peer at this newer epoch told this primary it was replaced. */
  fencedBy: number | undefined;
  runtime!: ServiceRuntime;
  follower!: Follower;
  link: SimLink | undefined;
  /** The connection of the primary this backup follows. */
  private primaryConnection: Connection | undefined;
  private deciding = false;
  private promoting: Promise<void> | undefined;
  private readonly store: DatabaseStore | undefined;
  private readonly coordination: Coordination | undefined;

  constructor(
    readonly id: string,
    role: 'primary' | 'backup',
    private readonly network: Network,
    private readonly config: NodeConfig,
  ) {
    this.role = role;
    this.startedAt = network.scheduler.now;
    this.store = config.database?.clientFor(this);
    this.coordination = config.coordinator && new Coordination(config.coordinator.clientFor(this));
    network.add(this);
  }

  private get now(): number {
    return this.network.scheduler.now;
  }

  private after(ms: number, run: () => void): void {
    onHost(this.network.scheduler, this, this.now + ms, run);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** The run-time's clock: this process's virtual time (a crashed one's timers never fire, a paused one's wait). */
  private readonly clock: Clock = {
    now: () => this.now,
    sleep: (ms) => this.sleep(ms),
    timer: (ms, run) => {
      let cancelled = false;
      this.after(ms, () => cancelled || run());
      return { cancel: () => (cancelled = true) };
    },
  };

  /** Whether this node is a primary that was neither fenced nor stopped. */
  get primary(): boolean {
    return this.alive && this.role === 'primary' && this.fencedBy === undefined && this.runtime !== undefined && !this.runtime.stopped;
  }

  /** Whether it serves requests now: a primary with enough backups holding its state (as serving/node.ts). */
  get serving(): boolean {
    return this.primary && (this.link?.backups.ready ?? true);
  }

  async boot(): Promise<void> {
    const mapping = simulatedMapping({ database: this.config.database !== undefined, update: this.config.update });
    if (this.role === 'primary') {
      this.link = this.newLink();
      const configured =
        this.coordination &&
        (await askAgain(
          () => this.coordination!.read(),
          (ms) => this.sleep(ms),
        ));
      this.runtime = await ServiceRuntime.start({
        role: 'primary',
        mapping,
        objects,
        classes,
        database: this.store,
        link: this.link,
        minEpoch: configured ? configured.epoch + 1 : undefined,
        clock: this.clock,
      });
    } else {
      this.runtime = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes, database: this.store, clock: this.clock });
    }
    this.follower = new Follower(this.runtime.replica, { id: this.id, address: this.id }, this.config.timeoutMs);
    if (this.role === 'primary' && this.coordination) {
      const claimed = await askAgain(
        () => this.coordination!.claimPrimary(this.follower.self, this.runtime.currentEpoch),
        (ms) => this.sleep(ms),
      );
      if (claimed.kind !== 'written' && claimed.kind !== 'done') throw new Error(`not made primary: ${JSON.stringify(claimed)}`);
    }
    this.config.log(this.id, 'started', { role: this.role, epoch: this.runtime.currentEpoch });
    if (this.role === 'primary') for (const backup of this.config.backups) void this.connectBackup(backup);
    else this.follow();
    if (this.store || this.coordination) this.watchEpoch();
  }

  private newLink(): SimLink {
    return new SimLink(this, this.network, {
      minAcks: this.config.minAcks,
      ackTimeoutMs: this.config.timeoutMs,
      heartbeatMs: this.config.heartbeatMs,
      handshakeTimeoutMs: 5 * this.config.timeoutMs,
      epoch: () => this.runtime?.currentEpoch ?? 1,
      onFenced: (epoch) => this.fence(epoch),
      onDropped: (backup, id, lease, reconnect) => {
        if (this.coordination)
          void this.configure(
            'member.removed',
            (self, epoch) => this.coordination!.removeMember(self, epoch, id),
            () => this.link?.released(id, lease),
          );
        if (reconnect && this.primary) void this.connectBackup(backup);
      },
      onJoinFailed: (backup, failures) => {
        if (this.primary)
          void this.sleep(Math.min(30_000, 250 * 2 ** failures)).then(() => {
            if (this.primary && !this.link?.connectedTo(backup)) void this.connectBackup(backup);
          });
      },
      coordinated: this.coordination !== undefined,
      onCaughtUp: (backup) => {
        if (this.coordination) void this.configure('member.added', (self, epoch) => this.coordination!.addMember(self, epoch, backup));
      },
      key: SIM_CLUSTER_KEY,
      probe: (address) => this.probe(address),
      trace: this.config.trace ? (event, fields) => this.config.log(this.id, event, fields) : undefined,
      log: this.config.trace ? (event, fields) => this.config.log(this.id, event, fields) : undefined,
    });
  }

  private configuring: Promise<void> = Promise.resolve();

  /** As serving/node.ts: one membership change at a time, in order, retried while the authority does not answer. */
  private configure(what: string, step: (self: Member, epoch: number) => Promise<ConfigurationOutcome>, then?: () => void): Promise<void> {
    this.configuring = this.configuring.then(async () => {
      for (let attempt = 0; this.primary; attempt++) {
        try {
          const outcome = await step(this.follower.self, this.runtime.currentEpoch);
          if (outcome.kind === 'fenced') return this.fence(this.runtime.currentEpoch + 1);
          if (outcome.kind === 'written') this.config.log(this.id, `coordination.${what}`, { members: outcome.configuration.members.map((m) => m.id) });
          then?.();
          return;
        } catch {
          await this.sleep(Math.min(1_000, 50 * (attempt + 1)));
        }
      }
    });
    return this.configuring;
  }

  /** Another node is primary at a newer epoch: stop serving and go silent (as serving/node.ts stepDown). */
  private fence(epoch: number): void {
    if (this.role !== 'primary' || this.fencedBy !== undefined) return;
    this.fencedBy = epoch;
    this.config.log(this.id, 'fenced', { epoch: this.runtime.currentEpoch, newer: epoch });
    this.goSilent();
  }

  /** As serving/node.ts: no more heartbeats, so the backups that still follow this node look elsewhere. */
  private goSilent(): void {
    this.silent = true;
    if (this.replacedAt() === undefined) this.holdersAtStop = this.link?.backups.holders ?? [];
    this.link?.close();
  }

  private holdersAtStop: Member[] | undefined;

  /** As serving/node.ts: the newer epoch that replaced this primary, if one did. */
  private replacedAt(): number | undefined {
    return this.fencedBy ?? (this.runtime.stopped?.fenced ? this.runtime.currentEpoch + 1 : undefined);
  }

  /** What this primary named as holders when it stopped (the operator reads it in its log). */
  get stoppedHolders(): Member[] | undefined {
    return this.holdersAtStop;
  }

  private silent = false;

  // ---- the primary's duties ----

  /** As serving/node.ts: a primary replaced while it was not committing learns it from the database. */
  private watchEpoch(): void {
    this.after(this.config.timeoutMs, () => {
      if (this.role === 'primary' && this.fencedBy === undefined) {
        void this.runtime.epochIsCurrent().then((current) => {
          if (!current) this.fence(this.runtime.currentEpoch + 1);
        });
        void this.coordination?.read().then(
          (configuration) => {
            const epoch = this.runtime.currentEpoch;
            if (configuration && (configuration.primary.id !== this.id || configuration.epoch > epoch) && this.role === 'primary') this.fence(Math.max(configuration.epoch, epoch + 1));
          },
          () => undefined,
        );
      }
      this.watchEpoch();
    });
  }

  private readonly connecting = new Set<string>();

  /** As serving/node.ts: one attempt loop per backup, however many reasons ask for one. */
  private async connectBackup(backup: string): Promise<void> {
    if (this.connecting.has(backup)) return;
    this.connecting.add(backup);
    try {
      await this.connectBackupOnce(backup);
    } finally {
      this.connecting.delete(backup);
    }
  }

  private async connectBackupOnce(backup: string): Promise<void> {
    for (let attempt = 0; this.primary; attempt++) {
      try {
        const handle = await this.link!.connect(backup);
        await this.runtime.join((snapshot) => handle.join(snapshot));
        this.config.log(this.id, 'backup.joined', { backup });
        return;
      } catch (error) {
        this.config.log(this.id, 'backup.unreachable', { backup, error: (error as Error).message });
        await this.sleep(Math.min(1_000, 100 * (attempt + 1)));
      }
    }
  }

  // ---- the backup's duties ----

  private follow(): void {
    if (this.config.join) {
      // As serving/node.ts: a backup asked instead names the primary it follows, and the join goes there.
      void (async () => {
        let target = this.config.join!;
        while (this.alive && !this.runtime.replica.hasSnapshot && this.role === 'backup') {
          if (!this.primaryConnection) {
            const redirect = await this.requestJoin(target);
            if (redirect && redirect !== this.id) {
              target = redirect;
              await this.sleep(50);
              continue;
            }
          }
          await this.sleep(500);
        }
      })();
    }
    const every = Math.max(5, Math.min(this.config.heartbeatMs, this.config.timeoutMs / 4));
    const tick = () => {
      if (this.role !== 'backup') return;
      this.detect();
      this.after(every, tick);
    };
    this.after(every, tick);
  }

  /** As serving/node.ts: on every tick, and at once when the primary's connection ends. */
  private detect(): void {
    if (this.config.takeOverOnSilence && this.role === 'backup' && this.follower.replica.hasSnapshot && this.now - this.follower.lastHeard > this.config.timeoutMs) {
      void this.promote().catch(() => undefined);
      return;
    }
    const suspects = this.follower.suspects() || (this.coordination !== undefined && this.follower.replica.hasSnapshot && this.now - this.follower.lastHeard > this.config.timeoutMs);
    if (this.role !== 'backup' || this.deciding || !suspects || this.now < this.decideAgainAt) return;
    this.deciding = true;
    this.config.log(this.id, 'suspects', { primary: this.follower.primaryNode, lastHeardMs: this.now - this.follower.lastHeard });
    void (this.coordination ? this.succeedByAuthority() : this.succeed()).finally(() => (this.deciding = false));
  }

  /** As serving/node.ts. */
  private async succeedByAuthority(): Promise<void> {
    const primary = this.follower.primary;
    const epoch = this.runtime.currentEpoch;
    this.decideAgainAt = this.now + this.config.timeoutMs;
    if (primary && primary.id !== this.id) {
      const found = await this.probe(primary.address);
      if (found?.role === 'primary' && (found.epoch ?? 0) >= epoch) {
        await this.requestJoin(primary.address);
        return;
      }
    }
    // As serving/backup-duties.ts: one that does not hold what the database committed is not named primary.
    const holds = await this.runtime.holdsAllCommitted().catch(() => false);
    if (!this.alive) return;
    if (!holds) {
      const reason = 'the database has committed records this backup does not hold';
      if (this.follower.unsure !== reason) this.config.log(this.id, 'takeover.blocked', { reason });
      this.follower.unsure = reason;
      return;
    }
    let outcome: ConfigurationOutcome;
    try {
      outcome = await this.coordination!.takeOver(this.follower.self, epoch, primary?.id);
    } catch (error) {
      this.follower.unsure = `the configuration authority cannot be reached: ${(error as Error).message}`;
      return;
    }
    if (!this.alive) return;
    if (outcome.kind === 'written') this.authorized = outcome.configuration.epoch;
    if (outcome.kind === 'written' || outcome.kind === 'done') return this.promote().catch(() => undefined);
    if (outcome.kind === 'follow') {
      await this.requestJoin(outcome.primary.address);
      return;
    }
    const reason = outcome.reason;
    if (this.follower.unsure !== reason) this.config.log(this.id, 'takeover.blocked', { reason });
    this.follower.unsure = reason;
  }

  private authorized: number | undefined;

  /** Why this backup would not take over by itself now (the harness's operator reads it, as a person reads /health). */
  blockedReason(): string | undefined {
    if (!this.follower?.replica.hasSnapshot) return 'no state';
    return this.coordination ? this.follower.unsure : this.follower.takeoverBlocked(this.now);
  }

  /** As serving/node.ts. */
  private decideAgainAt = 0;
  private lastBlocked: string | undefined;

  private async succeed(): Promise<void> {
    const ended = this.follower.primaryEndedAt;
    const decision = await decideSuccession(
      this.follower,
      this.runtime.currentEpoch,
      (member) => this.probe(member.address),
      () => this.now,
      this.config.backups.map((id) => ({ id, address: id })),
    );
    if (!this.alive || this.follower.primaryEndedAt !== ended) return; // a primary connected meanwhile

    if (decision.kind === 'promote') return this.promote().catch(() => undefined);
    this.decideAgainAt = this.now + this.config.timeoutMs;
    if (decision.kind === 'doubt') {
      if (this.lastBlocked !== decision.reason) this.config.log(this.id, 'takeover.blocked', { reason: decision.reason });
      this.lastBlocked = decision.reason;
      return;
    }
    this.config.log(this.id, `succession.${decision.kind}`, { member: decision.kind === 'wait' ? undefined : decision.member.id });
    if (decision.kind === 'follow') await this.requestJoin(decision.member.address);
  }

  promote(): Promise<void> {
    this.promoting ??= this.takeOver().catch((error: Error) => {
      this.promoting = undefined;
      if (error instanceof BehindError) this.follower.cannotLead = error.message;
      this.config.log(this.id, 'promotion.failed', { error: error.message });
      throw error;
    });
    return this.promoting;
  }

  private async takeOver(): Promise<void> {
    if (this.role === 'primary') return;
    if (this.coordination && this.authorized === undefined) {
      // By hand (the harness's operator): the authority is told first, as serving/node.ts does.
      const claimed = await this.coordination.promoteByHand(this.follower.self, this.runtime.currentEpoch);
      if (claimed.kind === 'written') this.authorized = claimed.configuration.epoch;
      else if (claimed.kind !== 'done') throw new Error(`the authority refused: ${JSON.stringify(claimed)}`);
    }
    if (this.authorized !== undefined) this.runtime.epochFloor = this.authorized;
    this.runtime.identity = this.id;
    this.link = this.newLink();
    this.follower.takingOver = true;
    try {
      await this.runtime.promote(this.link);
    } finally {
      this.follower.takingOver = false;
    }
    if (!this.alive) return;
    this.role = 'primary';
    this.primaryConnection?.close(1);
    this.primaryConnection = undefined;
    this.config.log(this.id, 'promoted', { epoch: this.runtime.currentEpoch, lastApplied: this.runtime.replica.lastApplied });
    for (const backup of this.config.backups) void this.connectBackup(backup);
    for (const member of this.follower.peers) if (member.id !== this.id) void this.connectBackup(member.address);
  }

  /**
   * A short exchange on a fresh connection, as transport/join.ts's probeRole and requestJoin over TCP:
   * `step` reads each message (and may answer) until it returns an outcome; `ended` says what a connection
   * closed first means (refused: nothing listens there); undefined when nothing settles it in time.
   */
  private exchange<T>(to: string, timeoutMs: number, step: (message: Message, send: (message: Message) => void) => T | undefined, ended: (refused: boolean) => T): Promise<T | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (outcome: T | undefined) => {
        if (done) return;
        done = true;
        connection.close(0);
        resolve(outcome);
      };
      const send = (message: Message) => connection.send(0, message as Record<string, unknown> & { type: string });
      const connection = this.network.connect(this, to, {
        message: (message) => {
          const outcome = step(message as Message, send);
          if (outcome !== undefined) finish(outcome);
        },
        close: (refused) => finish(ended(refused)),
      });
      this.after(timeoutMs, () => finish(undefined));
    });
  }

  /** What answers at `to` now: its greeting, as production's probeRole reads it. */
  private probe(to: string): Promise<Greeting | undefined> {
    return this.exchange<Greeting>(
      to,
      this.config.timeoutMs,
      (message) => (message.type === 'hello' ? greetingOf(message) : undefined),
      (refused) => (refused ? { refused: true } : { reset: true }),
    );
  }

  /** Asks `to` to take this backup on (production's join, proven with the key); returns the primary a backup there names instead, if it does. */
  private async requestJoin(to: string): Promise<string | undefined> {
    const request = new JoinRequest(SIM_CLUSTER_KEY, this.id, `${this.id}/join/${++this.nonces}`, to);
    const outcome = await this.exchange<{ redirect?: string }>(
      to,
      5_000,
      (message, send) => {
        const step = request.receive(message);
        if (step.send) send(step.send);
        if (step.error) return { redirect: step.error instanceof JoinRefusedError ? step.error.primary : undefined };
        return step.done ? {} : undefined;
      },
      () => ({}),
    );
    return outcome?.redirect;
  }

  // ---- what arrives on this node's ports ----

  /** What a session reads of this node (transport/backup-session.ts), as transport/server.ts gives it. */
  private accepting(): AcceptingNode {
    return {
      follower: this.follower,
      key: SIM_CLUSTER_KEY,
      node: () => this.id,
      epoch: () => this.runtime.currentEpoch,
      isPrimary: () => this.role === 'primary',
      role: () => (this.fencedBy !== undefined || this.runtime.stopped ? 'stopped' : this.role === 'primary' ? 'primary' : this.follower.greetingRole),
      holders: () => this.holdersAtStop,
      replacedAt: () => this.replacedAt(),
    };
  }

  /** A connection on this node's port: production's BackupSession decides it; clients' requests (the simulation's HTTP) are answered beside it. */
  accept(connection: Connection): void {
    if (!this.runtime) {
      connection.on(1, { message: () => connection.close(1), close: () => undefined }); // still starting: the port is not open yet
      return;
    }
    const session = new BackupSession(this.accepting(), `${this.id}/accept/${++this.nonces}`);
    connection.send(1, session.hello() as Record<string, unknown> & { type: string });
    // As transport/server.ts: the primary's connection ended (from its side, or refused here) starts the succession check.
    const primaryLost = () => {
      if (this.primaryConnection !== connection) return;
      this.primaryConnection = undefined;
      this.follower.connectionEnded(this.now);
      this.detect();
    };
    connection.on(1, {
      close: primaryLost,
      message: (message) => {
        if (message.type === 'rpc') return void this.answer(connection, String(message.id));
        if (message.type === 'auth' && session.authenticated) return; // a duplicate (the simulation's fault; TCP delivers once)
        const step = session.receive(message as Message, this.now, this.primaryConnection === connection);
        if (step.replacedBy !== undefined) this.fence(step.replacedBy);
        if (step.admitted) {
          this.primaryConnection?.close(1); // a newer primary replaces an older connection
          this.primaryConnection = connection;
        }
        if (step.join !== undefined) {
          connection.send(1, step.send as Record<string, unknown> & { type: string });
          connection.close(1);
          return void this.connectBackup(step.join);
        }
        if (step.send) connection.send(1, step.send as Record<string, unknown> & { type: string });
        if (step.refuse) {
          connection.send(1, session.farewell(step.refuse) as Record<string, unknown> & { type: string });
          connection.close(1);
          primaryLost();
        }
      },
    });
  }

  private nonces = 0;

  /** As serving/node.ts: a primary whose run-time stopped committing stops heartbeating, so a backup takes over. */
  private noticeStop(): void {
    const stopped = this.runtime.stopped;
    if (!stopped || this.role !== 'primary' || this.silent) return;
    this.config.log(this.id, 'stopped', { reason: stopped.reason });
    this.goSilent();
  }

  private async answer(connection: Connection, id: string): Promise<void> {
    let outcome: Outcome;
    if (!this.serving) outcome = { kind: 'not-primary', message: 'not the primary' };
    else outcome = await add(this.runtime, id, this.config.database !== undefined);
    this.noticeStop();
    connection.send(1, {
      type: 'reply',
      id,
      kind: outcome.kind,
      result: outcome.kind === 'ok' ? (outcome.result as number) : undefined,
      message: 'message' in outcome ? outcome.message : undefined,
      hint: this.follower?.primaryNode,
    });
  }
}

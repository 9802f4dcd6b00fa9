// One simulated process of the service: the adapter serving/node.ts and transport/server.ts are, over
// the simulated network and clock. Everything it decides is production's: the run-time (ServiceRuntime:
// action controller, committer, replication proxy, backup replica, promotion), the node core
// (serving/node-core.ts: roles, stepping down, promotion, the backup's duties and succession), the
// replication port's sessions (transport/backup-session.ts) and the primary's link (PrimaryLink through
// SimLink). What is the simulation's: the network, the clock, the database, and clients asking over the
// replication port instead of HTTP.
import type { Outcome } from '../../proxies/action/controller.js';
import type { Clock } from '../../proxies/core/clock.js';
import type { DatabaseStore } from '../../proxies/database/store.js';
import { Follower, type Greeting, type Member } from '../../proxies/replication/following.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import { NodeCore, type NodePort } from '../../proxies/serving/node-core.js';
import { askAgain, Coordination } from '../../proxies/coordination/coordination.js';
import type { SimCoordinator } from './coordinator.js';
import type { SimDatabase } from './database.js';
import { BackupSession, type AcceptingNode } from '../../proxies/transport/backup-session.js';
import type { Message } from '../../proxies/transport/frames.js';
import { greetingOf, JoinRequest } from '../../proxies/transport/join.js';
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
  runtime!: ServiceRuntime;
  follower!: Follower;
  /** Production's node core (proxies/serving/node-core.ts): roles, stepping down, promotion, the backup's duties. */
  readonly core: NodeCore;
  /** The connection of the primary this backup follows. */
  private primaryConnection: Connection | undefined;
  private readonly store: DatabaseStore | undefined;
  private readonly coordination: Coordination | undefined;

  constructor(
    readonly id: string,
    role: 'primary' | 'backup',
    private readonly network: Network,
    private readonly config: NodeConfig,
  ) {
    this.startedAt = network.scheduler.now;
    this.store = config.database?.clientFor(this);
    this.coordination = config.coordinator && new Coordination(config.coordinator.clientFor(this));
    const log = (event: string, fields?: Record<string, unknown>) => config.log(id, event, fields);
    this.core = new NodeCore(
      { backups: config.backups, join: config.join === undefined ? undefined : [config.join], heartbeatIntervalMs: config.heartbeatMs, heartbeatTimeoutMs: config.timeoutMs, log },
      this.port(),
      this.coordination,
      role,
    );
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

  get role(): 'primary' | 'backup' {
    return this.core.role;
  }

  /** A peer, the database or the authority at this newer epoch said this primary was replaced. */
  get fencedBy(): number | undefined {
    return this.core.fencedBy;
  }

  get link(): SimLink | undefined {
    return this.core.link as SimLink | undefined;
  }

  /** Whether this node is a primary that was neither fenced nor stopped. */
  get primary(): boolean {
    return this.alive && this.role === 'primary' && this.runtime !== undefined && !this.core.fenced() && !this.runtime.stopped;
  }

  /** Whether it serves requests now: a primary with enough backups holding its state (as serving/node.ts). */
  get serving(): boolean {
    return this.alive && this.runtime !== undefined && this.core.serving;
  }

  /** What this primary named as holders when it stopped (the operator reads it in its log). */
  get stoppedHolders(): Member[] | undefined {
    return this.core.holdersAtStop;
  }

  /** The core's ports: the simulated network, the virtual clock, this process's life. */
  private port(): NodePort {
    return {
      clock: this.clock,
      leaseNow: () => this.now,
      probe: (address) => this.probe(address),
      requestJoin: (address) => this.requestJoin(address),
      newLink: (events) =>
        new SimLink(this, this.network, {
          ...events,
          minAcks: this.config.minAcks,
          ackTimeoutMs: this.config.timeoutMs,
          heartbeatMs: this.config.heartbeatMs,
          handshakeTimeoutMs: 5 * this.config.timeoutMs,
          epoch: () => this.runtime?.currentEpoch ?? 1,
          key: SIM_CLUSTER_KEY,
          probe: (address) => this.probe(address),
          trace: this.config.trace ? (event, fields) => this.config.log(this.id, event, fields) : undefined,
          log: this.config.trace ? (event, fields) => this.config.log(this.id, event, fields) : undefined,
        }),
      following: () => this.primaryConnection !== undefined,
      lastEnded: () => undefined,
      stopping: () => !this.alive,
    };
  }

  async boot(): Promise<void> {
    const mapping = simulatedMapping({ database: this.config.database !== undefined, update: this.config.update });
    const core = this.core;
    if (this.role === 'primary') {
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
        link: core.newLink(),
        minEpoch: configured ? configured.epoch + 1 : undefined,
        clock: this.clock,
      });
    } else {
      this.runtime = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes, database: this.store, clock: this.clock });
    }
    this.follower = new Follower(this.runtime.replica, { id: this.id, address: this.id }, this.config.timeoutMs);
    core.attach(this.runtime, this.follower);
    if (this.role === 'primary' && this.coordination) {
      const claimed = await core.claimPrimary();
      if (claimed.kind !== 'written' && claimed.kind !== 'done') throw new Error(`not made primary: ${JSON.stringify(claimed)}`);
    }
    this.config.log(this.id, 'started', { role: this.role, epoch: this.runtime.currentEpoch });
    core.start(this.store !== undefined);
    if (this.config.takeOverOnSilence) this.takeOverOnSilence();
  }

  /**
   * The rule this project had before the lease, for the checker's own test: a backup that has heard
   * nothing for the timeout takes over, whatever the primary may have acknowledged without it.
   */
  private takeOverOnSilence(): void {
    this.after(Math.max(5, this.config.timeoutMs / 4), () => {
      if (this.role !== 'backup') return;
      if (this.follower.replica.hasSnapshot && this.now - this.follower.lastHeard > this.config.timeoutMs) void this.promote().catch(() => undefined);
      this.takeOverOnSilence();
    });
  }

  /** Why this backup would not take over by itself now (the harness's operator reads it, as a person reads /health). */
  blockedReason(): string | undefined {
    if (!this.follower?.replica.hasSnapshot) return 'no state';
    return this.coordination ? this.follower.unsure : this.follower.takeoverBlocked(this.now);
  }

  promote(): Promise<void> {
    return this.core.promote();
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

  /** Asks `to` to take this backup on, with production's join (proven with the key); rejects as requestJoin does over TCP. */
  private async requestJoin(to: string): Promise<void> {
    const request = new JoinRequest(SIM_CLUSTER_KEY, this.id, `${this.id}/join/${++this.nonces}`, to);
    const outcome = await this.exchange<{ error?: Error }>(
      to,
      5_000,
      (message, send) => {
        const step = request.receive(message);
        if (step.send) send(step.send);
        if (step.error) return { error: step.error };
        return step.done ? {} : undefined;
      },
      (refused) => ({ error: new Error(`Cannot reach ${to}: ${refused ? 'refused' : 'closed'}`) }),
    );
    if (!outcome) throw new Error(`${to} did not answer the join request in time.`);
    if (outcome.error) throw outcome.error;
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
      role: () => this.core.greetingRole(),
      holders: () => this.core.holdersAtStop,
      replacedAt: () => this.core.replacedAt(),
    };
  }

  /** A connection on this node's port: production's BackupSession decides it; clients' requests (the simulation's HTTP) are answered beside it. */
  accept(connection: Connection): void {
    if (!this.runtime) {
      connection.on(1, { message: () => connection.close(1), close: () => undefined }); // still starting: the port is not open yet
      return;
    }
    const session = new BackupSession(this.accepting(), `${this.id}/accept/${++this.nonces}`);
    const send = (message: Message) => connection.send(1, message as Record<string, unknown> & { type: string });
    send(session.hello());
    // As transport/server.ts: the primary's connection ended (from its side, or refused here) starts the succession check.
    const primaryLost = () => {
      if (this.primaryConnection !== connection) return;
      this.primaryConnection = undefined;
      this.follower.connectionEnded(this.now);
      this.core.duties.detect();
    };
    connection.on(1, {
      close: primaryLost,
      message: (message) => {
        if (message.type === 'rpc') return void this.answer(connection, String(message.id));
        if (message.type === 'auth' && session.authenticated) return; // a duplicate (the simulation's fault; TCP delivers once)
        const step = session.receive(message as Message, this.now, this.primaryConnection === connection);
        if (step.replacedBy !== undefined) this.core.stepDown(step.replacedBy);
        if (step.admitted) {
          this.primaryConnection?.close(1); // a newer primary replaces an older connection
          this.primaryConnection = connection;
        }
        if (step.join !== undefined) {
          send(step.send!);
          connection.close(1);
          return this.core.joinRequested(step.join);
        }
        if (step.send) send(step.send);
        if (step.refuse) {
          send(session.farewell(step.refuse));
          connection.close(1);
          primaryLost();
        }
      },
    });
  }

  private nonces = 0;

  private async answer(connection: Connection, id: string): Promise<void> {
    let outcome: Outcome;
    if (!this.serving) outcome = { kind: 'not-primary', message: 'not the primary' };
    else outcome = await add(this.runtime, id, this.config.database !== undefined);
    this.core.noticeStop();
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

// A node's roles and what moves it between them, over ports: a primary connects to its backups and
// keeps the configuration authority's members; it steps down when a newer primary or the database says
// it was replaced, and goes silent when its run-time stops; a backup does its duties (backup-duties.ts)
// and is promoted. Sockets, ports and timers are the adapters': serving/node.ts runs this over TCP and
// the system clock, the deterministic simulation (test/simulation/node.ts) over its network and virtual
// clock, so the simulation explores the code that ships.
import { askAgain, type Coordination, type Outcome as ConfigurationOutcome } from '../coordination/coordination.js';
import type { Follower, Member } from '../replication/following.js';
import { BehindError, type ServiceRuntime } from '../runtime.js';
import type { PrimaryLink, PrimaryLinkOptions } from '../transport/primary-link.js';
import { BackupDuties, describeOutcome, type BackupNode, type DutyPort, type DutySettings } from './backup-duties.js';

/** What a primary link's events are wired to: the adapter passes them to the link it builds. */
export type LinkEvents = Required<Pick<PrimaryLinkOptions, 'onFenced' | 'onDropped' | 'onJoinFailed' | 'onCaughtUp' | 'coordinated'>>;

/** The adapter's side: time, the network, and its own state (the duties' ports, and what the primary needs). */
export interface NodePort extends DutyPort {
  /** A new primary link whose events go to the core. */
  newLink(events: LinkEvents): PrimaryLink;
  /** The node's role changed (GET /watch answers on it). */
  changed?(): void;
}

export class NodeCore {
  role: 'primary' | 'backup';
  /** A peer, the database or the authority at this newer epoch said this primary was replaced. */
  fencedBy: number | undefined;
  link: PrimaryLink | undefined;
  runtime!: ServiceRuntime;
  follower!: Follower;
  /** The backup's duties: joining, watching the primary, taking over or saying why not. */
  readonly duties: BackupDuties;
  /** Times this node became the primary by taking over (for /metrics). */
  promotions = 0;
  /** What this primary named as holding everything it acknowledged when it stopped (its greeting says it). */
  holdersAtStop: Member[] | undefined;
  private silent = false;
  private promoting: Promise<void> | undefined;
  private epochWatch: { cancel(): void } | undefined;

  constructor(
    readonly settings: DutySettings,
    private readonly port: NodePort,
    readonly coordination: Coordination | undefined,
    role: 'primary' | 'backup',
  ) {
    this.role = role;
    const core = this;
    // The duties read the node's parts as they are created (the follower after the run-time starts).
    const node: BackupNode = {
      settings,
      port,
      get follower() {
        return core.follower;
      },
      coordination,
      get id() {
        return core.follower.self.id;
      },
      epoch: () => this.runtime.currentEpoch,
      isBackup: () => this.role === 'backup' && this.fencedBy === undefined && !port.stopping(),
      promote: () => this.promote(),
      holdsAllCommitted: () => this.runtime.holdsAllCommitted(),
      logOnce: (event, error) => this.logOnce(event, error),
    };
    this.duties = new BackupDuties(node);
  }

  /** A primary's first link, built before its run-time starts (the run-time ships through it). */
  newLink(): PrimaryLink {
    this.link = this.port.newLink(this.linkEvents());
    return this.link;
  }

  /** The run-time has started, and the follower over its replica: the core decides with them from now on. */
  attach(runtime: ServiceRuntime, follower: Follower): void {
    this.runtime = runtime;
    this.follower = follower;
  }

  /** The ports listen: a primary connects to its backups, a backup starts its duties; with a database or an authority, a primary watches its epoch there. */
  start(database: boolean): void {
    if (this.role === 'primary') for (const backup of this.settings.backups) void this.connectBackup(backup);
    else this.duties.start();
    if (database || this.coordination) this.watchEpoch();
  }

  /** Stops the timers and duties; the link stays open until the adapter has let requests in flight finish (closeLink). */
  stop(): void {
    this.duties.stop();
    this.epochWatch?.cancel();
  }

  closeLink(): void {
    this.link?.close();
  }

  /** Fenced off: by a peer at a newer epoch, or by the database's epoch on a commit. */
  fenced(): boolean {
    return this.fencedBy !== undefined || this.runtime?.stopped?.fenced === true;
  }

  /** A primary neither fenced nor stopping: it may commit, connect backups and change members. */
  private get leading(): boolean {
    return this.role === 'primary' && !this.fenced() && !this.port.stopping();
  }

  /** Serves requests now: a primary whose run-time commits, with enough backups holding its state (while it stops too: requests in flight finish). */
  get serving(): boolean {
    return this.role === 'primary' && !this.fenced() && !this.runtime.stopped && (this.link?.ready ?? true);
  }

  /** What this node says it is in its greeting: a primary that stopped or was fenced does not say primary. */
  greetingRole(): 'primary' | 'backup' | 'stopped' | 'behind' | 'unsure' {
    if (this.fenced() || this.runtime.stopped) return 'stopped';
    return this.role === 'primary' ? 'primary' : this.follower.greetingRole;
  }

  /** The newer epoch that replaced this primary (a peer's, or the database's), if one did. */
  replacedAt(): number | undefined {
    return this.fencedBy ?? (this.runtime.stopped?.fenced ? this.runtime.currentEpoch + 1 : undefined);
  }

  private linkEvents(): LinkEvents {
    return {
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
        if (reconnect && this.leading) void this.connectBackup(address);
      },
      // A snapshot that broke off is sent again, after a wait that doubles each time (a backup that asked
      // to join asks again too; the two meet in connectBackup).
      onJoinFailed: (address, failures) => {
        if (this.leading)
          void this.port.clock.sleep(Math.min(30_000, 250 * 2 ** failures)).then(() => {
            // Unless another connection to it has begun meanwhile (it asked to join again): that one goes on.
            if (this.leading && !this.link?.connectedTo(address)) void this.connectBackup(address);
          });
      },
      coordinated: this.coordination !== undefined,
      onCaughtUp: (backup) => {
        if (this.coordination) void this.configure('member.added', (self, epoch) => this.coordination!.addMember(self, epoch, backup));
      },
    };
  }

  /** The primary's changes at the configuration authority, one at a time and in order (an add then a remove must not swap). */
  private configuring: Promise<void> = Promise.resolve();

  /**
   * Runs one membership change at the authority, retried while it cannot be reached (commits that
   * depend on it wait meanwhile); a primary the authority no longer names steps down.
   */
  private configure(what: string, step: (self: Member, epoch: number) => Promise<ConfigurationOutcome>, then?: () => void): Promise<void> {
    this.configuring = this.configuring.then(async () => {
      for (let attempt = 0; this.leading; attempt++) {
        try {
          const outcome = await step(this.follower.self, this.runtime.currentEpoch);
          if (outcome.kind === 'fenced') return this.stepDown(this.runtime.currentEpoch + 1);
          if (outcome.kind === 'written') this.settings.log(`coordination.${what}`, { members: outcome.configuration.members.map((m) => m.address), version: outcome.configuration.version });
          then?.();
          return;
        } catch (error) {
          if (attempt % 20 === 0) this.settings.log('coordination.unreachable', { step: what, error: (error as Error).message });
          await this.port.clock.sleep(Math.min(1_000, 50 * (attempt + 1)));
        }
      }
    });
    return this.configuring;
  }

  /** A new primary tells the authority it is primary (at boot), retried while the authority does not answer. */
  claimPrimary(): Promise<ConfigurationOutcome> {
    return askAgain(
      () => this.coordination!.claimPrimary(this.follower.self, this.runtime.currentEpoch),
      (ms) => this.port.clock.sleep(ms),
    );
  }

  /** Another node is primary at a newer epoch: stop serving writes; clients are sent elsewhere. */
  stepDown(epoch: number): void {
    if (this.role !== 'primary' || this.fencedBy !== undefined) return;
    this.fencedBy = epoch;
    this.settings.log('role.changed', { role: 'fenced', epoch: this.runtime.currentEpoch, newerEpoch: epoch });
    this.goSilent();
    this.port.changed?.();
  }

  /**
   * The run-time stopped committing (fenced by the database's epoch, a commit's outcome unknowable, or
   * the backups not all told): this node can no longer serve, so it goes silent. Its backups then
   * suspect it, find it stopped, and the first of them takes over from the state they hold.
   */
  noticeStop(): void {
    const stopped = this.runtime.stopped;
    if (!stopped || this.role !== 'primary' || this.silent) return;
    this.settings.log('role.changed', { role: stopped.fenced ? 'fenced' : 'stopped', epoch: this.runtime.currentEpoch, reason: stopped.reason });
    this.goSilent();
    this.port.changed?.();
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
      this.settings.log('replication.holders', { holders: this.holdersAtStop.map((m) => m.address), note: 'these backups hold everything this node acknowledged' });
    }
    this.link?.close();
  }

  /** A backup asked to join (it proved the key): a primary connects to it. */
  joinRequested(address: string): void {
    if (this.leading) void this.connectBackup(address);
  }

  /** Backups being connected to: one attempt loop per address, however many reasons ask for one. */
  private readonly connecting = new Set<string>();

  /** Connects to a backup and joins it (snapshot, then stream), retrying until it answers. */
  private async connectBackup(address: string): Promise<void> {
    if (this.connecting.has(address)) return;
    this.connecting.add(address);
    try {
      for (let attempt = 0; this.leading && !this.runtime.stopped; attempt++) {
        try {
          const handle = await this.link!.connect(address);
          await this.runtime.join((snapshot) => handle.join(snapshot));
          return;
        } catch (error) {
          if (attempt % 20 === 0) this.settings.log('replication.backup.unreachable', { backup: address, error: (error as Error).message });
          await this.port.clock.sleep(Math.min(1_000, 100 * (attempt + 1)));
        }
      }
    } finally {
      this.connecting.delete(address);
    }
  }

  /**
   * Now and then, a primary checks that the database's epoch is still its own: one that another node
   * replaced while it was not committing (waiting for backups, or idle) steps down instead of holding
   * its backups and clients. And the configuration authority's: a primary it no longer names was replaced.
   */
  private watchEpoch(): void {
    this.epochWatch = this.port.clock.timer(this.settings.heartbeatTimeoutMs, () => {
      if (this.leading) {
        void this.runtime.epochIsCurrent().then(
          (current) => {
            if (!current) this.stepDown(this.runtime.currentEpoch + 1);
          },
          () => undefined, // the database is unreachable: the next commit will say so
        );
        void this.coordination?.read().then(
          (configuration) => {
            const epoch = this.runtime.currentEpoch;
            if (configuration && (configuration.primary.id !== this.follower.self.id || configuration.epoch > epoch)) this.stepDown(Math.max(configuration.epoch, epoch + 1));
          },
          () => undefined, // unreachable: the next change of members will wait for it
        );
      }
      if (!this.port.stopping()) this.watchEpoch();
    });
  }

  /** A takeover retried every few milliseconds while the database is down logs each new reason once. */
  private logOnce(event: string, error: string): void {
    if (this.lastFailures.get(event) === error) return;
    this.lastFailures.set(event, error);
    this.settings.log(event, { error });
  }

  private readonly lastFailures = new Map<string, string>();

  /** While this backup takes over (settles when it has): requests that arrive meanwhile wait for it. */
  get takingOver(): Promise<void> | undefined {
    return this.role === 'primary' || this.fenced() ? undefined : this.promoting;
  }

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

  private async takeOver(): Promise<void> {
    if (this.fenced())
      throw new Error(
        `this node was the primary and was replaced (epoch ${this.replacedAt() ?? this.runtime.currentEpoch}); it cannot take over again: restart it as a backup (--role backup --join <a node of the cluster>)`,
      );
    if (this.role === 'primary') return;
    const started = this.port.clock.now();
    if (this.coordination && this.duties.authorized === undefined) {
      // By hand (POST /admin/promote): the authority is told first, so the old primary is fenced there.
      const claimed = await this.coordination.promoteByHand(this.follower.self, this.runtime.currentEpoch);
      if (claimed.kind === 'written') this.duties.authorized = claimed.configuration.epoch;
      else if (claimed.kind !== 'done') throw new Error(`The configuration authority refused: ${describeOutcome(claimed)}`);
    }
    if (this.duties.authorized !== undefined) this.runtime.epochFloor = this.duties.authorized;
    this.runtime.identity = this.follower.self.id;
    const link = this.newLink();
    this.follower.takingOver = true;
    try {
      await this.runtime.promote(link);
    } finally {
      this.follower.takingOver = false;
    }
    if (this.port.stopping()) return;
    this.role = 'primary';
    this.duties.stop();
    this.promotions++;
    this.port.changed?.();
    this.settings.log('role.changed', { role: 'primary', epoch: this.runtime.currentEpoch, lastApplied: this.runtime.replica.lastApplied, promotionMs: Math.round(this.port.clock.now() - started) });
    for (const backup of this.settings.backups) void this.connectBackup(backup);
    // And every backup of the old primary it knew of: they may not be in --backups (they joined).
    for (const member of this.follower.peers) if (member.id !== this.follower.self.id) void this.connectBackup(member.address);
  }
}

// A backup's duties, over its node's ports: ask to join (--join), watch the primary, and when its
// connection ends decide (alone, or with the configuration authority) to take over, follow another node,
// or say why not, in the log and on /health. The decisions are the protocol cores' (Follower,
// decideSuccession); node-core.ts gives this its ports, which production fills with sockets and timers
// (serving/node.ts) and the simulation with its network and virtual clock (test/simulation/node.ts).
import type { Clock } from '../core/clock.js';
import type { Coordination, Outcome as ConfigurationOutcome } from '../coordination/coordination.js';
import { decideSuccession, type Follower, type Greeting } from '../replication/following.js';
import { JoinRefusedError } from '../transport/join.js';

/** What the node's duties are set with (`durable serve`'s options, as replication addresses `host:port`). */
export interface DutySettings {
  /** --backups: the nodes a primary connects to; a backup asks them in the succession too. */
  backups: string[];
  /** --join: nodes of a running cluster to ask to take this backup on, in turn. */
  join?: string[];
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** This backup gave up joining (its snapshot failed too many times): `durable serve` exits with the reason. */
  onGaveUp?: (reason: string) => void;
}

/** The node's side the duties reach the world through: the adapter's (node-core.ts's NodePort extends it). */
export interface DutyPort {
  /** Timers and sleeps: the system's, or the simulation's virtual time. */
  readonly clock: Clock;
  /** The backup's lease clock (transport/clock.ts): the same the replication port gives the follower. */
  leaseNow(): number;
  /** What answers at a replication address now (its greeting), undefined when nothing does in time. */
  probe(address: string): Promise<Greeting | undefined>;
  /** Asks the node at `address` to take this backup on; rejects with JoinRefusedError when it names another. */
  requestJoin(address: string): Promise<void>;
  /** Whether a primary is connected to this node's replication port now. */
  following(): boolean;
  /** Why the last primary connection ended, for the log. */
  lastEnded(): string | undefined;
  /** The node is shutting down (or, in the simulation, its process crashed): nothing new is begun. */
  stopping(): boolean;
}

/** What the duties need of their node. */
export interface BackupNode {
  readonly settings: DutySettings;
  readonly port: DutyPort;
  readonly follower: Follower;
  readonly coordination: Coordination | undefined;
  /** This process's id (among the primary's backups). */
  readonly id: string;
  epoch(): number;
  /** Still a backup that may follow or take over: not primary, not fenced, not stopping. */
  isBackup(): boolean;
  promote(): Promise<void>;
  /** Whether the backup holds every record the database committed (ServiceRuntime.holdsAllCommitted). */
  holdsAllCommitted(): Promise<boolean>;
  logOnce(event: string, error: string): void;
}

/** What an operator does when a backup will not take over by itself (docs/SERVING.md, "Failure detection and succession"). */
const TAKEOVER_REMEDY =
  "if the primary is dead (a stopped one: kill it) and its log has no 'replication.backup.dropped' for this backup since it last joined, or its last 'replication.holders' names this backup, POST /admin/promote here with the cluster key; otherwise restart the primary, or promote the backup that was not dropped";

/** The same with a configuration authority: there, membership says who holds everything. */
const AUTHORITY_REMEDY =
  'a member of the latest configuration takes over by itself once the authority answers; if none is left and the primary is gone for good, POST /admin/promote with the cluster key to the backup you choose, accepting that it may lack what the primary acknowledged without it';

/** The longest wait between two takeovers that failed (the database unreachable, say). */
const PROMOTION_BACKOFF_MAX_MS = 2_000;

/** Snapshots that broke off before a backup gives up joining. */
const MAX_FAILED_TRANSFERS = 6;

export function describeOutcome(outcome: ConfigurationOutcome): string {
  if (outcome.kind === 'refuse' || outcome.kind === 'fenced') return outcome.reason;
  if (outcome.kind === 'follow') return `${outcome.primary.address} has taken over`;
  return outcome.kind;
}

export class BackupDuties {
  private detector: { cancel(): void } | undefined;
  private deciding: Promise<void> | undefined;
  /** Takeovers that failed in a row (each waits longer before the next). */
  private failedTakeovers = 0;
  private lastDetect: number;
  /**
   * No succession decision before this (monotonic ms): a member was given time to take over, or to take
   * this node on. It holds for the primary's connection end it was set for (`decidedFor`): once a new
   * primary has taken this node on and its connection has ended too, that is a new failure, decided at
   * once (a second primary killed within the heartbeat timeout of the first failover waited it out).
   */
  private decideAgainAt = 0;
  private decidedFor: number | undefined;
  /** The connection end last logged as suspected: once per end. */
  private suspectedEnd: number | undefined;
  private lastBlocked: string | undefined;
  /** Promoted through the authority at this epoch: the promotion needs no claim by hand. */
  authorized: number | undefined;

  constructor(private readonly node: BackupNode) {
    this.lastDetect = node.port.leaseNow();
  }

  /** Ask to join when told to, then watch the primary. */
  start(): void {
    const { join, heartbeatTimeoutMs, heartbeatIntervalMs } = this.node.settings;
    if (join?.length) void this.joinLoop(join);
    const every = Math.max(5, Math.min(heartbeatIntervalMs, heartbeatTimeoutMs / 4));
    const tick = () => {
      if (this.stopped) return;
      this.detect();
      this.detector = this.node.port.clock.timer(every, tick);
    };
    this.detector = this.node.port.clock.timer(every, tick);
  }

  private stopped = false;

  stop(): void {
    this.stopped = true;
    this.detector?.cancel();
  }

  /** Why this backup stopped trying to join, once it has. */
  gaveUp: string | undefined;

  /**
   * Asks to join until a snapshot has arrived: a primary that died between accepting and sending it is
   * asked again. --join may name any nodes of the cluster, asked in turn: a backup answers with the
   * primary it follows.
   * One snapshot per join: while a primary is sending one, nothing more is asked. A transfer that breaks
   * off is asked again after a wait that doubles each time; after MAX_FAILED_TRANSFERS the backup gives up
   * with the reason, since a join that cannot finish (memory, a link too slow for the write rate) only
   * loads the primary.
   */
  private async joinLoop(join: string[]): Promise<void> {
    const { log, heartbeatTimeoutMs } = this.node.settings;
    const ownAddress = this.node.follower.self.address;
    const sleep = (ms: number) => this.node.port.clock.sleep(ms);
    const replica = this.node.follower.replica;
    let target = join[0]!;
    let failedTransfers = 0;
    let begunSeen = this.node.follower.transfersBegun;
    for (let attempt = 0; !this.node.port.stopping() && !replica.hasSnapshot; attempt++) {
      if (!this.node.port.following() && this.node.follower.transfersBegun > begunSeen) {
        begunSeen = this.node.follower.transfersBegun;
        failedTransfers++;
        const lastEnd = this.node.port.lastEnded() ?? 'the connection ended';
        if (failedTransfers >= MAX_FAILED_TRANSFERS) {
          this.gaveUp = `its snapshot from ${target} broke off ${failedTransfers} times (last: ${lastEnd})`;
          log('replication.join.gave-up', {
            primary: target,
            failedTransfers,
            reason: lastEnd,
            remedy: 'check the log of both nodes for why the transfer ended (memory, a network that drops long connections, a backup too slow for the write rate), then start this backup again',
          });
          this.node.settings.onGaveUp?.(this.gaveUp);
          return;
        }
        const wait = Math.min(30_000, heartbeatTimeoutMs * 2 ** (failedTransfers - 1));
        log('replication.join.retrying', { primary: target, error: `its snapshot broke off (${lastEnd})`, failedTransfers, retryInMs: wait });
        await sleep(wait);
        continue;
      }
      try {
        if (!this.node.port.following()) {
          await this.node.port.requestJoin(target);
          await sleep(500);
        } else await sleep(200);
      } catch (error) {
        if (error instanceof JoinRefusedError && error.primary && error.primary !== ownAddress) {
          log('replication.join.redirected', { from: target, to: error.primary });
          target = error.primary;
          await sleep(50);
          continue;
        }
        if (attempt % 20 === 0) log('replication.join.retrying', { primary: target, error: (error as Error).message });
        // The node asked may be gone (the primary that began a snapshot, say): the next of --join is asked,
        // and the backups a primary named, which know (or are) the next primary.
        const others = [...join, ...this.node.follower.peers.filter((m) => m.id !== this.node.id).map((m) => m.address)];
        const at = others.indexOf(target);
        target = others[(at + 1) % others.length]!;
        await sleep(Math.min(1_000, 100 * (attempt + 1)));
      }
    }
  }

  /** On every detector tick, and at once when the primary's connection ends: take over, follow, or say why not. */
  detect(): void {
    const { follower, settings: options, coordination } = this.node;
    // A node that was primary and was replaced stays out: its run-time can no longer follow.
    if (!this.node.isBackup() || this.deciding !== undefined) return;
    const now = this.node.port.leaseNow();
    // A tick far later than due means this process stalled: what arrived meanwhile is not read yet.
    const stalled = now - this.lastDetect > options.heartbeatTimeoutMs;
    this.lastDetect = now;
    // With a configuration authority, silence too may start a takeover: the authority decides, not the lease.
    const suspects = follower.suspects() || (coordination !== undefined && follower.replica.hasSnapshot && !stalled && now - follower.lastHeard > options.heartbeatTimeoutMs);
    const waiting = now < this.decideAgainAt && this.decidedFor === follower.primaryEndedAt;
    if (!suspects || waiting) return stalled || coordination ? undefined : this.reportBlocked(now);
    if (this.suspectedEnd !== follower.primaryEndedAt)
      options.log('failure.suspected', {
        primary: follower.primaryNode,
        reason: follower.primaryEndedAt === undefined ? 'silent' : 'its connection ended',
        lastHeardMs: Math.round(now - follower.lastHeard),
      });
    this.suspectedEnd = follower.primaryEndedAt;
    this.deciding = (coordination ? this.succeedByAuthority(coordination) : this.succeed())
      .then(
        () => {
          this.failedTakeovers = 0;
        },
        (error: Error) => {
          // A takeover that failed (the database down, say) is tried again after a wait that doubles
          // each time, up to PROMOTION_BACKOFF_MAX_MS: a database coming back is not met by a storm of claims.
          this.failedTakeovers++;
          const wait = Math.min(PROMOTION_BACKOFF_MAX_MS, 50 * 2 ** (this.failedTakeovers - 1));
          this.decideNoSoonerThan(Math.max(this.decideAgainAt, this.node.port.leaseNow() + wait));
          this.node.logOnce('failure.takeover.failed', error.message);
        },
      )
      .finally(() => (this.deciding = undefined));
  }

  private decideNoSoonerThan(at: number): void {
    this.decideAgainAt = at;
    this.decidedFor = this.node.follower.primaryEndedAt;
  }

  /** While this backup decides whether to take over (and takes over): settles when it has. */
  get decision(): Promise<void> | undefined {
    return this.deciding;
  }

  /** /health's answer: whether this backup would take over by itself now, and if not why and what to do. */
  takeover(): { automatic: boolean; reason?: string; remedy?: string } {
    const { follower, coordination } = this.node;
    if (this.gaveUp) return { automatic: false, reason: `this backup gave up joining: ${this.gaveUp}`, remedy: 'start it again once the cause is fixed' };
    const blocked = coordination ? (follower.replica.hasSnapshot ? follower.unsure : "it holds no primary's state yet") : follower.takeoverBlocked(this.node.port.leaseNow());
    return blocked ? { automatic: false, reason: `this backup will not take over by itself: ${blocked}`, remedy: coordination ? AUTHORITY_REMEDY : TAKEOVER_REMEDY } : { automatic: true };
  }

  /** Why this backup would not take over now, logged once per reason (the same reason /health gives). */
  private reportBlocked(now: number): void {
    const follower = this.node.follower;
    const blocked = follower.replica.hasSnapshot ? follower.takeoverBlocked(now) : undefined;
    if (blocked === this.lastBlocked) return;
    this.lastBlocked = blocked;
    if (blocked) this.node.settings.log('failure.takeover.blocked', { reason: blocked, remedy: TAKEOVER_REMEDY });
  }

  private blocked(reason: string, remedy: string): void {
    if (this.lastBlocked !== reason) this.node.settings.log('failure.takeover.blocked', { reason, remedy });
    this.lastBlocked = reason;
  }

  /** The primary's connection ended: take over, join the primary or the backup that already took over, or wait. */
  private async succeed(): Promise<void> {
    const { follower, settings: options } = this.node;
    const ended = follower.primaryEndedAt;
    const decision = await decideSuccession(
      follower,
      this.node.epoch(),
      (member) => this.node.port.probe(member.address),
      () => this.node.port.leaseNow(),
      options.backups.map((address) => ({ id: address, address })),
    );
    // A primary (the old one back, or a new one taking this node on) connected meanwhile, or this process
    // is stopping: the decision is moot.
    if (follower.primaryEndedAt !== ended || this.node.port.stopping()) return;
    if (decision.kind === 'promote') return this.node.promote();
    // Give the member taken over (or about to) time; a backup in doubt looks for a new primary again later.
    this.decideNoSoonerThan(this.node.port.leaseNow() + options.heartbeatTimeoutMs);
    if (decision.kind === 'doubt') return this.blocked(decision.reason, TAKEOVER_REMEDY);
    if (decision.kind === 'defer' || decision.kind === 'wait') return;
    await this.join(decision.member.address);
  }

  /**
   * The primary's connection ended or it fell silent, and a configuration authority decides: the primary
   * is asked first (a live one takes this backup on again); then the authority lets this backup take over
   * if it is a member at the epoch it holds, or names the node that did.
   */
  private async succeedByAuthority(coordination: Coordination): Promise<void> {
    const { follower, settings: options } = this.node;
    const primary = follower.primary;
    const epoch = this.node.epoch();
    this.decideNoSoonerThan(this.node.port.leaseNow() + options.heartbeatTimeoutMs);
    if (primary && primary.id !== this.node.id) {
      const found = await this.node.port.probe(primary.address);
      if (found?.role === 'primary' && (found.epoch ?? 0) >= epoch) {
        await this.join(primary.address); // refused: asked again at the next decision
        return;
      }
    }
    // A database that cannot answer fails this takeover (logged, tried again after a growing wait).
    const holds = await this.node.holdsAllCommitted();
    if (this.node.port.stopping()) return;
    if (!holds) {
      follower.unsure = 'the database has committed records this backup does not hold: its primary is alive and committing, or went on without it';
      return this.blocked(follower.unsure, AUTHORITY_REMEDY);
    }
    let outcome: ConfigurationOutcome;
    try {
      outcome = await coordination.takeOver(follower.self, epoch, primary?.id);
    } catch (error) {
      follower.unsure = `the configuration authority cannot be reached: ${(error as Error).message}`;
      return this.blocked(follower.unsure, AUTHORITY_REMEDY);
    }
    if (this.node.port.stopping()) return;
    if (outcome.kind === 'written') {
      options.log('coordination.took-over', { epoch: outcome.configuration.epoch, version: outcome.configuration.version });
      this.authorized = outcome.configuration.epoch;
      return this.node.promote();
    }
    if (outcome.kind === 'done') return this.node.promote();
    if (outcome.kind === 'follow') {
      const refused = await this.join(outcome.primary.address);
      if (!refused) return;
      // The primary the authority names does not take this backup on (gone before it served, say): this
      // backup is not a member of its configuration, so it may not take over by itself. /health says so,
      // for the operator; a join that works later clears it.
      follower.unsure = `the configuration authority names ${outcome.primary.address} primary, and it does not take this backup on (${refused.message})`;
      return this.blocked(follower.unsure, AUTHORITY_REMEDY);
    }
    follower.unsure = describeOutcome(outcome);
    this.blocked(follower.unsure, AUTHORITY_REMEDY);
  }

  /** Asks the node at `address` to take this backup on: undefined once it has, or why not (logged). */
  private async join(address: string): Promise<Error | undefined> {
    const { log } = this.node.settings;
    log('replication.following.new-primary', { primary: address });
    return this.node.port.requestJoin(address).then(
      () => undefined,
      (error: Error) => {
        log('replication.join.retrying', { primary: address, error: error.message });
        return error;
      },
    );
  }
}

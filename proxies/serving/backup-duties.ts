// A backup node's duties, over sockets and timers: ask to join when told to (--join), watch the
// primary, and when it is lost decide (replication/following.ts, or the configuration authority) to take
// over, follow another node, or say why not, in the log and on /health. The decisions are the protocol
// cores'; this is their adapter, as serving/node.ts is for the primary's duties.
import type { Coordination, Outcome as ConfigurationOutcome } from '../coordination/coordination.js';
import { decideSuccession, type Follower } from '../replication/following.js';
import { JoinRefusedError, probeRole, requestJoin } from '../transport/join.js';
import type { ReplicationServer } from '../transport/server.js';
import { parseAddress, sleep, type NodeOptions } from './node-options.js';

/** What the duties need of their node. */
export interface BackupNode {
  readonly options: NodeOptions;
  readonly follower: Follower;
  readonly replication: ReplicationServer;
  readonly coordination: Coordination | undefined;
  /** This process's id (among the primary's backups). */
  readonly id: string;
  epoch(): number;
  /** The backup's lease clock (transport/clock.ts): the same the replication server gives the follower. */
  clock(): number;
  /** Still a backup that may follow or take over: not primary, not fenced, not stopping. */
  isBackup(): boolean;
  stopping(): boolean;
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
  private detector: NodeJS.Timeout | undefined;
  private deciding: Promise<void> | undefined;
  /** Takeovers that failed in a row (each waits longer before the next). */
  private failedTakeovers = 0;
  private lastDetect: number;
  /** No succession decision before this (monotonic ms): a member was given time to take over, or to take this node on. */
  private decideAgainAt = 0;
  /** The connection end last logged as suspected: once per end. */
  private suspectedEnd: number | undefined;
  private lastBlocked: string | undefined;
  /** Promoted through the authority at this epoch: the promotion needs no claim by hand. */
  authorized: number | undefined;

  constructor(private readonly node: BackupNode) {
    this.lastDetect = node.clock();
  }

  /** Ask to join when told to, then watch the primary. */
  start(ownAddress: string): void {
    const { join, heartbeatTimeoutMs, heartbeatIntervalMs } = this.node.options;
    if (join) void this.joinLoop(join, ownAddress);
    this.detector = setInterval(() => this.detect(), Math.max(5, Math.min(heartbeatIntervalMs, heartbeatTimeoutMs / 4)));
    this.detector.unref();
  }

  stop(): void {
    clearInterval(this.detector);
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
  private async joinLoop(join: NonNullable<NodeOptions['join']>, ownAddress: string): Promise<void> {
    const { log, key, heartbeatTimeoutMs } = this.node.options;
    const replica = this.node.follower.replica;
    let target = join[0]!;
    let failedTransfers = 0;
    let begunSeen = this.node.follower.transfersBegun;
    for (let attempt = 0; !this.node.stopping() && !replica.hasSnapshot; attempt++) {
      if (!this.node.replication.following && this.node.follower.transfersBegun > begunSeen) {
        begunSeen = this.node.follower.transfersBegun;
        failedTransfers++;
        const lastEnd = this.node.replication.lastEnded ?? 'the connection ended';
        if (failedTransfers >= MAX_FAILED_TRANSFERS) {
          this.gaveUp = `its snapshot from ${target.host}:${target.port} broke off ${failedTransfers} times (last: ${lastEnd})`;
          log('replication.join.gave-up', {
            primary: `${target.host}:${target.port}`,
            failedTransfers,
            reason: lastEnd,
            remedy: 'check the log of both nodes for why the transfer ended (memory, a network that drops long connections, a backup too slow for the write rate), then start this backup again',
          });
          this.node.options.onGaveUp?.(this.gaveUp);
          return;
        }
        const wait = Math.min(30_000, heartbeatTimeoutMs * 2 ** (failedTransfers - 1));
        log('replication.join.retrying', { primary: `${target.host}:${target.port}`, error: `its snapshot broke off (${lastEnd})`, failedTransfers, retryInMs: wait });
        await sleep(wait);
        continue;
      }
      try {
        if (!this.node.replication.following) {
          await requestJoin(target.host, target.port, key, ownAddress, undefined, this.node.options.tls);
          await sleep(500);
        } else await sleep(200);
      } catch (error) {
        if (error instanceof JoinRefusedError && error.primary && error.primary !== ownAddress) {
          log('replication.join.redirected', { from: `${target.host}:${target.port}`, to: error.primary });
          target = parseAddress(error.primary);
          await sleep(50);
          continue;
        }
        if (attempt % 20 === 0) log('replication.join.retrying', { primary: `${target.host}:${target.port}`, error: (error as Error).message });
        // The node asked may be gone (the primary that began a snapshot, say): the next of --join is asked,
        // and the backups a primary named, which know (or are) the next primary.
        const others = [...join, ...this.node.follower.peers.filter((m) => m.id !== this.node.id).map((m) => parseAddress(m.address))];
        const at = others.findIndex((a) => a.host === target.host && a.port === target.port);
        target = others[(at + 1) % others.length]!;
        await sleep(Math.min(1_000, 100 * (attempt + 1)));
      }
    }
  }

  /** On every detector tick, and at once when the primary's connection ends: take over, follow, or say why not. */
  detect(): void {
    const { follower, options, coordination } = this.node;
    // A node that was primary and was replaced stays out: its run-time can no longer follow.
    if (!this.node.isBackup() || this.deciding !== undefined) return;
    const now = this.node.clock();
    // A tick far later than due means this process stalled: what arrived meanwhile is not read yet.
    const stalled = now - this.lastDetect > options.heartbeatTimeoutMs;
    this.lastDetect = now;
    // With a configuration authority, silence too may start a takeover: the authority decides, not the lease.
    const suspects = follower.suspects() || (coordination !== undefined && follower.replica.hasSnapshot && !stalled && now - follower.lastHeard > options.heartbeatTimeoutMs);
    if (!suspects || now < this.decideAgainAt) return stalled || coordination ? undefined : this.reportBlocked(now);
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
          this.decideAgainAt = Math.max(this.decideAgainAt, this.node.clock() + wait);
          this.node.logOnce('failure.takeover.failed', error.message);
        },
      )
      .finally(() => (this.deciding = undefined));
  }

  /** While this backup decides whether to take over (and takes over): settles when it has. */
  get decision(): Promise<void> | undefined {
    return this.deciding;
  }

  /** /health's answer: whether this backup would take over by itself now, and if not why and what to do. */
  takeover(): { automatic: boolean; reason?: string; remedy?: string } {
    const { follower, coordination } = this.node;
    if (this.gaveUp) return { automatic: false, reason: `this backup gave up joining: ${this.gaveUp}`, remedy: 'start it again once the cause is fixed' };
    const blocked = coordination ? (follower.replica.hasSnapshot ? follower.unsure : "it holds no primary's state yet") : follower.takeoverBlocked(this.node.clock());
    return blocked ? { automatic: false, reason: `this backup will not take over by itself: ${blocked}`, remedy: coordination ? AUTHORITY_REMEDY : TAKEOVER_REMEDY } : { automatic: true };
  }

  /** Why this backup would not take over now, logged once per reason (the same reason /health gives). */
  private reportBlocked(now: number): void {
    const follower = this.node.follower;
    const blocked = follower.replica.hasSnapshot ? follower.takeoverBlocked(now) : undefined;
    if (blocked === this.lastBlocked) return;
    this.lastBlocked = blocked;
    if (blocked) this.node.options.log('failure.takeover.blocked', { reason: blocked, remedy: TAKEOVER_REMEDY });
  }

  private blocked(reason: string, remedy: string): void {
    if (this.lastBlocked !== reason) this.node.options.log('failure.takeover.blocked', { reason, remedy });
    this.lastBlocked = reason;
  }

  /** The primary's connection ended: take over, join the primary or the backup that already took over, or wait. */
  private async succeed(): Promise<void> {
    const { follower, options } = this.node;
    const ended = follower.primaryEndedAt;
    const decision = await decideSuccession(
      follower,
      this.node.epoch(),
      (member) => {
        const { host, port } = parseAddress(member.address);
        return probeRole(host, port, options.heartbeatTimeoutMs, options.tls);
      },
      () => this.node.clock(),
      options.backups.map((a) => ({ id: `${a.host}:${a.port}`, address: `${a.host}:${a.port}` })),
    );
    // A primary (the old one back, or a new one taking this node on) connected meanwhile: the decision is moot.
    if (follower.primaryEndedAt !== ended) return;
    if (decision.kind === 'promote') return this.node.promote();
    // Give the member taken over (or about to) time; a backup in doubt looks for a new primary again later.
    this.decideAgainAt = this.node.clock() + options.heartbeatTimeoutMs;
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
    const { follower, options } = this.node;
    const primary = follower.primary;
    const epoch = this.node.epoch();
    this.decideAgainAt = this.node.clock() + options.heartbeatTimeoutMs;
    if (primary && primary.id !== this.node.id) {
      const { host, port } = parseAddress(primary.address);
      const found = await probeRole(host, port, options.heartbeatTimeoutMs, options.tls);
      if (found?.role === 'primary' && (found.epoch ?? 0) >= epoch) return this.join(primary.address);
    }
    if (!(await this.node.holdsAllCommitted())) {
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
    if (outcome.kind === 'written') {
      options.log('coordination.took-over', { epoch: outcome.configuration.epoch, version: outcome.configuration.version });
      this.authorized = outcome.configuration.epoch;
      return this.node.promote();
    }
    if (outcome.kind === 'done') return this.node.promote();
    if (outcome.kind === 'follow') return this.join(outcome.primary.address);
    follower.unsure = describeOutcome(outcome);
    this.blocked(follower.unsure, AUTHORITY_REMEDY);
  }

  private async join(address: string): Promise<void> {
    const { host, port } = parseAddress(address);
    const { options, follower } = this.node;
    options.log('replication.following.new-primary', { primary: address });
    await requestJoin(host, port, options.key, follower.self.address, undefined, options.tls).catch((error: Error) =>
      options.log('replication.join.retrying', { primary: address, error: error.message }),
    );
  }
}

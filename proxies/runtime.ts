// A service's run-time: one durability proxy per state object, configured from the typed mapping, the
// action controller over them, and the committer behind it. This is what generated services call: they
// read state through `object(name)` and run each method through `execute`. A backup build starts the
// same run-time in the backup role, where replicated objects follow the primary's updates and
// `promote()` makes it the primary.
import type { DurabilityMapping, StateMapping } from '../mappings/model.js';
import { ActionController, type Outcome, type RequestSpec } from './action/controller.js';
import { Committer } from './action/commit.js';
import type { ClassRegistry } from './core/encoding.js';
import { unwrap } from './core/errors.js';
import { StateGraph } from './core/graph.js';
import { DurabilityRefusal } from './core/refusals.js';
import type { ProxyOptions } from './core/recording-proxy.js';
import type { DurabilityProxy } from './core/types.js';
import { UnprotectedProxy } from './core/unprotected-proxy.js';
import { DatabaseProxy } from './database/proxy.js';
import type { DatabaseStore } from './database/store.js';
import { ReconstructionProxy } from './reconstruction/proxy.js';
import { BackupReplica } from './replication/backup.js';
import type { ReplicationLink, ReplicationRecord } from './replication/link.js';
import { installNondeterminismSources } from './replication/nondeterminism.js';
import { ReplicationProxy, replicationOptionsFrom } from './replication/proxy.js';
import { Replicator } from './replication/replicator.js';
import { wholeSnapshot, type SnapshotHeader, type SnapshotPart, type SnapshotWriter } from './replication/snapshot.js';
import type { Clock } from './core/clock.js';

export interface StateObjectSpec {
  /** The service field. */
  name: string;
  /** Creates the empty object, as the field's initializer does. */
  create: () => object;
}

export interface RuntimeOptions {
  role: 'primary' | 'backup';
  mapping: DurabilityMapping;
  objects: readonly StateObjectSpec[];
  /** The service's state classes by name (for shipping instances of them). */
  classes: ClassRegistry;
  /** Required when any state object is mapped to the database. */
  database?: DatabaseStore;
  /** The primary's link to its backups. */
  link?: ReplicationLink;
  /** Request replies kept for retries, in memory and in the database (default 100 000). */
  replyRetention?: number;
  txConflictWaitMs?: number;
  txIdleTimeoutMs?: number;
  /** The clock the controller and committer wait on (the simulation's virtual one there). */
  clock?: Clock;
  /** The lowest epoch this node may become primary at (a configuration authority's epoch, plus one). */
  minEpoch?: number;
}

/** What a generated service's `start` takes: the run-time options the build does not fix itself. */
export type ServiceOptions = Omit<RuntimeOptions, 'role' | 'mapping' | 'classes' | 'objects'>;

/** Where a request comes from: its id (retries answer once) and its transaction, if any. */
export interface RequestContext {
  requestId?: string;
  tx?: string;
}

/**
 * Points the service instance's state fields at their proxies, so that every access the service's own
 * code makes (`this.accounts…`, in any method or helper) goes through the durability proxy.
 */
export function bindStateFields<S extends object>(service: S, runtime: ServiceRuntime, fields: readonly string[]): S {
  for (const field of fields) {
    Object.defineProperty(service, field, {
      get: () => runtime.object(field),
      set: () => {
        // The state object is the one its proxy, its replicas and its rows describe: another object in its
        // place could not be made durable or undone (durable check reports it as DUR2019).
        throw runtime.graph.refuse(
          new DurabilityRefusal(
            'DUR3005',
            `State field '${field}' cannot be replaced (the state object is what its mechanism makes durable). Change the state object through its methods, e.g. a reset() method that empties it.`,
          ),
        );
      },
      enumerable: true,
      configurable: false,
    });
  }
  return service;
}

/**
 * A backup that holds fewer records than the database has committed cannot take over: the primary went
 * on without it, and another backup holds what it missed. It stays a backup until a primary sends it a
 * snapshot.
 */
export class BehindError extends Error {
  constructor(
    readonly held: number,
    readonly committed: number,
    readonly followed: number,
    readonly committedEpoch: number,
  ) {
    super(
      committedEpoch > followed
        ? `This backup followed epoch ${followed}, but a primary of epoch ${committedEpoch} has committed since: it missed those updates. Not taking over; it rejoins the current primary.`
        : `This backup holds records up to ${held}, but the database has committed up to ${committed}: the primary went on without it. Not taking over; a backup that holds those records must.`,
    );
  }
}

export class ServiceRuntime {
  readonly proxies = new Map<string, DurabilityProxy>();
  /** Every object of every state object, behind one membrane. */
  readonly graph = new StateGraph();
  /** What the backups receive, for all replicated objects together. */
  readonly replicator: Replicator;
  /** The primary's committer (its stats feed /metrics). */
  committer: Committer | undefined;
  private controller: ActionController | undefined;
  private epoch = 1;
  /** See RuntimeOptions.minEpoch; a configuration authority raises it before a promotion. */
  epochFloor = 1;
  /** This node's id, as its primary names its backups (a group in the database's log names whom it was sent to). */
  identity: string | undefined;
  private role: 'primary' | 'backup';
  /** The backup role's replica of every replicated object. */
  readonly replica: BackupReplica;

  private constructor(private readonly options: RuntimeOptions) {
    this.role = options.role;
    this.epochFloor = options.minEpoch ?? 1;
    this.epoch = this.epochFloor;
    this.graph.classes = options.classes;
    if (options.role === 'backup') this.graph.ids.beFindable(); // changes from the primary name objects by id
    for (const spec of options.objects) this.proxies.set(spec.name, this.createProxy(spec, mappingOf(options.mapping, spec.name)));
    const replicated = new Map([...this.proxies].filter((e): e is [string, ReplicationProxy] => e[1] instanceof ReplicationProxy));
    this.replicator = new Replicator(this.graph, options.classes, replicated);
    for (const proxy of replicated.values()) proxy.replicator = this.replicator;
    if ([...replicated.values()].some((p) => p.repeats)) installNondeterminismSources();
    this.replica = new BackupReplica(this.replicator, options.replyRetention);
  }

  /** Starts a primary (tables created, state recovered from what survived) or a backup (waiting). */
  static async start(options: RuntimeOptions): Promise<ServiceRuntime> {
    const runtime = new ServiceRuntime(options);
    if (options.role === 'primary') {
      // The state it starts with is what every backup will hold (from its snapshot): named by id, never
      // sent in full again by a later change (see Replicator.markAllKnown).
      runtime.replicator.markAllKnown();
      await runtime.becomePrimary(false);
    }
    return runtime;
  }

  /** Why the primary stopped committing, if it did (fenced: another node took over). */
  get stopped(): { reason: string; fenced: boolean } | undefined {
    return this.controller?.stoppedState;
  }

  get currentEpoch(): number {
    return this.role === 'primary' ? this.epoch : this.replica.currentEpoch;
  }

  /**
   * The object a service method works on: the proxy in front of the state object. A request that reaches
   * it this way (any path through the service's field) makes it part of its action.
   */
  object<T extends object>(name: string): T {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new Error(`No state object '${name}' in this service.`);
    if (this.graph.current) this.controller?.reach(proxy);
    return proxy.object as T;
  }

  /** Runs a service method as a request and returns its result, or throws (see unwrap). */
  async call<R>(spec: RequestSpec, body: () => R | Promise<R>): Promise<Awaited<R>> {
    return unwrap<Awaited<R>>(await this.execute(spec, body));
  }

  execute(spec: RequestSpec, body: () => unknown): Promise<Outcome> {
    if (!this.controller) return Promise.resolve({ kind: 'not-primary', message: 'This node is a backup; send requests to the primary.' });
    return this.controller.execute(spec, body);
  }

  beginTransaction(): string {
    if (!this.controller) throw new Error('This node is a backup; transactions start on the primary.');
    return this.controller.begin();
  }

  commitTransaction(id: string): Promise<Outcome> {
    return this.controller ? this.controller.commitTransaction(id) : Promise.resolve({ kind: 'not-primary', message: 'This node is a backup.' });
  }

  abortTransaction(id: string): Promise<Outcome> {
    return this.controller ? this.controller.abortTransaction(id) : Promise.resolve({ kind: 'not-primary', message: 'This node is a backup.' });
  }

  /**
   * The backup takes over: settle prepared updates by the database's decision records, raise the epoch
   * (in the database too, which fences the old primary off), rebuild database and volatile objects, and
   * serve, continuing the sequence and remembering the replies the old primary gave.
   */
  async promote(link?: ReplicationLink): Promise<void> {
    if (this.role === 'primary') return;
    const store = this.options.database;
    this.epoch = Math.max(this.replica.currentEpoch + 1, this.epochFloor);
    if (store) {
      await store.ensureSystemTables();
      // The database says how far the old primary committed. A backup that holds less was dropped by it
      // (silent, cut off) while it went on with others, which hold updates this one never saw; so was one
      // whose primary was replaced by another that committed (a newer epoch did). The check and the claim
      // are one step in the database, so no commit slips in between. First, the group the old primary
      // committed while shipping it, if this backup never received it; once more if that commit landed
      // between the read of the log and the claim.
      this.epoch = Math.max(this.epoch, (await store.epoch()) + 1);
      for (let attempt = 1; ; attempt++) {
        await this.completeFromLog(store);
        const held = this.replica.lastReceived;
        const followed = this.replica.currentEpoch;
        const claim = await store.claimEpoch(this.epoch, { held, followed });
        if (claim.kind === 'taken') throw new Error(`Another node claimed epoch ${this.epoch} first; not promoting.`);
        if (claim.kind === 'claimed') break;
        if (attempt === 2 || held >= claim.committedSeq) throw new BehindError(held, claim.committedSeq, followed, claim.committedEpoch);
      }
      this.replica.settle(await store.decided(this.replica.undecided().map((r) => r.prepared!.key)));
    } else {
      this.replica.settle(new Map());
    }
    if (link) this.options.link = link;
    this.role = 'primary';
    await this.becomePrimary(true);
  }

  /**
   * The group the old primary committed in the database while it shipped it, which this backup never
   * received (the primary died first): the database's log holds it (DatabaseRecord.logged). Only the
   * group that follows on from what this backup holds, of the primary it followed, sent to this backup:
   * one the primary had dropped, or one further behind, stays refused by the claim.
   */
  private async completeFromLog(store: DatabaseStore): Promise<void> {
    const records = await this.loggedContinuation(store);
    if (records.length === 0) return;
    this.replica.leadWithWhatIsHeld(); // as settling would: a snapshot still on its way is dropped
    this.replica.receive({ epoch: this.replica.currentEpoch, records });
  }

  /** The logged group that follows on from what this backup holds (see completeFromLog), if any. */
  private async loggedContinuation(store: DatabaseStore): Promise<ReplicationRecord[]> {
    const replica = this.replica;
    if (!replica.hasSnapshot) return [];
    const first = replica.lastReceived + 1;
    const records: ReplicationRecord[] = [];
    for (const row of await store.loggedAfter(replica.lastReceived)) {
      const { group, to, record } = JSON.parse(row.record) as { group: number; to?: string[]; record: ReplicationRecord };
      if (row.epoch !== replica.currentEpoch || group !== first || row.seq !== first + records.length) break;
      // Sent to others only: the primary had dropped this backup, and went on without it.
      if (to && this.identity !== undefined && !to.includes(this.identity)) break;
      records.push(record);
    }
    return records;
  }

  /**
   * Whether this backup holds (or can take from the database's log) every record the database has
   * committed: asked before it asks a configuration authority to make it primary. One that does not
   * (its primary is alive and committing, or went on without it) would be named primary there, fence
   * the old one off and then fail its promotion (BehindError), leaving nobody serving. Without a
   * database, true. Not a guarantee (a commit may land after the answer): the promotion's claim is.
   */
  async holdsAllCommitted(): Promise<boolean> {
    const store = this.options.database;
    if (!store || this.role === 'primary') return true;
    const committed = await store.maxSeq();
    if (committed <= this.replica.lastReceived) return true;
    return this.replica.lastReceived + (await this.loggedContinuation(store)).length >= committed;
  }

  /**
   * Whether this primary's epoch is still the database's: false once another node has taken over. A
   * primary that commits learns it from its next commit; one that does not (waiting for backups, or
   * idle) asks this now and then. Without a database, always true.
   */
  async epochIsCurrent(): Promise<boolean> {
    const store = this.options.database;
    if (!store || this.role !== 'primary') return true;
    return (await store.epoch()) <= this.epoch;
  }

  /**
   * A new backup joins a running primary: with nothing in flight, begin a snapshot and let `attach` add
   * the backup to the link, so that it receives exactly the records after the snapshot. The snapshot is
   * streamed afterwards while requests go on (replication/snapshot.ts); the link closes the writer.
   */
  async join(attach: (snapshot: SnapshotWriter) => void | Promise<void>): Promise<void> {
    if (!this.controller) throw new Error('Backups join a primary; this node is a backup.');
    // Between two commits, and with no transaction's uncommitted changes in the replicated state.
    await this.controller.quiesceWithoutTransactions(
      (proxy) => proxy.mechanism === 'replication',
      async () => {
        // A primary that stopped committing has undone a group some backups may hold: its state and its
        // sequence number no longer agree, so it hands out no snapshot.
        const stopped = this.controller!.stoppedState;
        if (stopped) throw new Error(`This primary stopped committing (${stopped.reason}); a backup joins the node that takes over.`);
        const writer = this.snapshotWriter();
        try {
          await attach(writer);
        } catch (error) {
          writer.close();
          throw error;
        }
      },
    );
  }

  /** A snapshot of the replicated state as it is now, to stream (see join). */
  snapshotWriter(): SnapshotWriter {
    return this.replicator.snapshotWriter({ epoch: this.epoch, seq: this.controller?.lastSeq ?? 0 }, this.controller?.knownReplies() ?? []);
  }

  /** The same, produced at once: for tests and tools that hand a backup its state in one piece. */
  snapshot(): { header: SnapshotHeader; parts: SnapshotPart[] } {
    return wholeSnapshot(this.snapshotWriter());
  }

  private async becomePrimary(promoted: boolean): Promise<void> {
    const store = this.options.database;
    let lastSeq = promoted ? this.replica.lastApplied : 0;
    if (store) {
      await store.ensureSystemTables();
      if (!promoted) {
        // A (re)started primary is a new epoch too: it fences off any older process still running, and
        // keeps its decision keys apart from those of the run before it.
        this.epoch = Math.max((await store.epoch()) + 1, this.epochFloor);
        if ((await store.claimEpoch(this.epoch)).kind !== 'claimed') throw new Error(`Another node claimed epoch ${this.epoch} while this one started; not serving.`);
      }
      lastSeq = Math.max(lastSeq, await store.maxSeq());
    }
    for (const proxy of this.proxies.values()) {
      if (proxy.mechanism === 'database' && !promoted) await proxy.init();
      if (proxy.mechanism !== 'replication' && (promoted || proxy.mechanism === 'database')) await proxy.recover();
    }
    const retention = this.options.replyRetention ?? 100_000;
    this.controller = new ActionController({
      graph: this.graph,
      replicator: this.replicator,
      proxies: this.proxies,
      committer: (this.committer = new Committer({ epoch: () => this.epoch, store, link: this.options.link, retention, clock: this.options.clock })),
      classes: this.options.classes,
      waitsForBackups: (name) => (this.proxies.get(name) as ReplicationProxy | undefined)?.sync !== 'lazy',
      replyRetention: retention,
      txConflictWaitMs: this.options.txConflictWaitMs,
      txIdleTimeoutMs: this.options.txIdleTimeoutMs,
      firstSeq: lastSeq + 1,
      clock: this.options.clock,
      replies: promoted ? this.replica.handOverReplies() : undefined,
    });
    // A promoted backup holds the replies of every record it applied (its snapshot's and the stream's):
    // only those the database committed after them are read, so a takeover does not re-read the history.
    const known = promoted && this.replica.hasSnapshot ? this.replica.lastApplied : 0;
    if (store) this.controller.rememberReplies(await store.recentReplies(retention, known));
  }

  private createProxy(spec: StateObjectSpec, mapping: StateMapping): DurabilityProxy {
    const base: ProxyOptions<object> = { name: spec.name, create: spec.create, classes: this.options.classes, graph: this.graph };
    switch (mapping.mechanism) {
      case 'none':
        return new UnprotectedProxy(base);
      case 'reconstruction':
        return new ReconstructionProxy(base, mapping);
      case 'replication':
        return new ReplicationProxy(replicationOptionsFrom(mapping, base));
      case 'database':
        if (!this.options.database) throw new Error(`State object '${spec.name}' is mapped to the database, but no database was given (--db).`);
        return new DatabaseProxy(base, mapping, this.options.database);
    }
  }
}

function mappingOf(mapping: DurabilityMapping, name: string): StateMapping {
  const found = mapping.states.find((s) => s.field.name === name);
  if (!found) throw new Error(`The mapping has no <state name="${name}">; run durable check.`);
  return found;
}

// The run-time under test, per configuration, through its public API: a primary `ServiceRuntime` with
// an in-memory link to a backup (replication), alone (reconstruction), or on a database (database). A
// system also knows where else the state must equal the original's: the backup after each request, the
// backup promoted at the end, a new primary recovering from the database at the end.
import { parseMapping, type DurabilityMapping } from '../../../mappings/index.js';
import type { Outcome, RequestSpec } from '../../../proxies/action/controller.js';
import type { ClassRegistry } from '../../../proxies/core/encoding.js';
import type { DatabaseStore } from '../../../proxies/database/store.js';
import { InMemoryLink } from '../../../proxies/replication/in-memory.js';
import { ServiceRuntime } from '../../../proxies/runtime.js';
import { realState } from '../../support/real-state.js';
import { DATABASE_CONFIGS, type ConfigName, type Universe } from './universe.js';

/** What the harness uses of a serving node: the public API of ServiceRuntime. */
interface ServingNode {
  execute(spec: RequestSpec, body: () => unknown): Promise<Outcome>;
  beginTransaction(): string;
  commitTransaction(id: string): Promise<Outcome>;
  abortTransaction(id: string): Promise<Outcome>;
  /** What service code holds: the proxy in front of the state object. */
  object<T extends object>(name: string): T;
}

/** A node whose state objects (`objects`) must equal the original's, and the real objects it holds. */
export interface View {
  label: string;
  objects: readonly string[];
  state(name: string): object;
}

function view(label: string, runtime: ServiceRuntime, objects: readonly string[]): View {
  return { label, objects, state: (name) => realState(runtime, name) };
}

export interface System {
  /** The node that serves requests now, and its state. */
  readonly serving: ServingNode;
  servingView(): View;
  /**
   * Runs a request the way this system's service does (a compiled build's generated method); without
   * it, the harness runs the universe's body as a request on `serving`.
   */
  perform?(request: unknown, tx: string | undefined): Promise<Outcome>;
  /** Nodes that must hold every committed request after each one: the backup. */
  mirrors(): View[];
  readonly canFailOver: boolean;
  /** A backup takes over, or a new primary starts on the database; returns what happened, in words. */
  failover(): Promise<string>;
  /** The end of the sequence: the backup promoted, or the state recovered from the database. */
  finish(): Promise<View[]>;
}

function mappingFor(universe: Universe<unknown>, config: ConfigName): DurabilityMapping {
  const xml = universe.mapping(config);
  if (xml === undefined) throw new Error(`The ${universe.name} universe has no mapping for ${config}.`);
  const { mapping, diagnostics } = parseMapping(xml, `${universe.name}-${config}.xml`);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (!mapping || errors.length > 0) throw new Error(`The ${universe.name} universe's mapping for ${config} is invalid: ${JSON.stringify(errors)}`);
  for (const state of mapping.states) {
    const types = universe.columnTypes?.[state.field.name];
    if (types && state.mechanism === 'database' && state.recovery) state.recovery.apply.types = types;
  }
  return mapping;
}

export async function startSystem(universe: Universe<unknown>, config: ConfigName, database?: DatabaseStore): Promise<System> {
  const mapping = mappingFor(universe, config);
  const classes: ClassRegistry = new Map(universe.classes.map((c) => [c.name, c]));
  const base = { mapping, objects: universe.objects, classes, txConflictWaitMs: 200 };
  const names = universe.objects.map((o) => o.name);
  if (DATABASE_CONFIGS.includes(config)) {
    if (!database) throw new Error(`The ${config} configuration needs a database.`);
    const start = () => ServiceRuntime.start({ ...base, role: 'primary', database });
    const inDatabase = mapping.states.filter((s) => s.mechanism === 'database').map((s) => s.field.name);
    let primary = await start();
    return {
      get serving() {
        return primary;
      },
      servingView: () => view('the primary', primary, names),
      mirrors: () => [],
      canFailOver: true,
      async failover() {
        primary = await start();
        return 'a new primary starts on the same database (the old one is fenced off) and recovers through <recovery>';
      },
      async finish() {
        return [view('a new primary recovered from the database', await start(), inDatabase)];
      },
    };
  }
  if (config === 'reconstruction') {
    const primary = await ServiceRuntime.start({ ...base, role: 'primary' });
    return {
      serving: primary,
      servingView: () => view('the primary', primary, names),
      mirrors: () => [],
      canFailOver: false,
      failover: () => Promise.reject(new Error('reconstruction has no failover')),
      finish: async () => [],
    };
  }
  // Replication: a primary and a backup that starts from its snapshot, as a joining backup does.
  const startBackup = () => ServiceRuntime.start({ ...base, role: 'backup' });
  let backup = await startBackup();
  let primary = await ServiceRuntime.start({ ...base, role: 'primary', link: new InMemoryLink([backup.replica]) });
  backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
  return {
    get serving() {
      return primary;
    },
    servingView: () => view('the primary', primary, names),
    mirrors: () => [view('the backup', backup, names)],
    canFailOver: true,
    async failover() {
      const next = await startBackup();
      await backup.promote(new InMemoryLink([next.replica]));
      next.replica.loadSnapshot(JSON.parse(JSON.stringify(backup.snapshot())));
      primary = backup;
      backup = next;
      return 'the backup takes over (promote) and serves; a new backup joins it from a snapshot';
    },
    async finish() {
      await backup.promote();
      return [view('the backup, promoted at the end', backup, names)];
    },
  };
}

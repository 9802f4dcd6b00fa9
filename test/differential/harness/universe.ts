// What the harness needs of a universe (a service's state classes and the requests on them) and the
// configurations it runs them under. A universe is ordinary code: its requests run on plain instances
// (the original, the oracle) and on the run-time's proxies alike.
import type { ColumnType } from '../../../mappings/index.js';
import type fc from 'fast-check';

export const CONFIGS = ['state', 'repeat', 'reconstruction', 'sqlite', 'postgres', 'mysql'] as const;
export type ConfigName = (typeof CONFIGS)[number];

export const DATABASE_CONFIGS: readonly ConfigName[] = ['sqlite', 'postgres', 'mysql'];

/** How each configuration reads in a report. */
export const CONFIG_TITLES: Record<ConfigName, string> = {
  state: 'replication update="state"',
  repeat: 'replication update="repeat"',
  reconstruction: 'reconstruction',
  sqlite: 'database on SQLite',
  postgres: 'database on PostgreSQL',
  mysql: 'database on MariaDB',
};

export type Service = Record<string, object>;

export interface Universe<R> {
  name: string;
  /** The state objects: the service field and its initializer. */
  objects: readonly { name: string; create: () => object }[];
  /** Classes whose instances state may hold (the build's class registry). */
  classes: readonly (new (
    ...args: never[]
  ) => object)[];
  /** The mapping for a configuration, or undefined when this universe has none for it. */
  mapping(config: ConfigName): string | undefined;
  /** The tables its database mapping creates, dropped between sequences. */
  tables?: readonly string[];
  /**
   * Per database state object, its `<apply>` method's parameter types: what `durable compile` writes into
   * a build's mapping (so recovery converts columns back to them). An inline mapping carries none.
   */
  columnTypes?: Readonly<Record<string, ColumnType[]>>;
  /** A request's body: runs on the oracle's plain objects and on the run-time's proxies alike. */
  run(service: Service, request: R): unknown;
  /** The request as lines of code, resolved against `service` (an oracle copy it may change). */
  describe(service: Service, request: R): string[];
  /**
   * Why the run-time may refuse this request under `config` (the issue that allows it), or undefined
   * when the request must work exactly as in the original. `before` is a copy of the original's state
   * before the request (the universe may run the request on it to see what each call would do). A
   * refusal is acceptable only when the request fails and leaves the state exactly as before.
   */
  mayRefuse(request: R, config: ConfigName, before: Service): string | undefined;
  /** Requests, for fast-check. */
  requests: fc.Arbitrary<R>;
  /**
   * What to compare of the state objects, when not their whole graphs: state with `#private` members
   * is seen through its public methods only (they are invisible to the comparator by design).
   */
  observe?(service: Service): unknown;
  /** Known reproductions (the issue's), run before the random sequences of every unfocused run. */
  examples?: readonly Command<R>[][];
  /** Simpler variants of a request (one call fewer, no injected failure), for minimizing a failure. */
  simplify?(request: R): R[];
}

/** What a sequence is made of: requests, and the things that happen between them. */
export type Command<R> =
  | { kind: 'request'; request: R }
  | { kind: 'begin' }
  | { kind: 'commit' }
  | { kind: 'abort' }
  /** A backup takes over (replication) or a new primary starts on the database (database). */
  | { kind: 'failover' };

// The typed model of a durability mapping: what `durable check` binds to the service and what the
// compiler and the proxies are configured from. Every node keeps its position in the mapping file.
import type { SourcePosition } from './diagnostics.js';
import type { SqlStatement } from './sql.js';

export const MECHANISMS = ['database', 'replication', 'reconstruction', 'none'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export const DIALECTS = ['sqlite', 'postgres', 'mysql'] as const;
export type Dialect = (typeof DIALECTS)[number];

export const UPDATE_MODES = ['repeat', 'state'] as const;
/** `repeat`: run the same call on the backup; `state`: ship the recorded change itself. */
export type UpdateMode = (typeof UPDATE_MODES)[number];

export const SYNC_MODES = ['ack', 'lazy'] as const;
/** `ack`: reply after every live backup acknowledged; `lazy`: ship in the background (warm standby). */
export type SyncMode = (typeof SYNC_MODES)[number];

/** A name with the place it was written, for diagnostics that point back at the mapping. */
export interface Named {
  name: string;
  position: SourcePosition;
}

/**
 * One statement of a `<sql>` sequence with its dialect variants. `default` runs where no variant names
 * the database in use.
 */
export interface SqlStep {
  position: SourcePosition;
  variants: Partial<Record<Dialect | 'default', SqlStatement[]>>;
}

export interface MethodReference extends Named {}

interface StateMappingBase {
  /** The `@state` field of the service. */
  field: Named;
  position: SourcePosition;
  checkpoint?: MethodReference;
  restore?: MethodReference;
}

export interface DatabaseMethod extends Named {
  steps: SqlStep[];
}

export interface DatabaseRecovery {
  position: SourcePosition;
  query: SqlStep[];
  apply: MethodReference & {
    columns: string[];
    columnsPosition: SourcePosition;
    /**
     * The `<apply>` method's parameter types, one per column, as the compiler found them: column values
     * are converted to them on recovery (a boolean, not 1; a Date, not epoch milliseconds). Absent where
     * the mapping was not compiled against the source (values then come back as the driver gives them).
     */
    types?: ColumnType[];
  };
}

/** What a value bound into or read from a column is in JavaScript. */
export interface ColumnType {
  kind: 'string' | 'number' | 'boolean' | 'bigint' | 'date' | 'json' | 'set' | 'map' | 'unknown';
  /** null is one of its values. */
  nullable?: boolean;
  /** undefined is one of its values (an optional parameter): SQL NULL comes back as undefined unless null is too. */
  optional?: boolean;
}

export interface DatabaseStateMapping extends StateMappingBase {
  mechanism: 'database';
  initialization: SqlStep[];
  recovery?: DatabaseRecovery;
  methods: DatabaseMethod[];
}

export interface ReplicatedMethod extends Named {
  update: UpdateMode;
  updatePosition: SourcePosition;
}

export interface ReplicationStateMapping extends StateMappingBase {
  mechanism: 'replication';
  /** The mode for methods without their own `<method update>`; `state` unless the mapping says otherwise. */
  update: UpdateMode;
  /** Where `update` was written; absent when defaulted. */
  updatePosition?: SourcePosition;
  sync: SyncMode;
  methods: ReplicatedMethod[];
}

export interface ReconstructionStateMapping extends StateMappingBase {
  mechanism: 'reconstruction';
  /** Called on a fresh instance after a failure; absent: the fresh instance as its constructor leaves it. */
  rebuild?: MethodReference;
}

interface UnprotectedStateMapping extends StateMappingBase {
  mechanism: 'none';
}

export type StateMapping = DatabaseStateMapping | ReplicationStateMapping | ReconstructionStateMapping | UnprotectedStateMapping;

export interface DurabilityMapping {
  file: string;
  service: Named;
  states: StateMapping[];
}

/** The statements to run for `dialect`, in order; undefined where a step has no variant for it. */
export function statementsFor(steps: readonly SqlStep[], dialect: Dialect): SqlStatement[] | undefined {
  const out: SqlStatement[] = [];
  for (const step of steps) {
    const chosen = step.variants[dialect] ?? step.variants.default;
    if (!chosen) return undefined;
    out.push(...chosen);
  }
  return out;
}

// The package root: what a service author imports, and the run-time generated builds call. `@state` marks a field that holds a state object; it
// does nothing at run time (the durability compiler finds it in the source) and type-checks both as a
// standard (TC39) decorator and under `experimentalDecorators`, since users' tsconfigs differ.

/**
 * Marks a service field as a state object whose durability the mapping chooses.
 *
 * ```ts
 * import { state } from 'durability-compiler';
 * export class CounterService {
 *   @state counter = new Counter();
 * }
 * ```
 */
export function state(value: undefined, context: ClassFieldDecoratorContext): void;
export function state(target: object, propertyKey: string | symbol): void;
export function state(..._ignored: unknown[]): void {
  // Intentionally empty: the compiler reads the decorator statically and the generated builds drop it.
}

export type {
  Diagnostic,
  DiagnosticCode,
  Severity,
  SourcePosition,
} from './mappings/diagnostics.js';
export type {
  DatabaseStateMapping,
  Dialect,
  DurabilityMapping,
  Mechanism,
  ReconstructionStateMapping,
  ReplicationStateMapping,
  StateMapping,
  SyncMode,
  UpdateMode,
} from './mappings/model.js';
export * from './proxies/index.js';

// The compiler (ts-morph, the TypeScript API) is deliberately not re-exported here: generated builds import
// this root at run time, and should not load a compiler to do so. Use 'durability-compiler/compiler'.

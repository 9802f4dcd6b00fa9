// Binds a mapping to the service it describes: every `<state>` to a `@state` field, every method name to
// a method of the state class, every `arg[N]` to a parameter, and checks what each mechanism needs from
// the class (SQL for every update method of a database object, nothing a backup cannot replay under
// `repeat`, nothing a proxy cannot see through) and from the service's code (see findings.ts).
import path from 'node:path';
import type { SourceFile } from 'ts-morph';
import {
  diagnostic,
  type Diagnostic,
  type DiagnosticCode,
  type DurabilityMapping,
  type MethodReference,
  type SourcePosition,
  type StateMapping,
  type ReplicationStateMapping,
} from '../../mappings/index.js';
import { suggestion } from '../../mappings/validate.js';
import { requiredParameterCount, type Evidence, type ServiceInfo, type StateClassInfo, type StateMethodInfo } from '../analysis/model.js';
import { isCallableType } from '../analysis/declarations.js';
import { exportedClasses, readService } from '../analysis/service.js';
import { readServiceMethods, type ServiceMethodInfo } from '../analysis/service-methods.js';
import { bindDatabase } from './database.js';
import { dedupe, reportFindings, where } from './findings.js';

export interface BindInput {
  mapping: DurabilityMapping;
  /** `<state name>` values written in the mapping, invalid entries included. */
  mentionedStates: readonly string[];
  /** States with a `<recovery>` element, invalid ones included. */
  statesWithRecovery: readonly string[];
  sourceFile: SourceFile;
}

export interface BindResult {
  service?: ServiceInfo;
  methods?: ServiceMethodInfo[];
  diagnostics: Diagnostic[];
}

export type Report = (code: DiagnosticCode, message: string, position: SourcePosition) => void;
export type Resolve = (ref: MethodReference, role: string) => StateMethodInfo | undefined;

export function bindMapping({ mapping, mentionedStates, statesWithRecovery, sourceFile }: BindInput): BindResult {
  const diagnostics: Diagnostic[] = [];
  const inMapping: Report = (code, message, position) => diagnostics.push(diagnostic(code, message, { file: mapping.file, position }));

  const classes = exportedClasses(sourceFile);
  const serviceClass = classes.find((c) => c.getName() === mapping.service.name);
  if (!serviceClass) {
    const names = classes.map((c) => c.getName()!);
    const listed = names.length > 0 ? `It exports ${names.map((n) => `'${n}'`).join(', ')}.` : 'It exports no class; export the service class.';
    inMapping(
      'DUR2001',
      `service="${mapping.service.name}" names no exported class of ${path.basename(sourceFile.getFilePath())}.${suggestion(mapping.service.name, names)} ${listed}`,
      mapping.service.position,
    );
    return { diagnostics };
  }

  const { service, diagnostics: serviceDiagnostics } = readService(serviceClass);
  diagnostics.push(...serviceDiagnostics);
  // The service's code first: a state method it calls with a piece of the object, which then changes it, updates.
  const { methods, findings } = readServiceMethods(service);
  const fields = new Map(service.stateFields.map((f) => [f.name, f]));

  for (const state of mapping.states) {
    const field = fields.get(state.field.name);
    if (!field) {
      const plain = serviceClass.getInstanceProperty(state.field.name);
      const stateNames = [...fields.keys()];
      const hint = plain
        ? ` The service has a field '${state.field.name}' but it is not marked: add @state before it.`
        : `${suggestion(state.field.name, stateNames)} The @state fields of ${service.name} are: ${stateNames.join(', ') || 'none'}.`;
      inMapping('DUR2002', `<state name="${state.field.name}"> names no @state field of ${service.name}.${hint}`, state.field.position);
      continue;
    }
    if (field.stateClass) {
      // Methods service code may call: those outside it (an <apply> used only by recovery) never run in a request.
      const escapes = findings.escapes.some((e) => e.field === field.name);
      const calledByService = escapes ? undefined : (findings.called.get(field.name) ?? new Set<string>());
      bindState(state, field.stateClass, inMapping, statesWithRecovery.includes(state.field.name), calledByService);
    }
    if (field.stateClass && state.mechanism !== 'none') {
      for (const pattern of field.stateClass.unsupported) {
        diagnostics.push(
          diagnostic('DUR2014', `State class ${field.stateClass.name} (field '${field.name}', ${state.mechanism}) uses ${pattern.description}.`, { file: pattern.file, position: pattern.position }),
        );
      }
    }
  }

  const mentioned = new Set(mentionedStates);
  for (const field of service.stateFields) {
    if (mentioned.has(field.name) || field.rejected) continue;
    diagnostics.push(
      diagnostic(
        'DUR2003',
        `State field '${field.name}' has no entry in ${path.basename(mapping.file)}. Add <state name="${field.name}" type="database|replication|reconstruction"/> (type="none" keeps it unprotected).`,
        { file: field.file, position: field.position },
      ),
    );
  }
  const byField = new Map(mapping.states.map((s) => [s.field.name, s]));
  diagnostics.push(...reportFindings(service, findings, (name) => byField.get(name)));
  return { service, methods, diagnostics: dedupe(diagnostics) };
}

function bindState(state: StateMapping, cls: StateClassInfo, report: Report, hasRecoveryElement: boolean, calledByService: ReadonlySet<string> | undefined): void {
  const resolve: Resolve = (ref, role) => resolveMethod(ref, role, cls, report);
  const method = (ref: MethodReference | undefined, role: string) => (ref ? resolve(ref, role) : undefined);

  const checkpoint = method(state.checkpoint, '<checkpoint>');
  if (checkpoint && requiredParameterCount(checkpoint) > 0) {
    report(
      'DUR2009',
      `Checkpoint method '${checkpoint.name}' takes ${requiredParameterCount(checkpoint)} required parameter(s); a checkpoint method is called with none and returns the checkpoint.`,
      state.checkpoint!.position,
    );
  }
  const restore = method(state.restore, '<restore>');
  if (restore && restore.parameters.length === 0) {
    report('DUR2009', `Restore method '${restore.name}' takes no parameter; it is called with the checkpoint to restore.`, state.restore!.position);
  }

  switch (state.mechanism) {
    case 'database':
      return bindDatabase(state, cls, report, resolve, hasRecoveryElement, calledByService);
    case 'replication':
      return bindReplication(state, cls, report, resolve);
    case 'reconstruction': {
      const rebuild = method(state.rebuild, '<recovery>');
      if (rebuild && requiredParameterCount(rebuild) > 0) {
        report(
          'DUR2009',
          `Recovery method '${rebuild.name}' takes ${requiredParameterCount(rebuild)} required parameter(s); it is called with none on the fresh object after a failure.`,
          state.rebuild!.position,
        );
      }
      return;
    }
    case 'none':
      return;
  }
}

/**
 * `repeat` re-runs a method on the backup, recording and replaying the clock and randomness; what the
 * run-time cannot replay (module-level variables, the environment, I/O) diverges. Async methods and
 * calls with a function argument are shipped as changes instead, so they are never re-run.
 */
function bindReplication(state: ReplicationStateMapping, cls: StateClassInfo, report: Report, resolve: Resolve): void {
  const overrides = new Map(state.methods.map((m) => [m.name, m]));
  for (const entry of state.methods) resolve(entry, '<method>');
  for (const m of cls.methods.values()) {
    if (!m.updates || m.isPrivate || m.isAsync || takesFunction(m)) continue;
    const override = overrides.get(m.name);
    const mode = override?.update ?? state.update;
    const position = override?.updatePosition ?? state.updatePosition;
    if (mode !== 'repeat' || !position || m.nondeterminism.length === 0) continue;
    const causes = onePerCause(m.nondeterminism)
      .map((c) => `${c.description} (${where(c)})`)
      .join(' and ');
    report(
      'DUR2007',
      `update="repeat" re-runs ${cls.name}.${m.name} on the backup, but it ${causes}, which the run-time cannot replay, so the backup would diverge. Use update="state" for it${override ? '' : `: <method name="${m.name}" update="state"/>`}.`,
      position,
    );
  }
}

/** One cause per thing read or changed (its first place), a change preferred to a read of the same thing. */
function onePerCause(causes: readonly Evidence[]): Evidence[] {
  const byCause = new Map<string, Evidence>();
  for (const c of causes) {
    const key = c.description.replace(/^(reads|changes) /, '').replace(/ \(other code changes it\)$/, '');
    const before = byCause.get(key);
    if (!before || (before.description.startsWith('reads') && c.description.startsWith('changes'))) byCause.set(key, c);
  }
  return [...byCause.values()];
}

/** A required parameter of function type: every call passes a function, so the call is shipped as its changes. */
function takesFunction(method: StateMethodInfo): boolean {
  return method.parameters.some((p) => !p.optional && !p.rest && isCallableType(p.type.getNonNullableType()));
}

function resolveMethod(ref: MethodReference, role: string, cls: StateClassInfo, report: Report): StateMethodInfo | undefined {
  const found = cls.methods.get(ref.name);
  if (found) return found;
  const names = [...cls.methods.values()].filter((m) => !m.isPrivate).map((m) => m.name);
  report('DUR2004', `${role} names '${ref.name}', which is not a method of ${cls.name}.${suggestion(ref.name, names)} Its methods are: ${names.join(', ') || 'none'}.`, ref.position);
  return undefined;
}

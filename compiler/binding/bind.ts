// Binds a mapping to the service it describes: every `<state>` to a `@state` field, every method name to
// a method of the state class, every `arg[N]` to a parameter, and checks what each mechanism needs from
// the class (SQL for every update method of a database object, deterministic methods for `repeat`).
import { Node, type Type } from 'ts-morph';
import {
  diagnostic,
  argumentReferences,
  type Diagnostic,
  type DiagnosticCode,
  type DurabilityMapping,
  type MethodReference,
  type SourcePosition,
  type StateMapping,
  type DatabaseStateMapping,
  type ReplicationStateMapping,
} from '../../mappings/index.js';
import { suggestion } from '../../mappings/validate.js';
import { acceptsArgumentIndex, requiredParameterCount, type Evidence, type ServiceInfo, type StateClassInfo, type StateMethodInfo } from '../analysis/model.js';
import { exportedClasses, readService } from '../analysis/service.js';
import { readServiceMethods, type ServiceMethodInfo } from '../analysis/service-methods.js';
import type { SourceFile } from 'ts-morph';
import path from 'node:path';

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

export function bindMapping({ mapping, mentionedStates, statesWithRecovery, sourceFile }: BindInput): BindResult {
  const diagnostics: Diagnostic[] = [];
  const inMapping = (code: DiagnosticCode, message: string, position: SourcePosition) =>
    diagnostics.push(diagnostic(code, message, { file: mapping.file, position }));

  const classes = exportedClasses(sourceFile);
  const serviceClass = classes.find((c) => c.getName() === mapping.service.name);
  if (!serviceClass) {
    const names = classes.map((c) => c.getName()!);
    const listed = names.length > 0 ? `It exports ${names.map((n) => `'${n}'`).join(', ')}.` : 'It exports no class; export the service class.';
    inMapping('DUR2001', `service="${mapping.service.name}" names no exported class of ${path.basename(sourceFile.getFilePath())}.${suggestion(mapping.service.name, names)} ${listed}`, mapping.service.position);
    return { diagnostics };
  }

  const { service, diagnostics: serviceDiagnostics } = readService(serviceClass);
  diagnostics.push(...serviceDiagnostics);
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
    if (field.stateClass) bindState(state, field.stateClass, inMapping, statesWithRecovery.includes(state.field.name));
    if (field.stateClass && state.mechanism !== 'none') {
      for (const pattern of field.stateClass.unsupported) {
        diagnostics.push(diagnostic('DUR2014', `State class ${field.stateClass.name} (field '${field.name}', ${state.mechanism}) uses ${pattern.description}.`, { file: pattern.file, position: pattern.position }));
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
  const { methods, diagnostics: methodDiagnostics } = readServiceMethods(service);
  diagnostics.push(...methodDiagnostics);
  return { service, methods, diagnostics };
}

type Report = (code: DiagnosticCode, message: string, position: SourcePosition) => void;

function bindState(state: StateMapping, cls: StateClassInfo, report: Report, hasRecoveryElement: boolean): void {
  const method = (ref: MethodReference | undefined, role: string) => (ref ? resolveMethod(ref, role, cls, report) : undefined);

  const checkpoint = method(state.checkpoint, '<checkpoint>');
  if (checkpoint && requiredParameterCount(checkpoint) > 0) {
    report('DUR2009', `Checkpoint method '${checkpoint.name}' takes ${requiredParameterCount(checkpoint)} required parameter(s); a checkpoint method is called with none and returns the checkpoint.`, state.checkpoint!.position);
  }
  const restore = method(state.restore, '<restore>');
  if (restore && restore.parameters.length === 0) {
    report('DUR2009', `Restore method '${restore.name}' takes no parameter; it is called with the checkpoint to restore.`, state.restore!.position);
  }

  switch (state.mechanism) {
    case 'database':
      return bindDatabase(state, cls, report, hasRecoveryElement);
    case 'replication':
      return bindReplication(state, cls, report);
    case 'reconstruction': {
      const rebuild = method(state.rebuild, '<recovery>');
      if (rebuild && requiredParameterCount(rebuild) > 0) {
        report('DUR2009', `Recovery method '${rebuild.name}' takes ${requiredParameterCount(rebuild)} required parameter(s); it is called with none on the fresh object after a failure.`, state.rebuild!.position);
      }
      return;
    }
    case 'none':
      return;
  }
}

function bindDatabase(state: DatabaseStateMapping, cls: StateClassInfo, report: Report, hasRecoveryElement: boolean): void {
  const mapped = new Set<string>();
  for (const entry of state.methods) {
    mapped.add(entry.name);
    const target = resolveMethod(entry, '<method>', cls, report);
    if (!target) continue;
    if (!target.updates) {
      report('DUR2010', `Method '${target.name}' never updates ${cls.name} (found no write to its fields), so its SQL would run on calls that change nothing in memory. Remove this <method>, or check that the method really writes.`, entry.position);
    }
    for (const step of entry.steps) {
      for (const statements of Object.values(step.variants)) {
        for (const ref of statements.flatMap(argumentReferences)) {
          if (!acceptsArgumentIndex(target, ref.index)) {
            report('DUR2005', `'${ref.source}' refers to argument ${ref.index}, but ${target.name}(${target.parameters.map((p) => p.name).join(', ')}) takes ${target.parameters.length === 0 ? 'none' : target.parameters.length === 1 ? 'one: arg[0]' : `${target.parameters.length}: arg[0] to arg[${target.parameters.length - 1}]`}. Arguments count from 0.`, ref.position);
          } else if (ref.path.length > 0) {
            const parameter = target.parameters[Math.min(ref.index, target.parameters.length - 1)]!;
            // Past the fixed parameters, arg[N] is one element of the rest parameter.
            const type = parameter.rest ? (parameter.type.getArrayElementType() ?? parameter.type) : parameter.type;
            const missing = missingProperty(type, ref.path, target.declaration);
            if (missing) {
              report('DUR2012', `'${ref.source}': ${missing.owner} of type '${missing.typeText}' has no property '${missing.property}'.${suggestion(missing.property, missing.available)}`, ref.position);
            }
          }
        }
      }
    }
  }

  for (const m of cls.methods.values()) {
    if (m.unsure && !m.updates && !m.isPrivate && !mapped.has(m.name)) {
      report('DUR2017', `${cls.name}.${m.name} looks read-only, but it ${describe(m.unsure)}, which the analysis cannot see into. If that changes the object, map the method with <sql>; if not, nothing to do.`, state.position);
    }
    if (!m.updates || m.isPrivate || mapped.has(m.name)) continue;
    report('DUR2006', `${cls.name}.${m.name} updates the object (it ${describe(m.updates)}) but has no <method name="${m.name}"> with <sql> in database state '${state.field.name}', so its changes would never reach the database. Add the statement(s) that store them.`, state.position);
  }

  if (!state.recovery) {
    if (hasRecoveryElement) return; // present but invalid: already reported
    report('DUR2011', `Database state '${state.field.name}' has no <recovery>: after a failover the object would start empty although its rows are in the database. Add <recovery><query>SELECT …</query><apply method="…" args="…"/></recovery>.`, state.position);
    return;
  }
  const apply = resolveMethod(state.recovery.apply, '<apply>', cls, report);
  if (!apply) return;
  const columns = state.recovery.apply.columns.length;
  const required = requiredParameterCount(apply);
  const rest = apply.parameters.some((p) => p.rest);
  if (columns < required || (columns > apply.parameters.length && !rest)) {
    report('DUR2009', `<apply> passes ${columns} column(s) to ${apply.name}(${apply.parameters.map((p) => p.name).join(', ')}), which takes ${required === apply.parameters.length ? required : `${required} to ${apply.parameters.length}`}. List one column of the query per parameter in args.`, state.recovery.apply.columnsPosition);
  }
}

function bindReplication(state: ReplicationStateMapping, cls: StateClassInfo, report: Report): void {
  const overrides = new Map(state.methods.map((m) => [m.name, m]));
  for (const entry of state.methods) resolveMethod(entry, '<method>', cls, report);
  for (const m of cls.methods.values()) {
    if (!m.updates || m.isPrivate) continue;
    const override = overrides.get(m.name);
    const mode = override?.update ?? state.update;
    const position = override?.updatePosition ?? state.updatePosition;
    if (mode !== 'repeat' || !position) continue;
    if (m.isAsync) {
      report('DUR2016', `update="repeat" would re-run ${cls.name}.${m.name} on the backup, but it is async: the backup applies updates one after another and cannot wait for it. Use update="state" for it${override ? '' : `: <method name="${m.name}" update="state"/>`}.`, position);
      continue;
    }
    if (m.nondeterminism.length === 0) continue;
    const causes = m.nondeterminism.map((c) => `${c.description} (${where(c)})`).join(' and ');
    report('DUR2007', `update="repeat" re-runs ${cls.name}.${m.name} on the backup, but it calls ${causes}, so the backup would diverge. Use update="state" for it${override ? '' : `: <method name="${m.name}" update="state"/>`}.`, position);
  }
}

function resolveMethod(ref: MethodReference, role: string, cls: StateClassInfo, report: Report): StateMethodInfo | undefined {
  const found = cls.methods.get(ref.name);
  if (found) return found;
  const names = [...cls.methods.values()].filter((m) => !m.isPrivate).map((m) => m.name);
  report('DUR2004', `${role} names '${ref.name}', which is not a method of ${cls.name}.${suggestion(ref.name, names)} Its methods are: ${names.join(', ') || 'none'}.`, ref.position);
  return undefined;
}

/** Follows `a.b.c` through a parameter's type; reports the first link that does not exist. */
function missingProperty(type: Type, propertyPath: string[], at: Node) {
  let current = type.getNonNullableType();
  let owner = 'the argument';
  for (const property of propertyPath) {
    if (current.isAny() || current.isUnknown() || current.isTypeParameter()) return undefined;
    const symbol = current.getApparentType().getProperty(property);
    if (!symbol) {
      return { owner, property, typeText: current.getText(at), available: current.getApparentType().getProperties().map((p) => p.getName()) };
    }
    current = symbol.getTypeAtLocation(at).getNonNullableType();
    owner = `'${property}'`;
  }
  return undefined;
}

function describe(evidence: Evidence): string {
  return `${evidence.description} at ${where(evidence)}`;
}

/** file:line:col of evidence, by base name: messages must not depend on the directory they are read from. */
function where(evidence: Evidence): string {
  return `${path.basename(evidence.file)}:${evidence.position.line}:${evidence.position.column}`;
}

// Turns what the analysis found in the service's code into diagnostics, once the mapping says which
// mechanism each state object uses: state reached after the request (DUR2018), state stored beyond it
// (DUR2015), state fields replaced (DUR2019), writes into a database object outside its own methods
// (DUR2021), functions held by an object that is shipped or stored (DUR2022). Each points at the code.
import path from 'node:path';
import { diagnostic, type Diagnostic, type DiagnosticCode, type Mechanism, type StateMapping } from '../../mappings/index.js';
import type { Evidence, ServiceInfo, StateFieldInfo } from '../analysis/model.js';
import type { ServiceFindings } from '../analysis/service-methods.js';

/** file:line:col of evidence, by base name: messages must not depend on the directory they are read from. */
export function where(evidence: Evidence): string {
  return `${path.basename(evidence.file)}:${evidence.position.line}:${evidence.position.column}`;
}

export function describe(evidence: Evidence): string {
  return `${evidence.description} at ${where(evidence)}`;
}

const at = (e: Evidence) => ({ file: e.file, position: e.position });

/**
 * Diagnostics for the service's code. `mappingOf` gives each field's mapping entry; without a mapping
 * (`durable inspect` alone) the mechanism-dependent checks assume a protected object and skip DUR2021/DUR2022.
 */
export function reportFindings(service: ServiceInfo, findings: ServiceFindings, mappingOf?: (field: string) => StateMapping | undefined): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const mechanism = (field: string): Mechanism | undefined => mappingOf?.(field)?.mechanism;
  const protectedField = (field: string) => mechanism(field) !== 'none';
  const fields = new Map(service.stateFields.map((f) => [f.name, f]));

  // The state classes' own code first: a finding there is reported once, in the words of the object itself.
  for (const field of service.stateFields) {
    const cls = field.stateClass;
    if (!cls || field.rejected) continue;
    if (protectedField(field.name)) {
      for (const d of firstPerRegistration(cls.deferred)) diagnostics.push(deferredDiagnostic(d.owner, `its own state (state object '${field.name}')`, d));
      for (const e of cls.escapes) {
        diagnostics.push(
          diagnostic(
            'DUR2015',
            `${e.owner} stores part of the state object '${field.name}' in ${e.where}, outside any request: a later change through it would bypass durability. Keep state inside its state object and copy what you hand out.`,
            at(e.evidence),
          ),
        );
      }
    }
    const m = mechanism(field.name);
    if (m === 'replication' || m === 'database') {
      for (const f of cls.functionFields) diagnostics.push(functionDiagnostic(`State class ${cls.name} (field '${field.name}', ${m}) holds functions: ${f.description}.`, f));
      for (const s of cls.functionStores) diagnostics.push(functionDiagnostic(`${s.owner} ${s.evidence.description} into the state object '${field.name}' (${m}).`, s.evidence));
    }
  }

  for (const d of firstPerRegistration(findings.deferred)) {
    if (protectedField(d.field)) diagnostics.push(deferredDiagnostic(d.owner, `the state object '${d.field}'`, d));
  }
  for (const e of findings.escapes) {
    if (!protectedField(e.field)) continue;
    diagnostics.push(
      diagnostic(
        'DUR2015',
        `${e.owner} stores the state object '${e.field}' (or something inside it) in ${e.where}, outside any request: a later change through it would bypass durability. Keep state inside its state object and copy what you hand out.`,
        at(e.evidence),
      ),
    );
  }
  for (const r of findings.replacements) {
    const cls = fields.get(r.field)?.stateClass?.name ?? 'its class';
    diagnostics.push(
      diagnostic(
        'DUR2019',
        `${r.owner} replaces the state object '${r.field}' (it ${r.evidence.description}): the run-time keeps one durable object per state field and refuses to replace it. Change the object through its methods instead (e.g. give ${cls} a reset() method and call this.${r.field}.reset()).`,
        at(r.evidence),
      ),
    );
  }
  if (mappingOf) {
    for (const w of findings.writes) {
      const state = mappingOf(w.field);
      if (state?.mechanism !== 'database' || w.inside === w.root) continue;
      diagnostics.push(outsideWriteDiagnostic(w.owner, w.field, fields.get(w.field), state, w.evidence));
    }
    for (const s of findings.functionStores) {
      const m = mechanism(s.field);
      if (m === 'replication' || m === 'database') {
        diagnostics.push(functionDiagnostic(`${s.owner} ${s.evidence.description} into the state object '${s.field}' (${m}).`, s.evidence));
      }
    }
  }
  return dedupe(diagnostics);
}

/** One diagnostic per callback and state object: at the first place the callback reaches it. */
function firstPerRegistration<T extends { root: string; evidence: Evidence; registration: Evidence }>(found: readonly T[]): T[] {
  const first = new Map<string, T>();
  for (const d of found) {
    const key = `${d.root}@${where(d.registration)}@${d.registration.file}`;
    const before = first.get(key);
    const earlier =
      !before ||
      d.evidence.position.line < before.evidence.position.line ||
      (d.evidence.position.line === before.evidence.position.line && d.evidence.position.column < before.evidence.position.column);
    if (earlier) first.set(key, d);
  }
  return [...first.values()];
}

function deferredDiagnostic(owner: string, what: string, d: { evidence: Evidence; registration: Evidence }): Diagnostic {
  return diagnostic(
    'DUR2018',
    `${owner} reaches ${what} from a callback passed to ${d.registration.description} at ${where(d.registration)}, which runs after the request has ended: the run-time refuses state reached outside a request. Make the change in the request itself, or have the callback call the service through its client.`,
    at(d.evidence),
  );
}

function functionDiagnostic(head: string, e: Evidence): Diagnostic {
  return diagnostic(
    'DUR2022',
    `${head} A function cannot be shipped to a backup or stored in a database: keep data instead (what to run and with which arguments) and choose the function when it runs.`,
    at(e),
  );
}

function outsideWriteDiagnostic(owner: string, field: string, info: StateFieldInfo | undefined, state: StateMapping, e: Evidence): Diagnostic {
  const cls = info?.stateClass;
  const mapped = state.mechanism === 'database' ? state.methods.map((m) => m.name) : [];
  const updating = mapped.filter((m) => cls?.methods.get(m)?.updates);
  const what =
    updating.length > 0
      ? `Make the change through one of the mapped methods of ${cls?.name ?? 'the object'} (${updating.join(', ')}), or add a method that makes it and map it with <sql>.`
      : `Add a method to ${cls?.name ?? 'the state class'} that makes the change and map it with <sql>.`;
  return diagnostic(
    'DUR2021',
    `${owner} writes into the database state object '${field}' outside its own methods (it ${e.description}), so no <sql> would store the change and the run-time refuses the request. ${what}`,
    at(e),
  );
}

/** Codes about a place in the service's code: the same place reached from two methods is one problem. */
const CODE_FINDINGS = new Set<DiagnosticCode>(['DUR2015', 'DUR2018', 'DUR2019', 'DUR2021', 'DUR2022']);

/** One diagnostic per code, place and subject. */
export function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const subject = CODE_FINDINGS.has(d.code) ? (/state object '([^']+)'/.exec(d.message)?.[1] ?? '') : d.message;
    const key = `${d.code}@${d.file ?? ''}:${d.position?.line ?? 0}:${d.position?.column ?? 0}:${subject}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

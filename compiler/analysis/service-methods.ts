// Which state objects each public service method may touch and update, through whatever path it takes
// (private helpers, getters of the service, `const { store } = this`, `this[key]`, `this` handed to a
// function or a static method, arrow-function fields): the run-time joins a state object to the action at
// its first access anyway, so this set only orders locks, but it should be as complete as the analysis
// can make it. The same analysis finds what service code does that durability cannot follow: state
// reached from callbacks that run after the request, state stored beyond the request, state fields
// replaced, writes into state made outside the state object's own methods.
import { SyntaxKind } from 'ts-morph';
import type { DeferredEffect, EscapeEffect, RootEffect, WriteEffect } from './effects.js';
import type { ServiceInfo } from './model.js';
import { analysisOf } from './service.js';
import { SERVICE, EMPTY } from './values.js';

export interface ServiceMethodInfo {
  name: string;
  /** State fields it may read or update, in declaration order. */
  touches: string[];
  /** The subset it may update. */
  updates: string[];
  isAsync: boolean;
  parameters: string[];
}

/** What the service's code does to its state objects that the mapping must know of (roots are state field names). */
export interface ServiceFindings {
  /** Writes into state objects, with the object whose own method was running (if any). */
  writes: Array<WriteEffect & { field: string }>;
  deferred: Array<DeferredEffect & { field: string }>;
  escapes: Array<EscapeEffect & { field: string }>;
  replacements: Array<RootEffect & { field: string }>;
  functionStores: Array<RootEffect & { field: string }>;
  /** Per state field, the names of its methods service code calls (in requests, or while constructing). */
  called: Map<string, Set<string>>;
}

export function readServiceMethods(service: ServiceInfo): { methods: ServiceMethodInfo[]; findings: ServiceFindings } {
  const analysis = analysisOf(service);
  const members = analysis.serviceMembers;
  const fields = service.stateFields.filter((f) => !f.rejected && f.stateClass).map((f) => f.name);
  const fieldOf = new Map([...analysis.stateFields].map(([name, key]) => [key, name]));
  const findings: ServiceFindings = { writes: [], deferred: [], escapes: [], replacements: [], functionStores: [], called: new Map() };
  const noteCalls = (calls: readonly { root: string; method: string }[]) => {
    for (const call of calls) {
      const field = fieldOf.get(call.root);
      if (field === undefined) continue;
      let names = findings.called.get(field);
      if (!names) findings.called.set(field, (names = new Set()));
      names.add(call.method);
    }
  };
  const seen = new Map<unknown, Set<string>>();
  const keep = <T extends RootEffect>(into: Array<T & { field: string }>, items: readonly T[]) => {
    let keys = seen.get(into);
    if (!keys) seen.set(into, (keys = new Set()));
    for (const item of items) {
      const field = fieldOf.get(item.root);
      const key = `${item.root}@${item.evidence.file}:${item.evidence.position.line}:${item.evidence.position.column}/${'inside' in item ? String(item.inside) : ''}`;
      if (field === undefined || keys.has(key)) continue;
      keys.add(key);
      into.push({ ...item, field });
    }
  };

  const methods: ServiceMethodInfo[] = [];
  for (const [name, member] of members?.methods ?? []) {
    if (member.hidden || member.declaration.getKind() !== SyntaxKind.MethodDeclaration) continue;
    const summary = analysis.analyze({ kind: 'code', fn: member.fn }, SERVICE, [], {});
    const touched = new Set([...summary.effects.reads.keys(), ...summary.effects.writes.map((w) => w.root)].map((k) => fieldOf.get(k)));
    const updated = new Set(summary.effects.writes.map((w) => fieldOf.get(w.root)));
    methods.push({
      name,
      touches: fields.filter((f) => touched.has(f)),
      updates: fields.filter((f) => updated.has(f)),
      isAsync: member.fn.isAsync(),
      parameters: member.fn.getParameters().map((p) => p.getName()),
    });
    keep(findings.writes, summary.effects.writes);
    keep(findings.deferred, summary.effects.deferred);
    keep(findings.escapes, summary.effects.escapes);
    keep(findings.replacements, summary.effects.replacements);
    keep(findings.functionStores, summary.effects.functionStores);
    noteCalls(summary.effects.stateCalls);
    // A state method the service calls with a piece of the object, which it then changes, is an update method.
    for (const call of summary.effects.stateCalls) {
      const field = service.stateFields.find((f) => f.name === fieldOf.get(call.root));
      const method = field?.stateClass?.methods.get(call.method);
      if (method && call.write && !method.updates) method.updates = call.write.evidence;
    }
  }
  // The constructor and field initialisers run outside any request: callbacks they register and state they store count.
  const outside = [
    ...(members?.constructorDeclaration ? [analysis.analyze({ kind: 'code', fn: members.constructorDeclaration }, SERVICE, [EMPTY], { initializing: true })] : []),
    ...(members?.fields ?? []).flatMap((f) => (f.getInitializer() && !f.isStatic() ? [analysis.analyzeInitializer(f.getInitializerOrThrow(), SERVICE)] : [])),
  ];
  for (const summary of outside) {
    noteCalls(summary.effects.stateCalls);
    keep(findings.deferred, summary.effects.deferred);
    keep(findings.escapes, summary.effects.escapes);
  }
  return { methods, findings };
}

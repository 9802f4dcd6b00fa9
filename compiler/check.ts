// `durable check`: the mapping read on its own, then bound to the service's source. Reports every problem
// it can find in one run; binding is skipped only when the mapping has no usable root or service name.
import path from 'node:path';
import { hasErrors, loadMapping, sortDiagnostics, type Diagnostic, type DurabilityMapping } from '../mappings/index.js';
import type { ServiceInfo } from './analysis/model.js';
import { loadServiceProject, type LoadedService } from './analysis/project.js';
import type { ServiceMethodInfo } from './analysis/service-methods.js';
import { bindMapping } from './binding/bind.js';
import { prepareStatements } from './binding/statements.js';

export interface CheckResult {
  diagnostics: Diagnostic[];
  mapping?: DurabilityMapping;
  service?: ServiceInfo;
  methods?: ServiceMethodInfo[];
  project?: LoadedService;
}

export interface CheckOptions {
  /** Prepare the mapping's SQL against this database (sqlite:PATH, postgres://…, mysql://…) instead of an in-memory SQLite. */
  db?: string;
}

export async function checkService(serviceFile: string, mappingFile: string, options: CheckOptions = {}): Promise<CheckResult> {
  const loaded = await loadMapping(path.resolve(mappingFile));
  const project = loadServiceProject(serviceFile);
  const diagnostics = [...loaded.diagnostics, ...project.diagnostics];
  // The SQL goes before a database once the mapping itself reads cleanly (a malformed placeholder is reported once, as itself).
  if (loaded.mapping && !hasErrors(loaded.diagnostics)) diagnostics.push(...(await prepareStatements(loaded.mapping, options.db)));
  if (!loaded.mapping || !project.sourceFile) return { diagnostics: sortDiagnostics(diagnostics), mapping: loaded.mapping };

  const bound = bindMapping({ mapping: loaded.mapping, mentionedStates: loaded.mentionedStates ?? [], statesWithRecovery: loaded.statesWithRecovery ?? [], sourceFile: project.sourceFile });
  return { diagnostics: sortDiagnostics([...diagnostics, ...bound.diagnostics]), mapping: loaded.mapping, service: bound.service, methods: bound.methods, project };
}

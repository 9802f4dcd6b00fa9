// What the analysis finds in a service, for a person (`durable inspect`, a table) or a program (`--json`,
// and the build's manifest.json): the state objects with their classes, mechanisms, update and read
// methods, and per public service method the state objects it touches and updates.
import path from 'node:path';
import { sortDiagnostics, type Diagnostic, type DurabilityMapping } from '../mappings/index.js';
import type { ServiceInfo } from './analysis/model.js';
import { loadServiceProject } from './analysis/project.js';
import { exportedClasses, readService } from './analysis/service.js';
import { readServiceMethods, type ServiceMethodInfo } from './analysis/service-methods.js';
import { checkService } from './check.js';
import { reportFindings } from './binding/findings.js';

/** With a mapping: the checked service. Without: every exported class that has @state fields. */
export async function inspectService(file: string, mappingFile?: string): Promise<{ descriptions: ReturnType<typeof describeService>[]; diagnostics: Diagnostic[] }> {
  if (mappingFile) {
    const checked = await checkService(file, mappingFile);
    const descriptions = checked.service && checked.methods ? [describeService(checked.service, checked.methods, checked.mapping)] : [];
    return { descriptions, diagnostics: checked.diagnostics };
  }
  const loaded = loadServiceProject(file);
  if (!loaded.sourceFile) return { descriptions: [], diagnostics: loaded.diagnostics };
  const descriptions = [];
  const diagnostics: Diagnostic[] = [];
  for (const cls of exportedClasses(loaded.sourceFile)) {
    const { service, diagnostics: found } = readService(cls);
    if (service.stateFields.length === 0) continue;
    const { methods, findings } = readServiceMethods(service);
    diagnostics.push(...found, ...reportFindings(service, findings));
    descriptions.push(describeService(service, methods));
  }
  return { descriptions, diagnostics: sortDiagnostics(diagnostics) };
}

export function describeService(service: ServiceInfo, methods: ServiceMethodInfo[], mapping?: DurabilityMapping) {
  return {
    service: service.name,
    stateObjects: service.stateFields.map((field) => {
      const state = mapping?.states.find((s) => s.field.name === field.name);
      const methodsOf = [...(field.stateClass?.methods.values() ?? [])].filter((m) => !m.isPrivate);
      return {
        name: field.name,
        class: field.stateClass?.name ?? null,
        mechanism: state?.mechanism ?? null,
        ...(state?.mechanism === 'replication' ? { update: state.update, sync: state.sync, methodUpdates: Object.fromEntries(state.methods.map((m) => [m.name, m.update])) } : {}),
        updateMethods: methodsOf.filter((m) => m.updates).map((m) => m.name),
        readMethods: methodsOf.filter((m) => !m.updates).map((m) => m.name),
      };
    }),
    methods: Object.fromEntries(methods.map((m) => [m.name, { touches: m.touches, updates: m.updates, async: m.isAsync }])),
  };
}

export function formatInspection(description: ReturnType<typeof describeService>, file: string, cwd: string): string {
  const lines = [`${description.service} (${path.relative(cwd, file) || file})`, ''];
  lines.push(
    ...table(
      ['state object', 'class', 'mechanism', 'update methods', 'read methods'],
      description.stateObjects.map((s) => [
        s.name,
        s.class ?? '?',
        s.mechanism ? s.mechanism + ('update' in s ? ` (${s.update}, ${s.sync})` : '') : '(no mapping given)',
        s.updateMethods.join(', ') || '-',
        s.readMethods.join(', ') || '-',
      ]),
    ),
    '',
    ...table(
      ['method', 'touches', 'updates', 'async'],
      Object.entries(description.methods).map(([name, m]) => [name, m.touches.join(', ') || '-', m.updates.join(', ') || '-', m.async ? 'yes' : 'no']),
    ),
  );
  return lines.join('\n') + '\n';
}

function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

// Checks a small service written by a test: its files go to a scratch directory inside the repository
// (so the repository's tsconfig.json, with Node's types, applies as it does to the corpus), then
// `checkService` runs on it in-process. Helpers read the result the way the tests ask about it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { checkService, type CheckResult } from '../../../compiler/check.js';
import { formatDiagnostic } from '../../../mappings/index.js';
import type { StateMethodInfo } from '../../../compiler/analysis/model.js';

const root = path.resolve(import.meta.dirname, '../../..');
const scratch = path.join(root, '.tmp', 'analysis-tests');
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export interface Checked extends CheckResult {
  dir: string;
  /** Every diagnostic as `durable check` prints it, paths relative to the scratch directory. */
  lines: string[];
}

/** `files` maps file names to sources; 'service.ts' is the service. The mapping is XML text. */
export async function check(files: Record<string, string>, mapping: string): Promise<Checked> {
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(path.join(scratch, 'case-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, 'durability.xml'), mapping);
  const result = await checkService(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'));
  return { ...result, dir, lines: result.diagnostics.map((d) => formatDiagnostic(d, dir)) };
}

/** `code@file:line` for each diagnostic: what most tests compare. */
export function codes(checked: Checked): string[] {
  return checked.diagnostics.map((d) => `${d.code}@${d.file ? path.basename(d.file) : ''}:${d.position?.line ?? 0}`);
}

export function stateMethod(checked: Checked, field: string, name: string): StateMethodInfo {
  const found = checked.service?.stateFields.find((f) => f.name === field)?.stateClass?.methods.get(name);
  if (!found) throw new Error(`no method ${field}.${name}`);
  return found;
}

/** The names of a state object's methods the analysis found to update it. */
export function updateMethods(checked: Checked, field: string): string[] {
  const methods = checked.service?.stateFields.find((f) => f.name === field)?.stateClass?.methods;
  return [...(methods?.values() ?? [])]
    .filter((m) => m.updates && !m.isPrivate)
    .map((m) => m.name)
    .sort();
}

export function touches(checked: Checked, method: string): { touches: string[]; updates: string[] } {
  const found = checked.methods?.find((m) => m.name === method);
  if (!found) throw new Error(`no service method ${method}`);
  return { touches: found.touches, updates: found.updates };
}

/** A database mapping for one state object with a recovery through `apply` and SQL for `methods`. */
export function databaseMapping(service: string, field: string, apply: string, methods: string[], columns = ''): string {
  return `<durability service="${service}">
  <state name="${field}" type="database">
    <recovery><query>SELECT 1</query><apply method="${apply}" args="${columns}"/></recovery>
${methods.map((m) => `    <method name="${m}"><sql>SELECT 1</sql></method>`).join('\n')}
  </state>
</durability>
`;
}

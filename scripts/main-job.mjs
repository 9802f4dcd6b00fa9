// `npm start`: the README's main job. Checks every example service against each of its durability
// mappings and shows, per configuration, which mechanism protects which state object. (Compiling the
// builds and comparing them under load joins this job when `durable compile` and `durable compare` land.)
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkService } from '../dist/compiler/index.js';
import { formatDiagnostic } from '../dist/mappings/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
let failed = false;
const rows = [];

for (const example of readdirSync(examples).sort()) {
  const service = path.join(examples, example, 'service.ts');
  for (const file of readdirSync(path.join(examples, example, 'mappings')).sort()) {
    const mappingFile = path.join(examples, example, 'mappings', file);
    const { diagnostics, mapping } = await checkService(service, mappingFile);
    for (const d of diagnostics) console.log(formatDiagnostic(d, process.cwd()));
    failed ||= diagnostics.some((d) => d.severity === 'error');
    const states = (mapping?.states ?? []).map((s) => `${s.field.name}: ${describe(s)}`).join(', ');
    rows.push([example, path.basename(file, '.xml'), diagnostics.length === 0 ? 'ok' : `${diagnostics.length} problem(s)`, states]);
  }
}

function describe(state) {
  if (state.mechanism === 'replication') return `replication (update=${state.update}, sync=${state.sync})`;
  if (state.mechanism === 'database') return `database (${state.methods.length} mapped method(s))`;
  return state.mechanism;
}

const headers = ['example', 'config', 'check', 'state objects'];
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
console.log(line(headers));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log(`\n${rows.length} configurations checked${failed ? ', some with errors' : ', all clean'}.`);
process.exitCode = failed ? 1 : 0;

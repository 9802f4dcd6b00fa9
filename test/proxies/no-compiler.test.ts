// The run-time (what every node and every build loads) does not load the TypeScript compiler: ts-morph
// and typescript cost 0.5–1 s at every start (issue 14). Checked on the built package, in a fresh process,
// against a control that does load the compiler (so the check itself can fail).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

function loadsCompiler(entry: string): boolean {
  const script = `await import(${JSON.stringify(path.join(root, entry))});
const cache = (await import('node:module')).createRequire(import.meta.url).cache;
process.stdout.write(String(Object.keys(cache).some((p) => p.includes('/node_modules/ts-morph/') || p.includes('/node_modules/typescript/'))));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout === 'true';
}

describe('the run-time', () => {
  it('does not load the TypeScript compiler', () => {
    expect(loadsCompiler('dist/index.js')).toBe(false);
    expect(loadsCompiler('dist/compiler/compile.js')).toBe(true);
  });
});

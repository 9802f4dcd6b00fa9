// Where this package is installed (its package.json names it), without the compiler: the run-time uses it
// to start `durable serve` processes, and must not load TypeScript to do so (self-package.ts, which the
// compiler uses, builds on this).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_NAME = 'durability-compiler';

function packageRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error('durability-compiler cannot find its own package.json.');
  }
}

const root = packageRoot();
/** The run-time entry point and its declarations in this installation. */
export const SELF = { root, js: path.join(root, 'dist', 'index.js'), dts: path.join(root, 'dist', 'index.d.ts') };

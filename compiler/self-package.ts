// Where this package is installed, for services that cannot resolve 'durability-compiler' themselves
// (a service written in a directory without it in node_modules, compiled with an npx-run CLI): their
// analysis and builds then use this installation, by path.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts } from 'ts-morph';
import { PACKAGE_NAME } from './analysis/service.js';

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

/** Whether Node, starting from `dir`, finds the package on its own. */
export function nodeResolvesPackage(dir: string): boolean {
  try {
    createRequire(path.join(dir, 'noop.js')).resolve(PACKAGE_NAME);
    return true;
  } catch {
    return false;
  }
}

/** Compiler options that let TypeScript find the package from `file` even where Node would not. */
export function withSelfPath(options: ts.CompilerOptions, file: string): ts.CompilerOptions {
  const found = ts.resolveModuleName(PACKAGE_NAME, file, options, ts.sys).resolvedModule;
  if (found) return options;
  return { ...options, paths: { ...options.paths, [PACKAGE_NAME]: [SELF.dts] } };
}

// Where this package is installed, for services that cannot resolve 'durability-compiler' themselves
// (a service written in a directory without it in node_modules, compiled with an npx-run CLI): their
// analysis and builds then use this installation, by path.
import { createRequire } from 'node:module';
import path from 'node:path';
import { ts } from 'ts-morph';
import { PACKAGE_NAME, SELF } from './package-root.js';

export { SELF };

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

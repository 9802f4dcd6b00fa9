// A system made of a compiled build (durable compile's primary and backup, imported in-process): the
// path a user's service takes, generated service class included. Requests go through the build's
// `dispatch`; the backup follows over the in-memory link, takes over on failover and at the end.
import path from 'node:path';
import { realState } from '../../support/real-state.js';
import type { System, View } from './systems.js';
import type { Universe } from './universe.js';

interface Build {
  runtime: { object<T extends object>(name: string): T; proxies: Map<string, unknown>; replica: { loadSnapshot(s: unknown): void }; snapshot(): unknown } & System['serving'];
  dispatch(method: string, args: unknown[], request?: { tx?: string }): ReturnType<System['serving']['execute']>;
  promote(link?: unknown): Promise<void>;
}

interface BuildClass {
  start(options?: Record<string, unknown>): Promise<Build>;
}

/** Starts systems from the build in `outDir` (its class `className`); `call` says which method a request is. */
export function compiledSystem<R>(outDir: string, packageRoot: string, className: string, call: (request: R) => { method: string; args: unknown[] }) {
  return async (universe: Universe<unknown>): Promise<System> => {
    // The build runs the run-time from dist/: its link class and its registry of proxies, not the tests' copies.
    const runtime = (await import(path.join(packageRoot, 'dist', 'index.js'))) as { InMemoryLink: new (backups: unknown[]) => unknown };
    const { rawOf } = (await import(path.join(packageRoot, 'dist', 'proxies', 'core', 'raw.js'))) as { rawOf: <T>(v: T) => T };
    const primaryClass = (await import(path.join(outDir, 'primary', 'service.mjs')))[className] as BuildClass;
    const backupClass = (await import(path.join(outDir, 'backup', 'service.mjs')))[className] as BuildClass;
    const names = universe.objects.map((o) => o.name);
    const view = (label: string, build: Build): View => ({ label, objects: names, state: (name) => realState(build.runtime as never, name, rawOf) });
    const join = (primary: Build, backup: Build) => backup.runtime.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.runtime.snapshot())));
    let backup = await backupClass.start({});
    let primary = await primaryClass.start({ link: new runtime.InMemoryLink([backup.runtime.replica]) });
    join(primary, backup);
    return {
      get serving() {
        return primary.runtime;
      },
      servingView: () => view('the primary', primary),
      mirrors: () => [view('the backup', backup)],
      perform: (request, tx) => {
        const { method, args } = call(request as R);
        return primary.dispatch(method, args, { tx });
      },
      canFailOver: true,
      async failover() {
        const next = await backupClass.start({});
        await backup.promote(new runtime.InMemoryLink([next.runtime.replica]));
        join(backup, next);
        primary = backup;
        backup = next;
        return 'the backup build takes over (promote) and serves; a new backup joins it from a snapshot';
      },
      async finish() {
        await backup.promote();
        return [view('the backup, promoted at the end', backup)];
      },
    };
  };
}

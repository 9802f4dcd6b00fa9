// `durable init`: what it writes is a service the rest of the tool accepts (check, compile, serve), and
// it never writes over what the user has. test/package/install.test.ts runs it from an installed tarball.
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { spawnNode } from '../proxies/serving/spawn.js';
import { durable } from './support/cli.js';

const fresh = () => mkdtempSync(path.join(os.tmpdir(), 'durable-init-'));

it('scaffolds a project whose service checks, compiles and serves, with a cluster key only its owner reads', async () => {
  const dir = path.join(fresh(), 'My Shop');
  const init = await durable(['init', dir], os.tmpdir());
  expect(init.code).toBe(0);
  expect(init.stdout).toMatch(/Created in .*: src\/service\.ts, durability\.xml, tsconfig\.json, cluster\.key, package\.json, \.gitignore\./);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  expect(manifest).toMatchObject({ name: 'my-shop', private: true, type: 'module' });
  expect(Object.keys(manifest.scripts)).toEqual(['check', 'build', 'serve', 'serve:backup']);
  expect(statSync(path.join(dir, 'cluster.key')).mode & 0o077).toBe(0);
  expect(readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['build/', 'data/', 'cluster.key']));

  expect(await durable(manifest.scripts.check.split(' ').slice(1), dir)).toEqual({ code: 0, stdout: '', stderr: '' });
  const compiled = await durable(manifest.scripts.build.split(' ').slice(1), dir);
  expect(compiled.code).toBe(0);
  const node = await spawnNode('build', 'primary', ['--db', 'sqlite:data/shop.db', '--key-file', 'cluster.key'], {}, { cwd: dir });
  try {
    const call = (method: string, args: unknown[]) => fetch(`${node.http}/rpc/${method}`, { method: 'POST', body: JSON.stringify({ args }) }).then((r) => r.json());
    expect(await call('restock', ['pear', 3])).toEqual({ result: 3 });
    // The failed order put its stock back: all or nothing, as the scaffold's comment says.
    expect(await call('order', ['pear', 4])).toEqual({ error: { code: 'SERVICE_ERROR', message: 'only 3 pear left' } });
    expect(await call('order', ['pear', 1])).toEqual({ result: 'order-1' });
    expect(await call('available', ['pear'])).toEqual({ result: 2 });
  } finally {
    await node.stop('SIGKILL');
  }
});

it("keeps the user's package.json scripts, tsconfig and .gitignore, and says what it kept", async () => {
  const dir = fresh();
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'theirs', type: 'commonjs', scripts: { build: 'tsc', test: 'vitest' } }));
  writeFileSync(path.join(dir, 'tsconfig.json'), '{"compilerOptions": {"strict": true}}');
  writeFileSync(path.join(dir, '.gitignore'), 'node_modules\nbuild');
  const init = await durable(['init'], dir);
  expect(init.code).toBe(0);
  expect(init.stdout).toContain('Kept your own tsconfig.json.');
  expect(init.stdout).toContain('Kept your scripts build; durable\'s would have been:\n  "build": "durable compile src/service.ts --mapping durability.xml --out build"');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  expect(manifest).toMatchObject({ name: 'theirs', type: 'commonjs', scripts: { build: 'tsc', test: 'vitest', check: expect.stringContaining('durable check') } });
  // npm run build would run theirs: the next step names durable's command itself.
  expect(init.stdout).toContain('  npx durable compile src/service.ts --mapping durability.xml --out build ');
  expect(init.stdout).toContain('  npm run serve ');
  expect(readFileSync(path.join(dir, 'tsconfig.json'), 'utf8')).toBe('{"compilerOptions": {"strict": true}}');
  expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('node_modules\nbuild\ndata/\ncluster.key\n');
});

it('refuses, writing nothing, where a service or a mapping is already', async () => {
  const dir = fresh();
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'src', 'service.ts'), 'export class Mine {}');
  const init = await durable(['init'], dir);
  expect(init.code).toBe(1);
  expect(init.stderr).toMatch(/^durable: src\/service\.ts already exists in .*; nothing was written\./);
  expect(readFileSync(path.join(dir, 'src', 'service.ts'), 'utf8')).toBe('export class Mine {}');
  expect(() => statSync(path.join(dir, 'durability.xml'))).toThrow();
  expect(() => statSync(path.join(dir, 'package.json'))).toThrow();
});

it('says so, writing nothing it cannot finish, when package.json is not JSON', async () => {
  const dir = fresh();
  writeFileSync(path.join(dir, 'package.json'), '{ "name": ');
  const init = await durable(['init'], dir);
  expect(init.code).toBe(1);
  expect(init.stderr).toMatch(/package\.json cannot be used \(.*JSON/);
  expect(readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe('{ "name": ');
});

it('checks a service that keeps Dates in state under a tsconfig without lib (TypeScript then loads the ScriptHost library)', async () => {
  const dir = fresh();
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true } }));
  writeFileSync(
    path.join(dir, 'service.ts'),
    `import { state } from 'durability-compiler';
export class Log {
  private last: Date = new Date(0);
  private seen = new Map<string, Date>();
  touch(key: string, at: Date): void { this.last = at; this.seen.set(key, at); }
  when(key: string): Date | undefined { return this.seen.get(key) ?? this.last; }
}
export class Svc {
  @state log = new Log();
  touch(key: string, at: Date): void { this.log.touch(key, at); }
}
`,
  );
  writeFileSync(path.join(dir, 'durability.xml'), '<durability service="Svc"><state name="log" type="replication"/></durability>');
  expect(await durable(['check', 'service.ts', '--mapping', 'durability.xml'], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
});

it('refuses a package.json whose scripts is not an object, before writing anything', async () => {
  const dir = fresh();
  writeFileSync(path.join(dir, 'package.json'), '{"name": "x", "scripts": "oops"}');
  const init = await durable(['init'], dir);
  expect(init.code).toBe(1);
  expect(init.stderr).toMatch(/package\.json cannot be used \(its "scripts" is not an object\); nothing was written/);
  expect(() => statSync(path.join(dir, 'durability.xml'))).toThrow();
});

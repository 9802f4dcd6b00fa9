// The package as a user gets it: `npm pack`, installed into a fresh `npm init -y` project (CommonJS, as
// npm writes it) from the tarball, then `durable init`, `npm run build`, and the two serve scripts run as
// written (ports aside: the OS picks them), a primary killed with SIGKILL and its request retried on the
// backup. It installs the dependencies from the npm registry (or npm's cache), better-sqlite3 built from
// source included: about a minute.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SELF } from '../../compiler/package-root.js';
import { spawnNode, type SpawnedNode } from '../../proxies/serving/spawn.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let work: string;
let project: string;
let installLog: string;
const nodes: SpawnedNode[] = [];

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'durable-install-'));
  // dist/ is built by `npm test` before vitest runs; --ignore-scripts keeps `npm pack` from rebuilding it.
  const packed = JSON.parse(execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: SELF.root, encoding: 'utf8' })) as { filename: string }[];
  const tarball = path.join(work, packed[0]!.filename);
  project = path.join(work, 'my-shop');
  execFileSync('mkdir', [project]);
  execFileSync(npm, ['init', '-y'], { cwd: project, stdio: 'ignore' });
  const install = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, encoding: 'utf8' });
  installLog = install.stdout + install.stderr;
  if (install.status !== 0) throw new Error(`npm install of the packed tarball failed (${install.status}):\n${installLog}`);
}, 400_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  rmSync(work, { recursive: true, force: true });
});

function run(command: string, args: string[]): { code: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: project, encoding: 'utf8', env: { ...process.env, DURABLE_CLUSTER_KEY: '' } });
  return { code: result.status, output: result.stdout + result.stderr };
}

/** A serve script's own flags, without the role and addresses the test gives (ports the OS picks). */
function serveFlags(script: string): string[] {
  const words = script.split(/\s+/).slice(3); // durable serve build
  const flags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (['--role', '--http', '--repl', '--join'].includes(words[i]!)) i++;
    else flags.push(words[i]!);
  }
  return flags;
}

const rpc = (node: SpawnedNode, method: string, args: unknown[], id?: string) =>
  fetch(`${node.http}/rpc/${method}`, { method: 'POST', body: JSON.stringify({ args, ...(id ? { id } : {}) }) }).then(async (r) => ({ status: r.status, body: await r.json() }));

it('installs from the packed tarball without asking to run its own scripts', () => {
  expect(installLog).not.toMatch(/durability-compiler@[^\s]+ \((prepare|install|postinstall)/);
  const installed = JSON.parse(readFileSync(path.join(project, 'node_modules', 'durability-compiler', 'package.json'), 'utf8'));
  expect(installed.scripts?.prepare).toBeUndefined();
});

it('durable init, npm run build and the serve scripts give a primary and a backup that fail over, in a project npm init made', async () => {
  const bin = path.join(project, 'node_modules', '.bin', 'durable');
  const init = run(bin, ['init']);
  expect(init.output).toContain('npm run build');
  expect(init.code).toBe(0);
  expect(run(bin, ['init']).code).toBe(1); // a second init writes nothing over the service

  const built = run(npm, ['run', 'build']);
  expect(built.output).toMatch(/Wrote build\/primary, build\/backup/);
  expect(built.code).toBe(0);
  // The build names the run-time as a package, so it keeps working when the project moves.
  expect(readFileSync(path.join(project, 'build', 'primary', 'service.mjs'), 'utf8')).toMatch(/from 'durability-compiler'/);

  const scripts = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const place = { bin: path.join(project, 'node_modules', 'durability-compiler', 'bin', 'durable.js'), cwd: project };
  const primary = await spawnNode('build', 'primary', serveFlags(scripts.serve!), {}, place);
  nodes.push(primary);
  expect(await rpc(primary, 'restock', ['apple', 5])).toEqual({ status: 200, body: { result: 5 } });
  expect(await rpc(primary, 'order', ['apple', 9])).toMatchObject({ status: 422, body: { error: { code: 'SERVICE_ERROR' } } });
  expect(await rpc(primary, 'order', ['apple', 'two'])).toMatchObject({ status: 400, body: { error: { code: 'BAD_ARGUMENTS', message: expect.stringContaining('quantity') } } });

  const backup = await spawnNode('build', 'backup', [...serveFlags(scripts['serve:backup']!), '--join', primary.repl], {}, place);
  nodes.push(backup);
  await primary.waitFor('replication.backup.joined');
  expect(await rpc(primary, 'order', ['apple', 2], 'first-order')).toEqual({ status: 200, body: { result: 'order-1' } });

  primary.kill('SIGKILL');
  let retried = await rpc(backup, 'order', ['apple', 2], 'first-order');
  for (const deadline = Date.now() + 10_000; retried.status === 503 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    retried = await rpc(backup, 'order', ['apple', 2], 'first-order');
  }
  expect(retried).toEqual({ status: 200, body: { result: 'order-1' } }); // answered, not run again
  expect(await rpc(backup, 'available', ['apple'])).toEqual({ status: 200, body: { result: 3 } });
  expect(await rpc(backup, 'order', ['apple', 1])).toEqual({ status: 200, body: { result: 'order-2' } });
}, 120_000);

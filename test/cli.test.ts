// The `durable` command as a user meets it: the installed binary, its help, its exit codes (0 success,
// 1 the user's input, 2 an internal error), and no stack traces.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../bin/cli.js';
import { durable } from './support/cli.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'durable.js');
const run = promisify(execFile);

async function spawnDurable(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const COMMANDS = ['init', 'check', 'compile', 'inspect', 'serve', 'compare'];

describe('the durable binary', () => {
  it('prints help listing every command, exit 0', async () => {
    const { code, stdout } = await spawnDurable(['--help']);
    expect(code).toBe(0);
    for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('checks an example with no output and exit 0', async () => {
    const result = await spawnDurable(['check', 'examples/matchmaker/service.ts', '--mapping', 'examples/matchmaker/mappings/pb+db.xml']);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('stops quietly when its reader closes the pipe early', async () => {
    const command = `"${process.execPath}" "${bin}" check test/corpus/service.ts --mapping test/corpus/mappings/59-writes-through-calls-and-aliases.xml | head -c 10`;
    const { stdout, stderr } = await run('/bin/sh', ['-c', command], { cwd: root });
    expect(stdout).toHaveLength(10);
    expect(stderr).toBe('');
  });

  it('exits 1 with diagnostics for a bad mapping', async () => {
    const result = await spawnDurable(['check', 'test/corpus/service.ts', '--mapping', 'test/corpus/mappings/14-unknown-mechanism.xml']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^test\/corpus\/mappings\/14-unknown-mechanism\.xml:8:30 - error DUR1005: /m);
  });
});

describe('durable check on every example mapping', () => {
  const examples = path.join(root, 'examples');
  const mappings = readdirSync(examples).flatMap((example) => readdirSync(path.join(examples, example, 'mappings')).map((file) => [example, file] as const));
  it.each(mappings)('%s %s: exit 0, no output', async (example, file) => {
    const result = await durable(['check', `examples/${example}/service.ts`, '--mapping', `examples/${example}/mappings/${file}`], root);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('user errors exit 1 with a message for a person', () => {
  it.each(COMMANDS)('%s --help exits 0', async (command) => {
    const result = await durable([command, '--help'], root);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: durable ${command}`);
  });

  it.each([
    [['check', 'examples/counter/service.ts', '--mapping', 'nowhere.xml'], /error DUR0001: Cannot read the mapping file '.*nowhere\.xml': no such file\./],
    [['check', 'nowhere.ts', '--mapping', 'examples/counter/mappings/pb.xml'], /error DUR0001: Cannot read the service source '.*nowhere\.ts': no such file\./],
    [['check', 'examples/counter/service.ts', '--mapping', 'examples'], /error DUR0001: Cannot read the mapping file '.*examples': it is a directory\./],
  ])('durable %j', async (args, message) => {
    const result = await durable(args, root);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(message);
    expect(result.stdout + result.stderr).not.toMatch(/^\s+at /m);
  });

  it('reports a broken tsconfig.json beside the service as DUR0003, not a crash', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-tsconfig-'));
    writeFileSync(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "target": "es2022",');
    writeFileSync(path.join(dir, 'service.ts'), 'export class S {}\n');
    writeFileSync(path.join(dir, 'm.xml'), '<durability service="S"/>\n');
    const result = await durable(['check', 'service.ts', '--mapping', 'm.xml'], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^tsconfig\.json - error DUR0003: The TypeScript configuration .*tsconfig\.json \(the nearest to the service\) cannot be read: /m);
    expect(result.stderr).toBe('');
  });

  it.each([
    [['check', 'examples/counter/service.ts'], /required option '-m, --mapping <file>' not specified/],
    [['check', '-m', 'x.xml'], /missing required argument 'service'/],
    [['chek'], /unknown command 'chek'/],
    [['check', '--frobnicate', 'x.ts', '-m', 'y.xml'], /unknown option '--frobnicate'/],
    [['serve', 'build', '--role', 'leader', '--http', ':1', '--repl', ':2'], /argument 'leader' is invalid/],
    [['serve', '.tmp/none', '--role', 'primary', '--http', '127.0.0.1:1', '--repl', '127.0.0.1:2'], /Replication needs a cluster key: set DURABLE_CLUSTER_KEY or pass --key-file/],
    [['serve', '.tmp/none', '--role', 'primary', '--http', '0.0.0.0:1', '--repl', '127.0.0.1:2', '--insecure'], /--insecure is allowed only when every address is on loopback/],
    [['serve', '.tmp/none', '--role', 'primary', '--http', 'nowhere', '--repl', '127.0.0.1:2', '--insecure'], /--http: 'nowhere' is not HOST:PORT/],
    [
      ['serve', '.tmp/none', '--role', 'primary', '--http', '127.0.0.1:1', '--repl', '127.0.0.1:2', '--insecure', '--coordinator', 'zookeeper://x'],
      /--coordinator 'zookeeper:\/\/x' is not postgres:\/\/…, mysql:\/\/…, etcd:\/\/HOST:PORT/,
    ],
    [['compare', 'nothing-here'], /'nothing-here' is neither an example \(counter, matchmaker\) nor a directory with service\.ts and mappings\//],
    [['compare', 'counter', '--configs', 'original,fast'], /'fast' is not a mapping of counter; it has db, original, pb, reconstruction\./],
  ])('durable %j', async (args, message) => {
    const result = await durable(args, root);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('compile and inspect', () => {
  it('compiles an example into primary and backup builds and a manifest', async () => {
    const result = await durable(['compile', 'examples/counter/service.ts', '-m', 'examples/counter/mappings/db.xml', '-o', '.tmp/cli-compile'], root);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Wrote \.tmp\/cli-compile\/primary, \.tmp\/cli-compile\/backup and \.tmp\/cli-compile\/manifest\.json \(\d+ files\) in \d+ ms\.$/m);
  });

  it('refuses to compile a mapping with errors, printing them, exit 1', async () => {
    const result = await durable(['compile', 'test/corpus/service.ts', '-m', 'test/corpus/mappings/14-unknown-mechanism.xml', '-o', '.tmp/cli-bad'], root);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('error DUR1005');
  });

  it('reports a service that does not type-check as DUR0004 at its place', async () => {
    const dir = mkdtempSync(path.join(root, '.tmp', 'typeerr-'));
    writeFileSync(
      path.join(dir, 'service.ts'),
      "import { state } from 'durability-compiler';\nexport class C { n = 0; inc(): void { this.n++; } }\nexport class S {\n  @state c = new C();\n  bad(): number { return 'x'; }\n}\n",
    );
    writeFileSync(path.join(dir, 'm.xml'), '<durability service="S"><state name="c" type="reconstruction"/></durability>\n');
    const result = await durable(['compile', 'service.ts', '-m', 'm.xml', '-o', 'out'], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^service\.ts:5:19 - error DUR0004: Type 'string' is not assignable to type 'number'\. \(TS2322\)/m);
  });

  it('inspects a service as a table and as JSON', async () => {
    const table = await durable(['inspect', 'examples/matchmaker/service.ts', '-m', 'examples/matchmaker/mappings/pb+db.xml'], root);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^jobSubmit +machines, accounts +machines, accounts +no$/m);
    const json = await durable(['inspect', 'examples/counter/service.ts', '--json'], root);
    expect(JSON.parse(json.stdout)).toMatchObject({ service: 'CounterService', methods: { add: { touches: ['counter'], updates: ['counter'] } } });
  });
});

it('reports an internal error as a bug with exit 2, the stack only on request', async () => {
  const failing = (env: Record<string, string>) => {
    let stderr = '';
    const io = {
      cwd: root,
      env,
      stdout: () => {
        throw new Error('stdout closed');
      },
      stderr: (t: string) => (stderr += t),
    };
    return runCli(['check', 'test/corpus/service.ts', '--mapping', 'test/corpus/mappings/14-unknown-mechanism.xml'], io).then((code) => ({ code, stderr }));
  };
  const quiet = await failing({});
  expect(quiet.code).toBe(2);
  expect(quiet.stderr).toMatch(/^durable: internal error: stdout closed\nThis is a bug in durability-compiler/);
  expect(quiet.stderr).not.toMatch(/^\s+at /m);
  const debug = await failing({ DURABLE_DEBUG: '1' });
  expect(debug.stderr).toMatch(/^\s+at /m);
});

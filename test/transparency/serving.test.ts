// Transparency over real processes: `durable serve` nodes, HTTP, SIGKILL. A state class with #private
// members in every form answers as its original (native #private) over HTTP, and a promoted backup holds
// exactly what was acknowledged after its primary is killed; a change to state left for later (outside
// any request) is refused where it is made, and the node goes on serving.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ts } from 'ts-morph';
import { afterEach, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { startNode, type Node } from '../serving/processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const nodes: Node[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.kill();
});

async function build(service: string, mapping: string, name: string): Promise<string> {
  const out = path.join(root, '.tmp', 'transparency', name);
  const result = await compileService(service, mapping, out, 'test');
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return out;
}

async function cluster(dir: string): Promise<{ primary: Node; backup: Node }> {
  const timing = ['--heartbeat-interval', '50', '--heartbeat-timeout', '400'];
  const backup = await startNode(dir, 'backup', timing);
  nodes.push(backup);
  const primary = await startNode(dir, 'primary', ['--backups', backup.repl, ...timing]);
  nodes.push(primary);
  await primary.waitFor('replication.backup.joined');
  return { primary, backup };
}

async function call(node: Node, method: string, args: unknown[], id?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.http}/rpc/${method}`, { method: 'POST', body: JSON.stringify({ args, id }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What a value is over HTTP, by the serving contract's convention (Maps and Sets as arrays). */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v)) ?? 'null') as unknown;

describe('transparency over real processes', () => {
  it('#private state answers as the original over HTTP and survives a SIGKILL of its primary', async () => {
    const dir = path.join(root, 'test', 'compiler', 'services', 'private-accounts');
    const out = path.join(root, '.tmp', 'transparency', 'private-original');
    mkdirSync(out, { recursive: true });
    const { outputText } = ts.transpileModule(readFileSync(path.join(dir, 'service.ts'), 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, experimentalDecorators: true, useDefineForClassFields: true },
    });
    writeFileSync(path.join(out, 'service.mjs'), outputText);
    const Original = (await import(pathToFileURL(path.join(out, 'service.mjs')).href)).BankService as new () => Record<string, (...a: unknown[]) => unknown>;
    const { primary, backup } = await cluster(await build(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'), 'private'));
    const calls: [string, ...unknown[]][] = [
      ['open', 'a', false, 100],
      ['open', 's', true, 50],
      ['deposit', 'a', 30],
      ['withdraw', 'a', 500],
      ['transfer', 'a', 's', 20],
      ['transfer', 's', 'a', 1000],
      ['label', 'first'],
      ['freeze', 'a'],
      ['deposit', 'a', 1],
      ['report'],
    ];
    // The original keeps what a method changed before it threw; the service undoes it. So the reference
    // is rebuilt after a call that threw, from the calls that succeeded, on a fresh instance.
    let original = new Original();
    const succeeded: [string, ...unknown[]][] = [];
    for (const [i, [method, ...args]] of calls.entries()) {
      let expected: { status: number; body: unknown };
      try {
        expected = { status: 200, body: { result: asJson(original[method]!(...args)) } };
        succeeded.push([method, ...args]);
      } catch (error) {
        expected = { status: 422, body: { error: { code: 'SERVICE_ERROR', message: (error as Error).message } } };
        original = new Original();
        for (const [m, ...a] of succeeded) original[m]!(...a);
      }
      expect(await call(primary, method, args, `r${i}`), `${method}(${JSON.stringify(args)})`).toEqual(expected);
    }
    const acknowledged = (await call(primary, 'dump', [])).body.result;
    expect(acknowledged).toEqual(asJson(original.dump!()));
    primary.kill('SIGKILL');
    await backup.waitFor('role.changed');
    expect((await call(backup, 'dump', [])).body.result).toEqual(acknowledged);
    expect((await call(backup, 'report', [])).body.result).toEqual(asJson(original.report!()));
  });

  it('a change to state made outside any request is refused there; the node logs it and goes on serving', async () => {
    const dir = path.join(root, 'test', 'transparency', 'services', 'deferred');
    const { primary, backup } = await cluster(await build(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'), 'deferred'));
    expect(await call(primary, 'later', ['late'])).toEqual({ status: 200, body: { result: 'scheduled' } });
    const refused = await primary.waitFor('state.refused');
    expect(String(refused.error)).toMatch(/DUR3006.*outside a request/);
    expect(primary.alive()).toBe(true);
    expect(await call(primary, 'now', ['x'])).toEqual({ status: 200, body: { result: 1 } });
    // The serving contract (docs/SERVING.md): arguments are checked against the declared parameters first.
    expect(await call(primary, 'now', [5])).toEqual({
      status: 400,
      body: { error: { code: 'BAD_ARGUMENTS', message: 'now: argument 0 (text: string) is the number 5, where a string is expected.' } },
    });
    expect(await call(primary, 'now', [])).toMatchObject({ status: 400, body: { error: { code: 'BAD_ARGUMENTS' } } });
    expect((await call(primary, 'size', [])).body.result).toBe(1);
    primary.kill('SIGKILL');
    await backup.waitFor('role.changed');
    expect((await call(backup, 'size', [])).body.result).toBe(1);
  });
});

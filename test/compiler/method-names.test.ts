// A user's method names are theirs (issue 11 item 13): a service whose methods are called commit, abort,
// with, begin, dispatch, runtime, promote, start, then, controls, call, 'my-method' and toString compiles,
// and each runs as the service's own method, in-process and over HTTP through `durable serve`, while the
// run-time's controls stay reachable through the static Service.controls(…).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { startNode, type Node } from '../serving/processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'test', 'compiler', 'services', 'method-names');
const out = path.join(root, '.tmp', 'method-names');

/** Every method of the service with the arguments it is called with, in order. */
const CALLS: [method: string, ...args: unknown[]][] = [
  ['commit', 'one'],
  ['with', 2, 3],
  ['begin'],
  ['dispatch', 'x', [1, 2]],
  ['runtime'],
  ['promote', 7],
  ['start'],
  ['then', 'later'],
  ['controls'],
  ['call', ['a', 'b'], 4],
  ['my-method', 21],
  ['toString'],
  ['abort', 'no'],
  ['entries'],
];

let builds: { primary: any; backup: any; original: any };

beforeAll(async () => {
  const compiled = await compileService(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'), out, '0.1.0');
  expect(compiled.diagnostics).toEqual([]);
  builds = {
    primary: await import(path.join(out, 'primary', 'service.mjs')),
    backup: await import(path.join(out, 'backup', 'service.mjs')),
    original: await import(path.join(out, 'primary', 'source', 'service.js')),
  };
});

/**
 * The uncompiled service as a compiled one must look: a call that threw never happened (the original
 * keeps its partial change; the compiled service rolls it back), so it is rebuilt from the calls that
 * succeeded.
 */
class Reference {
  private readonly succeeded: [string, unknown[]][] = [];
  current(): any {
    const service = new builds.original.NamesService();
    for (const [method, args] of this.succeeded) service[method](...args);
    return service;
  }
  call(method: string, ...args: unknown[]): unknown {
    const result = this.current()[method](...args);
    this.succeeded.push([method, args]);
    return result;
  }
}

async function outcome(run: () => unknown): Promise<{ value?: unknown; error?: string }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('a service whose methods are named like the run-time controls', () => {
  it('runs each as its own method in-process; the controls stay reachable', async () => {
    const runtime = await import('durability-compiler');
    const { NamesService: Primary } = builds.primary;
    const { NamesService: Backup } = builds.backup;
    const backup = await Backup.start();
    const backupControls = Backup.controls(backup);
    const primary = await Primary.start({ link: new runtime.InMemoryLink([backupControls.runtime.replica]) });
    // `then` is not a member, so start() resolved to the service itself, not to what then() returns.
    expect(primary).toBeInstanceOf(Primary);
    expect('then' in primary).toBe(false);
    const controls = Primary.controls(primary);
    expect(controls.runtime).toBeInstanceOf(runtime.ServiceRuntime);
    backupControls.runtime.replica.loadSnapshot(JSON.parse(JSON.stringify(controls.runtime.snapshot())));

    const reference = new Reference();
    for (const [method, ...args] of CALLS) {
      const expected = await outcome(() => reference.call(method, ...args));
      const viaControls = await outcome(() => controls.call(method, ...args));
      expect(viaControls, `controls.call('${method}')`).toEqual(expected);
      if (method !== 'then') expect(typeof primary[method], method).toBe('function');
    }
    expect(await controls.call('entries')).toEqual(reference.current().entries());

    // The members are the user's: calling them changes the journal as the original's would.
    expect(await primary.commit('two')).toBe(reference.call('commit', 'two'));
    expect(await primary.with(1, 1)).toBe(reference.call('with', 1, 1));
    expect(await primary.begin()).toBe(reference.call('begin'));
    expect(await primary.dispatch('y', [])).toBe(reference.call('dispatch', 'y', []));
    expect(await primary.runtime()).toBe(reference.call('runtime'));
    expect(await primary['my-method'](4)).toBe(reference.call('my-method', 4));
    await expect(primary.abort('late')).rejects.toThrow('aborted: late');
    expect(await primary.toString()).toBe(reference.call('toString'));
    expect(await primary.entries()).toEqual(reference.current().entries());

    // The run-time's transactions through the controls, with a user method called commit inside one.
    const tx = controls.begin();
    expect(await controls.with({ tx }).commit('in tx')).toBe(reference.current().entries().length + 1);
    expect(await controls.abort(tx)).toMatchObject({ kind: 'ok' });
    expect(await primary.entries()).toEqual(reference.current().entries());
    const tx2 = controls.begin();
    // with() gives a NamesService, whose call() is the user's: its controls call then().
    const inTx = controls.with({ tx: tx2 });
    expect(await inTx.call(['x'], 1)).toBe(reference.call('call', ['x'], 1));
    expect(await Primary.controls(inTx).call('then', 'in tx2')).toBe(reference.call('then', 'in tx2'));
    expect(await controls.commit(tx2)).toMatchObject({ kind: 'ok' });
    expect(await controls.dispatch('then', ['by name'])).toMatchObject({ kind: 'ok', result: reference.call('then', 'by name') });
    expect(await controls.dispatch('hasOwnProperty', ['x'])).toMatchObject({ kind: 'unknown-method' });

    // The backup's promote is the run-time's through the controls; its own promote() is the user's.
    await backupControls.promote();
    expect(await backup.promote(3)).toBe(reference.call('promote', 3));
    expect(await backup.entries()).toEqual(reference.current().entries());
  });

  it('keeps the short controls as members where the service leaves their names free', async () => {
    const counterOut = path.join(root, '.tmp', 'method-names-counter');
    const result = await compileService(path.join(root, 'examples/counter/service.ts'), path.join(root, 'examples/counter/mappings/pb.xml'), counterOut, '0.1.0');
    expect(result.diagnostics).toEqual([]);
    const counter = await import(path.join(counterOut, 'primary', 'service.mjs'));
    const service = await counter.CounterService.start();
    for (const control of ['with', 'dispatch', 'begin', 'commit', 'abort']) expect(typeof service[control], control).toBe('function');
    expect(service.runtime).toBe(counter.CounterService.controls(service).runtime);
    const tx = service.begin();
    await service.with({ tx }).add();
    expect(await service.commit(tx)).toMatchObject({ kind: 'ok' });
    expect(await service.get()).toBe(1);
  });
});

describe('over HTTP, through durable serve', () => {
  let primary: Node;
  beforeAll(async () => {
    primary = await startNode(out, 'primary', ['--heartbeat-timeout', '60000']);
  });
  afterAll(() => primary?.kill());

  const post = async (url: string, body: unknown) => {
    const response = await fetch(primary.http + url, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('serves every method by its own name, and transactions beside them', async () => {
    const reference = new Reference();
    for (const [method, ...args] of CALLS) {
      const expected = await outcome(() => reference.call(method, ...args));
      const answer = await post(`/rpc/${encodeURIComponent(method)}`, { args, id: `r-${method}` });
      if (expected.error) expect(answer, method).toMatchObject({ status: 422, body: { error: { code: 'SERVICE_ERROR', message: expected.error } } });
      else expect(answer, method).toEqual({ status: 200, body: { result: expected.value } });
    }
    const { tx } = (await post('/tx', {})).body;
    expect(await post('/rpc/commit', { args: ['inside'], tx })).toMatchObject({ status: 200 });
    expect((await post(`/tx/${tx}/commit`, {})).status).toBe(200);
    reference.call('commit', 'inside');
    expect((await post('/rpc/entries', { args: [] })).body.result).toEqual(reference.current().entries());
  });

  it('the generated client calls them too, then() and transactions through NamesService.controls(client)', async () => {
    const { createClient, NamesService } = builds.primary;
    const client = createClient([primary.http]);
    expect('then' in client).toBe(false);
    const before: string[] = await client.entries();
    expect(await client.commit('by client')).toBe(before.length + 1);
    const controls = NamesService.controls(client);
    expect(await controls.call('then', 'by client')).toBe('then by client');
    await controls.begin();
    expect(await client.begin()).toBe('user begin');
    await controls.abort();
    expect(await client.entries()).toEqual([...before, 'commit by client', 'then by client']);
  });
});

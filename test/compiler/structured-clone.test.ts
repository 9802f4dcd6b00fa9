// structuredClone that sees through durability proxies (issue 11 item 12): proxies/core/builtins.ts gives
// what the global gives for the objects behind the proxies (shared references, cycles, errors, transfer),
// and `durable compile` imports it into every copied source file that uses the global one, and only there.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ts } from 'ts-morph';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { structuredClone as seeingClone } from '../../proxies/core/builtins.js';
import { registerProxy } from '../../proxies/core/raw.js';

const root = path.resolve(import.meta.dirname, '../..');

/** A stand-in for a membrane's proxy: registered as a durability proxy, as the membrane registers them. */
function proxied<T extends object>(raw: T): T {
  const proxy = new Proxy(raw, {});
  registerProxy(proxy, raw);
  return proxy;
}

function thrown(run: () => unknown): { name: string; message: string; type: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message, type: (error as object).constructor.name };
  }
}

describe('structuredClone seeing through durability proxies', () => {
  it("gives the global's result for what the proxies stand for, at any depth", () => {
    const item = { name: 'pen', tags: ['a', 'b'] };
    const sparse = [1, , 3] as unknown[];
    (sparse as unknown as { extra: string }).extra = 'kept';
    const list = [item, item, sparse];
    const map = new Map<unknown, unknown>([
      [item, list],
      ['k', new Set([item])],
    ]);
    const withProto = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const cases: [string, unknown, unknown][] = [
      ['a proxy itself', proxied(list), list],
      ['a fresh object holding proxies, twice and beside the object itself', { p: proxied(item), q: proxied(item), raw: item }, { p: item, q: item, raw: item }],
      ['a Map and a Set with proxies as keys and values', new Map([[proxied(item), new Set([proxied(item), proxied(sparse)])]]), new Map([[item, new Set([item, sparse])]])],
      ['a proxied Map', proxied(map), map],
      ['an own __proto__ key', { x: proxied(withProto) }, { x: withProto }],
      ['an error whose cause is a proxy', new Error('failed', { cause: proxied(item) }), new Error('failed', { cause: item })],
      ['a Date and a proxied Date', [new Date(5), proxied(new Date(7))], [new Date(5), new Date(7)]],
      ['no proxy at all', { list }, { list }],
      ['primitives', 42n, 42n],
    ];
    for (const [name, value, raw] of cases) {
      const ours = seeingClone(value);
      const native = structuredClone(raw);
      expect(ours, name).toEqual(native);
      expect(Object.getPrototypeOf(ours), name).toBe(Object.getPrototypeOf(native));
    }
  });

  it('keeps shared references and cycles as the global does, and leaves its argument as it was', () => {
    const item = { name: 'pen' };
    const fresh: Record<string, unknown> = { a: proxied(item), b: item, list: proxied([item]) };
    fresh.self = fresh;
    const copy = seeingClone(fresh) as typeof fresh & { list: unknown[] };
    expect(copy.self).toBe(copy);
    expect(copy.a).toBe(copy.b);
    expect(copy.list[0]).toBe(copy.a);
    expect(copy.a).not.toBe(item);
    expect(copy.a).toEqual(item);
    expect(fresh.self).toBe(fresh); // the argument is not rewritten
    expect(fresh.b).toBe(item);
    const sparse = seeingClone({ s: proxied([1, , 3]) }).s as unknown[];
    expect(1 in sparse).toBe(false);
  });

  it('throws what the global throws, for the same values', () => {
    const item = { name: 'pen' };
    const f = () => 1;
    const foreignProxy = new Proxy({}, {});
    const cases: [string, () => unknown, () => unknown][] = [
      ['a function beside a proxy', () => seeingClone({ item: proxied(item), f }), () => structuredClone({ item, f })],
      ['a symbol beside a proxy', () => seeingClone([proxied(item), Symbol('s')]), () => structuredClone([item, Symbol('s')])],
      ['a Proxy that is not a durability proxy', () => seeingClone({ item: proxied(item), foreignProxy }), () => structuredClone({ item, foreignProxy })],
      ['no value', () => (seeingClone as () => unknown)(), () => (structuredClone as () => unknown)()],
      ['a transfer list that is not one', () => seeingClone(proxied(item), { transfer: 5 as never }), () => structuredClone(item, { transfer: 5 as never })],
    ];
    for (const [name, ours, native] of cases) {
      const expected = thrown(native);
      expect(expected, name).toBeDefined();
      expect(thrown(ours), name).toEqual(expected);
    }
  });

  it('transfers the buffers behind proxies', () => {
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const copy = seeingClone({ data: proxied(buffer) }, { transfer: [proxied(buffer)] }) as { data: ArrayBuffer };
    expect(new Uint8Array(copy.data)).toEqual(new Uint8Array([1, 2, 3]));
    expect(buffer.byteLength).toBe(0); // detached, as the global leaves it
  });
});

describe('durable compile imports it where a source uses the global', () => {
  const dir = path.join(root, 'test', 'compiler', 'services', 'cloning');
  const out = path.join(root, '.tmp', 'cloning');
  let Original: new () => any;

  beforeAll(async () => {
    const compiled = await compileService(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'), out, '0.1.0');
    expect(compiled.diagnostics).toEqual([]);
    const originalDir = path.join(root, '.tmp', 'cloning-original');
    mkdirSync(originalDir, { recursive: true });
    for (const file of ['service', 'local-clone']) {
      const { outputText } = ts.transpileModule(readFileSync(path.join(dir, `${file}.ts`), 'utf8'), {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, experimentalDecorators: true },
      });
      writeFileSync(path.join(originalDir, `${file}.js`), outputText);
    }
    Original = (await import(path.join(originalDir, 'service.js'))).CloningService;
  });

  it('imports it into the file that uses the global, not into the one with its own structuredClone', () => {
    const service = readFileSync(path.join(out, 'primary', 'source', 'service.ts'), 'utf8');
    expect(service).toContain("import { structuredClone } from 'durability-compiler';");
    expect(service).toContain('const viaGlobal = structuredClone(this.catalog.byName);');
    const local = readFileSync(path.join(out, 'primary', 'source', 'local-clone.ts'), 'utf8');
    expect(local).toBe(readFileSync(path.join(dir, 'local-clone.ts'), 'utf8'));
  });

  it('answers as the original does', async () => {
    const { CloningService } = await import(path.join(out, 'primary', 'service.mjs'));
    const primary = await CloningService.start();
    const original = new Original();
    for (const [name, tags] of [
      ['pen', ['office']],
      ['ink', ['office', 'refill']],
      ['pad', []],
    ] as const) {
      expect(await primary.add(name, [...tags])).toBe(original.add(name, [...tags]));
    }
    const shapes = await primary.shapes();
    expect(shapes).toEqual(original.shapes());
    expect(shapes).toMatchObject({ graphIsCycle: true, sharedKept: true, freshIsCopy: true, datesAreDates: true });
    const expected = thrown(() => original.withFunction());
    expect(expected?.name).toBe('DataCloneError');
    await expect(primary.withFunction()).rejects.toThrow(expected!.message);
  });
});

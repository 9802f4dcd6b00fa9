// The #private rewrite on its own, with adversarial modules: each one type-checks after the rewrite under
// strict options, noImplicitOverride and declaration emit, with define and with assign semantics for
// fields, and its run() answers exactly what the original (with native private names) answers.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Project, ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { rewritePrivateNames } from '../../compiler/generate/transform-private.js';

const root = path.resolve(import.meta.dirname, '../..');

const MODULES: Record<string, string> = {
  'a subclass with its own #x of the same name, and brand checks on each': `
    class Base {
      #x = 'base';
      static has(o: object): boolean { return #x in o; }
      baseX(): string { return this.#x; }
    }
    class Sub extends Base {
      #x = 'sub';
      static hasOwn(o: object): boolean { return #x in o; }
      subX(): string { return this.#x; }
      override baseX(): string { return super.baseX() + '+' + this.#x; }
    }
    export function run() {
      const s = new Sub();
      return [s.baseX(), s.subX(), Base.has(s), Sub.hasOwn(s), Sub.hasOwn(new Base()), Base.has({}), Object.keys(s), JSON.stringify(s)];
    }`,
  'static private members: a field, a method (its brand is the class alone), a factory': `
    export class Counter {
      static #made = 0;
      static #next(): number { return ++Counter.#made; }
      readonly #id: number;
      constructor() { this.#id = Counter.#next(); }
      static create(): Counter { return new Counter(); }
      static isCounterClass(c: object): boolean { return #next in c; }
      static made(): number { return Counter.#made; }
      get id(): number { return this.#id; }
    }
    class SubCounter extends Counter {}
    export function run() {
      const ids = [Counter.create().id, Counter.create().id];
      return [ids, Counter.made(), Counter.isCounterClass(Counter), Counter.isCounterClass(SubCounter), Counter.isCounterClass({})];
    }`,
  "a nested class that declares the same #x shadows the outer one, and reads the outer class's others": `
    export class Outer {
      #x = 'outer x';
      #y = 'outer y';
      make(): { read(): string[] } {
        const outer = this;
        return new (class Inner {
          #x = 'inner x';
          read(): string[] { return [this.#x, outer.#y, Inner.name]; }
          static is(o: object): boolean { return #x in o; }
        })();
      }
      x(): string { return this.#x; }
    }
    export function run() {
      const o = new Outer();
      const inner = o.make();
      const Inner = inner.constructor as unknown as { is(o: object): boolean };
      return [o.x(), inner.read(), Inner.is(inner), Inner.is(o)];
    }`,
  'anonymous class expressions with brand checks keep the names JavaScript gives them': `
    const make = () => class { #v = 1; static has(o: object): boolean { return #v in o; } get v() { return this.#v; } };
    const Named = class { #w = 2; static has(o: object): boolean { return #w in o; } };
    const holder = { Held: class { #h = 3; static has(o: object): boolean { return #h in o; } } };
    export function run() {
      const C = make();
      return [C.name, C.has(new C()), C.has({}), new C().v, Named.name, Named.has(new Named()), holder.Held.name, holder.Held.has(new holder.Held())];
    }`,
  // (Its name, 'default', is kept too; the test runner's module loader renames the original's.)
  'export default class': `
    export default class { #d = 'd'; static is(o: object): boolean { return #d in o; } }
    import Self from './module.js';
    export function run() { return [Self.is(new Self()), Self.is({})]; }`,
  "generated names never collide with the user's": `
    const $x_A = 'the user\\'s';
    const $hasOwnPrivate = 'also the user\\'s';
    class A { #x = 1; static has(o: object): boolean { return #x in o; } get x() { return this.#x; } }
    export function run() { return [$x_A, $hasOwnPrivate, A.has(new A()), new A().x]; }`,
  'accessors, compound and logical assignments, methods called from arrows, async and generators': `
    class Gauge {
      #value = 1;
      #log: string[] = [];
      get #double(): number { return this.#value * 2; }
      set #double(v: number) { this.#value = v / 2; this.#log.push('set ' + v); }
      #note?: string;
      bump(): number[] {
        this.#double += 10;
        this.#value **= 2;
        this.#note ??= 'first';
        this.#note ||= 'never';
        this.#value++;
        return [1, 2].map((n) => this.#scale(n));
      }
      #scale(n: number): number { return n * this.#value; }
      async #later(): Promise<number> { return this.#value; }
      *#steps(): Generator<number> { yield this.#value; yield this.#double; }
      async all(): Promise<unknown[]> { return [await this.#later(), [...this.#steps()], this.#log, this.#note]; }
    }
    export async function run() { const g = new Gauge(); return [g.bump(), await g.all()]; }`,
  'a generic class narrows as #x in o did': `
    class Box<T> {
      #value: T;
      constructor(value: T) { this.#value = value; }
      static unwrap(o: unknown): unknown {
        if (typeof o === 'object' && o !== null && #value in o) return o.#value;
        return 'not a box';
      }
      same(o: Box<T> | { other: true }): boolean { return #value in o ? o.#value === this.#value : false; }
    }
    export function run() { const b = new Box(5); return [Box.unwrap(b), Box.unwrap({}), b.same(new Box(5)), b.same({ other: true })]; }`,
  'fields with no initializer exist from the start; a type from the constructor is kept': `
    class Late {
      #value: number | undefined;
      #count;
      #flag!: boolean;
      constructor() { this.#count = 0; }
      static has(o: object): boolean { return #value in o; }
      next(): number { this.#count += 1; return this.#count; }
      flag(): boolean { this.#flag = true; return this.#flag; }
    }
    export function run() { const l = new Late(); return [Late.has(l), l.next(), l.next(), l.flag()]; }`,
};

const OPTION_SETS: Record<string, ts.CompilerOptions> = {
  'define semantics': { useDefineForClassFields: true },
  'assign semantics': { useDefineForClassFields: false },
};

async function load(file: string, text: string, options: ts.CompilerOptions): Promise<{ run(): unknown }> {
  const { outputText } = ts.transpileModule(text, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, ...options } });
  writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

describe('rewriting #private names', () => {
  for (const [optionsName, fieldOptions] of Object.entries(OPTION_SETS)) {
    it.each(Object.entries(MODULES))(`%s (${optionsName})`, async (name, text) => {
      const dir = path.join(root, '.tmp', 'transform-private', `${optionsName}-${name}`.replace(/\W+/g, '-'));
      mkdirSync(path.join(dir, 'original'), { recursive: true });
      mkdirSync(path.join(dir, 'rewritten'), { recursive: true });
      const options: ts.CompilerOptions = {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noImplicitOverride: true,
        declaration: true,
        skipLibCheck: true,
        lib: ['lib.es2022.d.ts'],
        types: [],
        ...fieldOptions,
      };
      const project = new Project({ compilerOptions: options });
      const file = project.createSourceFile(path.join(dir, 'rewritten', 'module.ts'), text);
      const before = project.getPreEmitDiagnostics().map((d) => ts.flattenDiagnosticMessageText(d.getMessageText() as string | ts.DiagnosticMessageChain, ' '));
      expect(before, 'the original type-checks').toEqual([]);

      expect(rewritePrivateNames(file, { relativePath: 'module.ts', useDefineForClassFields: fieldOptions.useDefineForClassFields! })).toBe(true);
      const rewritten = file.getFullText();
      const problems = project.getPreEmitDiagnostics().map((d) => `${d.getLineNumber()}: ${ts.flattenDiagnosticMessageText(d.getMessageText() as string | ts.DiagnosticMessageChain, ' ')}`);
      expect(problems, rewritten).toEqual([]);
      expect(project.emitToMemory({ emitOnlyDtsFiles: true }).getFiles().length).toBeGreaterThan(0);

      const original = await load(path.join(dir, 'original', 'module.mjs'), text.replace("'./module.js'", "'./module.mjs'"), fieldOptions);
      const copy = await load(path.join(dir, 'rewritten', 'module.mjs'), rewritten.replace("'./module.js'", "'./module.mjs'"), fieldOptions);
      expect(await copy.run()).toEqual(await original.run());
    });
  }

  it('leaves a file without private names as it is', () => {
    const project = new Project({ useInMemoryFileSystem: true });
    const text = 'export class Plain { x = 1; get y() { return this.x; } }\n';
    const file = project.createSourceFile('plain.ts', text);
    expect(rewritePrivateNames(file, { relativePath: 'plain.ts', useDefineForClassFields: true })).toBe(false);
    expect(file.getFullText()).toBe(text);
  });
});

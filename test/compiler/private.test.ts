// #private members work behind the membrane (issue 11 item 8): the build's copy of the user's sources
// keys them by registered symbols. A service whose state classes use #private in every form runs, under
// three mappings and under both field semantics, exactly like its uncompiled original (native #private,
// transpiled here from the same source): the same results and errors after every call, the same state
// as if the calls that threw never ran, and a promoted backup (or an instance recovered from the
// database) holding what the primary acknowledged.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ts } from 'ts-morph';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'test', 'compiler', 'services', 'private-accounts');
type Call = [method: string, ...args: unknown[]];

const CALLS: Call[] = [
  ['open', 'a', false, 100],
  ['open', 's', true, 50],
  ['deposit', 'a', 30],
  ['deposit', 's', 40],
  ['withdraw', 'a', 500], // changes #balance and #history, then throws
  ['deposit', 'a', 5000], // the private setter changes #note, then throws
  ['deposit', 'a', -1],
  ['transfer', 'a', 's', 20],
  ['transfer', 's', 'a', 1000], // throws in the source's withdraw, after changing its #balance
  ['open', 'a', false, 1],
  ['label', 'first'],
  ['freeze', 'a'],
  ['deposit', 'a', 1], // frozen: the limit is 0
  ['withdraw', 's', 10],
  ['report'],
];

/** The calls above that throw after a change to a #private field. */
const THROWING: Call[] = [
  ['withdraw', 'a', 500],
  ['deposit', 'a', 5000],
  ['transfer', 's', 'a', 1000],
  ['deposit', 'a', 1],
];

/** The original service with its native #private members: the source transpiled as it is. */
let Original: new () => any;

beforeAll(async () => {
  const out = path.join(root, '.tmp', 'private', 'original');
  mkdirSync(out, { recursive: true });
  const { outputText } = ts.transpileModule(readFileSync(path.join(dir, 'service.ts'), 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, experimentalDecorators: true, useDefineForClassFields: true },
  });
  expect(outputText).toContain('#balance');
  writeFileSync(path.join(out, 'service.mjs'), outputText);
  Original = (await import(pathToFileURL(path.join(out, 'service.mjs')).href)).BankService;
});

async function outcome(run: () => unknown): Promise<{ value?: unknown; error?: string }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

interface Scenario {
  mapping: string;
  database?: boolean;
  /** Compiler options of the user's project, when not the repository's own (strict, noImplicitOverride). */
  tsconfig?: Record<string, unknown>;
  /** What survives a failover from the database alone. */
  durable?: (dump: any[]) => unknown;
}

const SCENARIOS: Record<string, Scenario> = {
  'replication, update="state"': { mapping: 'durability.xml' },
  'replication, update="repeat"': { mapping: 'durability-repeat.xml' },
  'database (SQLite)': { mapping: 'durability-database.xml', database: true, durable: (dump) => dump.map((a) => ({ id: a.id, balance: a.balance })) },
  'replication, update="state", useDefineForClassFields false': {
    mapping: 'durability.xml',
    tsconfig: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noImplicitOverride: true, useDefineForClassFields: false, skipLibCheck: true, types: [] },
  },
};

/** Where to compile from: the service itself, or a copy beside a tsconfig.json with other options. */
function serviceUnder(name: string, scenario: Scenario): string {
  if (!scenario.tsconfig) return dir;
  const copy = path.join(root, '.tmp', 'private', 'projects', name.replace(/\W+/g, '-'));
  mkdirSync(copy, { recursive: true });
  for (const file of ['service.ts', scenario.mapping]) writeFileSync(path.join(copy, file), readFileSync(path.join(dir, file)));
  writeFileSync(path.join(copy, 'tsconfig.json'), JSON.stringify({ compilerOptions: scenario.tsconfig, files: ['service.ts'] }));
  return copy;
}

/** Compiles the scenario, runs the calls on its primary and on the original, then fails over. */
async function runScenario(name: string, scenario: Scenario, calls: Call[]): Promise<void> {
  const source = serviceUnder(name, scenario);
  const out = path.join(root, '.tmp', 'private', name.replace(/\W+/g, '-'));
  const compiled = await compileService(path.join(source, 'service.ts'), path.join(source, scenario.mapping), out, '0.1.0');
  expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

  const runtime = await import('durability-compiler');
  const { BankService: Primary } = await import(path.join(out, 'primary', 'service.mjs'));
  const { BankService: Backup } = await import(path.join(out, 'backup', 'service.mjs'));
  const database = scenario.database ? await runtime.DatabaseStore.open(`sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'durable-private-')), 'state.db')}`) : undefined;
  try {
    const backup = await Backup.start({ database });
    const primary = await Primary.start({ database, link: new runtime.InMemoryLink([Backup.controls(backup).runtime.replica]) });
    Backup.controls(backup).runtime.replica.loadSnapshot(JSON.parse(JSON.stringify(Primary.controls(primary).runtime.snapshot())));

    const succeeded: Call[] = [];
    const reference = () => {
      const plain = new Original();
      for (const [method, ...args] of succeeded) plain[method](...args);
      return plain;
    };
    for (const [method, ...args] of calls) {
      const expected = await outcome(() => reference()[method](...args));
      const actual = await outcome(() => primary[method](...args));
      expect(actual, `${method}(${JSON.stringify(args)})`).toEqual(expected);
      if (!expected.error) succeeded.push([method, ...args]);
      expect(await primary.dump(), `state after ${method}(${JSON.stringify(args)})`).toEqual(reference().dump());
    }

    const before = await primary.dump();
    await Backup.controls(backup).promote();
    const durable = scenario.durable ?? ((d: unknown) => d);
    expect(durable(await backup.dump())).toEqual(durable(before));
    if (!scenario.database) expect(await backup.report()).toEqual(reference().report());
  } finally {
    await database?.close();
  }
}

/** The calls that throw after changing #private fields, left out. */
const NOT_THROWING = CALLS.filter(([method, ...args]) => !THROWING.some(([m, ...a]) => m === method && JSON.stringify(a) === JSON.stringify(args)));

describe('#private members in state classes', () => {
  // The membrane records sets of symbol-keyed members (a request that throws rolls them back), and the
  // encoding ships registered-symbol keys by Symbol.keyFor (update="state" reaches the backup).
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(`${name}: every call works like the original's, and a promoted backup holds the same`, () => runScenario(name, scenario, NOT_THROWING));
    it(`${name}: a call that throws after changing #private fields changes nothing`, () => runScenario(name, scenario, CALLS));
  }

  it('leaves no private name in the build, and keys each member by file, class and name', () => {
    const copy = readFileSync(path.join(root, '.tmp', 'private', 'replication-update-state-', 'primary', 'source', 'service.ts'), 'utf8');
    const scanner = ts.createScanner(ts.ScriptTarget.ES2022, true, ts.LanguageVariant.Standard, copy);
    const privateNames: string[] = [];
    for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
      if (token === ts.SyntaxKind.PrivateIdentifier) privateNames.push(scanner.getTokenText());
    }
    expect(privateNames).toEqual([]);
    expect(copy).toContain(`const $balance_Account: unique symbol = Symbol.for('durable#private:service.ts:Account#balance');`);
    expect(copy).toContain(`const $balance_SavingsAccount: unique symbol = Symbol.for('durable#private:service.ts:SavingsAccount#balance');`);
    expect(copy).toContain(`const $opened_Account: unique symbol = Symbol.for('durable#private:service.ts:Account.opened');`);
    expect(copy).toContain('private [$balance_Account] = 0;');
    expect(copy).toContain('private get [$limit_Account](): number {');
    // The declarations keep the members private to the class.
    const declarations = readFileSync(path.join(root, '.tmp', 'private', 'replication-update-state-', 'primary', 'source', 'service.d.ts'), 'utf8');
    expect(declarations).toContain('private [$balance_Account];');
  });
});

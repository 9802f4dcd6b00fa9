// Stack traces from a build name the user's file and line, though the build compiled a copy the compiler
// changed (decorators and their import removed, #private rewritten, structuredClone imported): in-process
// under `node --enable-source-maps`, and in the log of `durable serve`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignLines } from '../../compiler/emit/source-maps.js';
import { spawnNode } from '../../proxies/serving/spawn.js';
import { durable } from '../support/cli.js';

const SERVICE = `import { state } from 'durability-compiler';

export class Ledger {
  #entries: number[] = [];
  static #created = 0;

  add(amount: number): void {
    if (amount > 1000) {
      throw new RangeError('too large: ' + amount); // THROWS-IN-STATE
    }
    this.#entries.push(amount);
    Ledger.#created++;
  }

  copy(): number[] {
    return structuredClone(this.#entries);
  }
}

export class Bank {
  @state
  // a comment between the decorator and its field
  ledger = new Ledger();

  deposit(amount: number): number {
    this.ledger.add(amount);
    return this.ledger.copy().length;
  }

  broken(): number {
    const missing = JSON.parse('null') as { field: number };
    return missing.field; // THROWS-IN-SERVICE
  }
}

export class Plain {
  ledger = new Ledger();
}
`;

const MAPPING = `<durability service="Bank"><state name="ledger" type="replication"/></durability>`;

const lineOf = (marker: string) => SERVICE.split('\n').findIndex((l) => l.includes(marker)) + 1;

async function compiled(): Promise<{ dir: string; service: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-maps-'));
  writeFileSync(path.join(dir, 'service.ts'), SERVICE);
  writeFileSync(path.join(dir, 'durability.xml'), MAPPING);
  const result = await durable(['compile', 'service.ts', '--mapping', 'durability.xml', '--out', 'build'], dir);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  return { dir, service: path.join(dir, 'service.ts') };
}

describe('alignLines', () => {
  it('follows removed, added and changed lines back to the original', () => {
    const original = ['import { state } from "x";', '', 'class A {', '  @state', '  f = 1;', '  #p = 2;', '  m() { return this.#p; }', '}'].join('\n');
    const copy = ['', 'class A {', '  f = 1;', '  private [$p] = 2;', '  m() { return this[$p]; }', '  static { name(); }', '}', 'export {};'].join('\n');
    // The blank line after the import is kept (0→1), the decorator's line went (the class is 1→2, its field
    // 2→4), #private lines changed in place (3→5, 4→6), and the added lines take the line before them (5→6, 7→7).
    expect(alignLines(original, copy)).toEqual([1, 2, 4, 5, 6, 6, 7, 7]);
  });

  it('keeps a changed line at its place though the same text comes later in the file', () => {
    const original = ['class A {', '  @state x = new X();', '  m() {}', '}', 'class B {', '  x = new X();', '}'].join('\n');
    const copy = ['class A {', '  x = new X();', '  m() {}', '}', 'class B {', '  x = new X();', '}'].join('\n');
    expect(alignLines(original, copy)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('maps every line in order, keeping as many equal lines as a longest common subsequence', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c', '}', ''), { maxLength: 30 });
    fc.assert(
      fc.property(lines, lines, (from, to) => {
        const aligned = alignLines(from.join('\n'), to.join('\n'));
        const n = Math.max(1, from.length); // ''.split gives one empty line
        expect(aligned).toHaveLength(Math.max(1, to.length));
        for (const [i, line] of aligned.entries()) {
          expect(line).toBeGreaterThanOrEqual(i > 0 ? aligned[i - 1]! : 0);
          expect(line).toBeLessThan(n);
        }
        const f = from.length ? from : [''];
        const t = to.length ? to : [''];
        const exact = new Set(aligned.flatMap((line, i) => (t[i] === f[line] ? [line] : [])));
        expect(exact.size).toBeGreaterThanOrEqual(lcs(f, t));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('is the identity on an unchanged text', () => {
    const text = SERVICE;
    expect(alignLines(text, text)).toEqual(text.split('\n').map((_, i) => i));
  });
});

it("in-process, a throw in the service or its state object shows the user's file and line", async () => {
  const { dir, service } = await compiled();
  // The build's map carries the original text, so a debugger shows what the user wrote.
  const map = JSON.parse(readFileSync(path.join(dir, 'build', 'primary', 'source', 'service.js.map'), 'utf8'));
  expect(map.sourcesContent).toEqual([SERVICE]);
  writeFileSync(
    path.join(dir, 'run.mjs'),
    `import { Bank } from './build/primary/service.mjs';
const bank = await Bank.start();
for (const call of [() => bank.deposit(5000), () => bank.broken()]) {
  try { await call(); } catch (error) { console.log(error.stack.split('\\n').slice(0, 3).join('\\n')); }
}
console.log('deposited', await bank.deposit(5));
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['--enable-source-maps', 'run.mjs'], { cwd: dir });
  expect(stdout).toContain(`${service}:${lineOf('THROWS-IN-STATE')}:`);
  expect(stdout).toContain(`${service}:${lineOf('THROWS-IN-SERVICE')}:`);
  expect(stdout).toContain('deposited 1');
});

it("durable serve logs a method's TypeError with its stack at the user's line, and answers 422", async () => {
  const { dir, service } = await compiled();
  const node = await spawnNode(path.join(dir, 'build'), 'primary', ['--insecure']);
  try {
    const response = await fetch(`${node.http}/rpc/broken`, { method: 'POST', body: '{"args": []}' });
    expect(response.status).toBe(422);
    const logged = await node.waitFor('service.bug', 5_000);
    expect(logged.method).toBe('broken');
    expect(String(logged.error)).toContain(`${service}:${lineOf('THROWS-IN-SERVICE')}:`);
  } finally {
    await node.stop('SIGKILL');
  }
});

function lcs(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j]!, row[j - 1]!);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

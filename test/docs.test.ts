// The documentation promises things the code must keep: the table of diagnostic codes matches the
// catalogue the tool prints from, every code is exercised by the corpus or the CLI tests, and the README
// opens with the two commands CI and new users rely on.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CATALOGUE } from '../mappings/diagnostics.js';
import { REFUSAL_CATALOGUE } from '../proxies/core/refusals.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('docs/DIAGNOSTICS.md', () => {
  const rows = read('docs/DIAGNOSTICS.md')
    .split('\n')
    .filter((line) => /^\| DUR[012]\d{3} \|/.test(line))
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .slice(1, 4)
        .map((cell) => cell.trim().replace(/\\\|/g, '|')),
    );

  it('lists exactly the codes of the catalogue, with the same severity and meaning, in order', () => {
    const catalogue = Object.entries(DIAGNOSTIC_CATALOGUE).map(([code, entry]) => [code, entry.severity, entry.title]);
    expect(rows).toEqual(catalogue);
  });

  it("lists exactly the run-time's refusals, with the same meaning, in order", () => {
    const refusals = read('docs/DIAGNOSTICS.md')
      .split('\n')
      .filter((line) => /^\| DUR3\d{3} \|/.test(line))
      .map((line) =>
        line
          .split(/(?<!\\)\|/)
          .slice(1, 3)
          .map((cell) => cell.trim()),
      );
    expect(refusals).toEqual(Object.entries(REFUSAL_CATALOGUE));
  });

  const corpus = path.join(root, 'test', 'corpus', 'mappings');
  const printed = readdirSync(corpus)
    .filter((f) => f.endsWith('.expected'))
    .flatMap((f) => [...readFileSync(path.join(corpus, f), 'utf8').matchAll(/ (DUR\d{4}): /g)].map((m) => m[1]));
  const retired = Object.entries(DIAGNOSTIC_CATALOGUE)
    .filter(([, entry]) => 'retired' in entry)
    .map(([code]) => code);

  it('has every code but the file-level and retired ones shown by a case of the corpus', () => {
    const fileLevel = ['DUR0001', 'DUR0003', 'DUR0004']; // need files the corpus cannot hold; test/cli.test.ts covers them
    const missing = Object.keys(DIAGNOSTIC_CATALOGUE).filter((code) => !fileLevel.includes(code) && !retired.includes(code) && !printed.includes(code));
    expect(missing).toEqual([]);
  });

  it('never shows a retired code in the corpus, and marks each one "no longer reported" in the table', () => {
    expect(retired).toContain('DUR2016');
    expect(printed.filter((code) => code !== undefined && retired.includes(code))).toEqual([]);
    for (const code of retired) expect(rows.find(([c]) => c === code)?.[2]).toMatch(/no longer reported/);
  });
});

describe('README.md', () => {
  it('opens with the main job and the test command, and CI runs exactly that test command', () => {
    const readme = read('README.md');
    const blocks = [...readme.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(blocks[0]).toBe('npm ci && npm start');
    expect(blocks[1]).toBe('npm test');
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });
});

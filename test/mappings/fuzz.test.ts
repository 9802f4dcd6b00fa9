// Bad input never crashes the checker. Mutated versions of the corpus's good mapping (cut, duplicated,
// spliced with XML and SQL fragments) go through parsing, validation and binding to the real service;
// whatever they are, the result is diagnostics with positions inside the file, never an exception.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SourceFile } from 'ts-morph';
import { parseMapping } from '../../mappings/index.js';
import { loadServiceProject } from '../../compiler/analysis/project.js';
import { bindMapping } from '../../compiler/binding/bind.js';

const corpus = path.resolve(import.meta.dirname, '../corpus');
const good = readFileSync(path.join(corpus, 'good.xml'), 'utf8');

const FRAGMENTS = [
  '<',
  '>',
  '/>',
  '</state>',
  '<state name="x" type="database">',
  '<sql>',
  '</sql>',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '&lt;',
  '&amp;',
  '&#x41;',
  '&bogus;',
  '"',
  "'",
  '=',
  'arg[',
  'arg[0]',
  'arg[1].a.b',
  'arg[x]',
  "'arg[0]'",
  ';',
  '--',
  '/*',
  '*/',
  '$$',
  '$tag$',
  '?',
  '\r\n',
  '\t',
  'é',
  '😀',
  '\u0000',
  'type="none"',
  'update="repeat"',
  'dialect="mysql"',
  '<method name="setBill"/>',
  '<recovery/>',
  '<apply method="load"/>',
  '<?pi x?>',
  '<!DOCTYPE x>',
  'xmlns:d="u"',
  '<d:state/>',
  '<constructor/>',
  '__proto__="x"',
  '&#1114112;',
  '&nbsp;',
  '&#x;',
  '<toString/>',
  '\ufeff',
  '$fn1$',
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('copy' as const), at: fc.nat(), from: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    if (m.kind === 'cut') out = out.slice(0, at) + out.slice(at + m.length);
    else if (m.kind === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else {
      const from = m.from % (out.length + 1);
      out = out.slice(0, at) + out.slice(from, from + m.length) + out.slice(at);
    }
  }
  return out;
}

describe('checking mutated mappings', () => {
  let sourceFile: SourceFile;
  beforeAll(() => {
    const loaded = loadServiceProject(path.join(corpus, 'service.ts'));
    expect(loaded.diagnostics).toEqual([]);
    sourceFile = loaded.sourceFile!;
  });

  it('never throws, and every diagnostic points inside the file', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const xml = mutate(good, mutations);
        const file = path.join(corpus, 'fuzzed.xml');
        const read = parseMapping(xml, file);
        const bound = read.mapping
          ? bindMapping({ mapping: read.mapping, mentionedStates: read.mentionedStates ?? [], statesWithRecovery: read.statesWithRecovery ?? [], sourceFile })
          : { diagnostics: [] };
        const lines = xml.split('\n');
        for (const d of [...read.diagnostics, ...bound.diagnostics]) {
          expect(d.message.length).toBeGreaterThan(0);
          if (d.file !== file || !d.position) continue;
          expect(d.position.line).toBeGreaterThanOrEqual(1);
          expect(d.position.line).toBeLessThanOrEqual(lines.length);
          expect(d.position.column).toBeGreaterThanOrEqual(1);
          expect(d.position.column).toBeLessThanOrEqual(lines[d.position.line - 1]!.length + 1);
        }
      }),
      { numRuns: 1500, seed: Number(process.env.FUZZ_SEED ?? 20261123) },
    );
  });
});

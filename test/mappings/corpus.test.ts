// The bad-mapping corpus: each test/corpus/mappings/NN-name.xml holds one mistake, and NN-name.expected
// beside it holds exactly what `durable check` must print for it (code, line, column and message). Each
// case is checked against test/corpus/service.ts, or against NN-name.service.ts where the case brings
// its own service. Beside it, test/corpus/ordinary/ holds ordinary, correct services with their correct
// mappings: each must check silently.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { durable } from '../support/cli.js';

const corpus = path.resolve(import.meta.dirname, '../corpus');
const cases = readdirSync(path.join(corpus, 'mappings'))
  .filter((f) => f.endsWith('.xml'))
  .map((f) => f.slice(0, -'.xml'.length))
  .sort();

function serviceFor(name: string): string {
  const own = path.join('mappings', `${name}.service.ts`);
  return existsSync(path.join(corpus, own)) ? own : 'service.ts';
}

describe('the bad-mapping corpus', () => {
  it('has at least 30 cases, each with its expected output', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const name of cases) expect(existsSync(path.join(corpus, 'mappings', `${name}.expected`)), name).toBe(true);
  });

  it('checks the corpus service with its correct mapping cleanly', async () => {
    const run = await durable(['check', 'service.ts', '--mapping', 'good.xml'], corpus);
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it.each(cases)('%s', async (name) => {
    const expected = readFileSync(path.join(corpus, 'mappings', `${name}.expected`), 'utf8');
    const run = await durable(['check', serviceFor(name), '--mapping', `mappings/${name}.xml`], corpus);

    expect(run.stdout).toBe(expected);
    expect(run.stderr).toBe('');
    const hasError = /^\S+ - error DUR\d{4}: /m.test(expected);
    expect(run.code).toBe(hasError ? 1 : 0);
    // A person reads this: never a stack trace.
    expect(run.stdout).not.toMatch(/^\s+at /m);
  });
});

const ordinary = path.join(corpus, 'ordinary');
const services = readdirSync(ordinary, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('the ordinary-services corpus', () => {
  it('has at least 15 services, each with its mapping', () => {
    expect(services.length).toBeGreaterThanOrEqual(15);
    for (const name of services) expect(existsSync(path.join(ordinary, name, 'durability.xml')), name).toBe(true);
  });

  it.each(services)('%s checks silently', async (name) => {
    const run = await durable(['check', 'service.ts', '--mapping', 'durability.xml'], path.join(ordinary, name));
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

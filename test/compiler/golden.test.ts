// Golden tests: the generated code for the Counter and the Matchmaker under every mapping is checked in
// (test/golden/<example>/<config>/), and any change to it fails here until it is reviewed and accepted
// with UPDATE_GOLDEN=1 npx vitest run test/compiler/golden.test.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';

const root = path.resolve(import.meta.dirname, '../..');
const update = process.env.UPDATE_GOLDEN === '1';
const GENERATED = ['primary/service.mts', 'primary/mapping.mts', 'backup/service.mts', 'backup/mapping.mts', 'manifest.json'];

const configs = ['counter', 'matchmaker'].flatMap((example) =>
  readdirSync(path.join(root, 'examples', example, 'mappings'))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => [example, f.slice(0, -4)] as const),
);

describe('generated code', () => {
  it.each(configs)('%s under %s matches test/golden', async (example, config) => {
    const out = path.join(root, '.tmp', 'golden', example, config);
    const result = await compileService(path.join('examples', example, 'service.ts'), path.join('examples', example, 'mappings', `${config}.xml`), out, '0.1.0');
    expect(result.diagnostics).toEqual([]);
    const golden = path.join(root, 'test', 'golden', example, config);
    for (const file of GENERATED) {
      const actual = readFileSync(path.join(out, file), 'utf8');
      const expectedFile = path.join(golden, file);
      if (update || !existsSync(expectedFile)) {
        if (!update) throw new Error(`No golden file ${path.relative(root, expectedFile)}; run with UPDATE_GOLDEN=1 to create it, then review it.`);
        mkdirSync(path.dirname(expectedFile), { recursive: true });
        writeFileSync(expectedFile, actual);
      }
      expect(actual, `${example}/${config}/${file}`).toBe(readFileSync(expectedFile, 'utf8'));
    }
  });
});

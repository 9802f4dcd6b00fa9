// `@state` must type-check and run under both decorator flavours users' tsconfigs choose: standard (TC39)
// decorators and `experimentalDecorators`. The fixture is compiled by the real tsc and run by node,
// since vitest itself cannot lower standard decorators on Node 20.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { state } from '../index.js';

const root = path.resolve(import.meta.dirname, '..');
const tsc = path.join(root, 'node_modules', '.bin', 'tsc');

describe.each(['standard', 'experimental'])('@state with %s decorators', (mode) => {
  it('type-checks, compiles, and leaves the service working as written', async () => {
    const project = path.join(root, 'test', 'fixtures', 'decorators', mode);
    execFileSync(tsc, ['-p', project], { cwd: root, stdio: 'pipe' });
    const script = `
      const { CounterService } = await import(${JSON.stringify(path.join(project, 'out', 'service.js'))});
      const service = new CounterService();
      console.log(JSON.stringify({ first: service.add(), second: service.add(), fields: Object.keys(service), other: service.other.getValue() }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ first: 1, second: 2, fields: ['counter', 'other'], other: 0 });
  });
});

it('does nothing when called the way either flavour calls it', () => {
  const target = {};
  expect(state(target, 'counter')).toBeUndefined();
  expect(state(undefined, { kind: 'field', name: 'counter' } as ClassFieldDecoratorContext)).toBeUndefined();
  expect(target).toEqual({});
});

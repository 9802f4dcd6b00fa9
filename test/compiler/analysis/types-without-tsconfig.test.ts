// Issue 11, item 14: a service with no tsconfig.json above it is type-checked with the type packages of
// its own node_modules/@types, as tsc up to 5.x did by default (TypeScript 6 and 7 include none unless
// told), so `import { randomUUID } from 'node:crypto'` compiles; without those packages it does not.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { durable } from '../../support/cli.js';

const root = path.resolve(import.meta.dirname, '../../..');

const SERVICE = `import { state } from 'durability-compiler';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export class Tickets {
  private issued: string[] = [];

  issue(): string {
    const id = randomUUID();
    this.issued.push(id);
    return id;
  }

  count(): number {
    return this.issued.length;
  }
}

export class TicketService {
  @state tickets = new Tickets();

  issue(): string {
    return this.tickets.issue();
  }

  where(): string {
    return hostname();
  }
}
`;

const MAPPING = `<durability service="TicketService">
  <state name="tickets" type="replication" update="repeat"/>
</durability>
`;

function project(withNodeTypes: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-types-'));
  writeFileSync(path.join(dir, 'service.ts'), SERVICE);
  writeFileSync(path.join(dir, 'durability.xml'), MAPPING);
  if (withNodeTypes) {
    mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir');
  }
  return dir;
}

describe('a service without a tsconfig.json', () => {
  it('sees the type packages of its node_modules/@types: check is silent and compile type-checks', async () => {
    const dir = project(true);
    expect(await durable(['check', 'service.ts', '--mapping', 'durability.xml'], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
    const compiled = await durable(['compile', 'service.ts', '--mapping', 'durability.xml', '--out', 'build'], dir);
    expect(compiled.stdout).not.toContain('DUR0004');
    expect(compiled.code).toBe(0);
  });

  it('without those packages, compile reports the missing Node types (DUR0004) as tsc would', async () => {
    const dir = project(false);
    const compiled = await durable(['compile', 'service.ts', '--mapping', 'durability.xml', '--out', 'build'], dir);
    expect(compiled.code).toBe(1);
    expect(compiled.stdout).toMatch(/service\.ts:2:28 - error DUR0004: Cannot find (name|module) 'node:crypto'/);
  });
});

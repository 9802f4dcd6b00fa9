// update="repeat": what the run-time replays (clock, randomness) needs nothing, however it is imported or
// aliased; what it cannot replay (module-level state, the environment, I/O) is DUR2007 wherever the code
// is, decided by what the names resolve to. Calls the run-time ships instead of re-running (async
// methods, a function argument) are never reported.
import { describe, expect, it } from 'vitest';
import { check, stateMethod } from './support.js';

const MAPPING = `<durability service="Svc">
  <state name="box" type="replication" update="repeat"/>
</durability>
`;

function service(body: string, top = '', files: Record<string, string> = {}): Record<string, string> {
  return {
    ...files,
    'service.ts': `import { state } from 'durability-compiler';
${top}
export class Box {
  value = '';
${body}
}
export class Svc { @state box = new Box(); }
`,
  };
}

/** The methods DUR2007 names, in order. */
function reported(lines: string[]): string[] {
  return lines.flatMap((l) => [...(/re-runs Box\.(\S+) on the backup/.exec(l) ?? [])].slice(1));
}

describe('replayed: nothing to report', () => {
  it('the clock and randomness under any name: renamed and namespace imports, module aliases, globals, webcrypto', async () => {
    const checked = await check(
      service(
        `
  a(): void { this.value = newId() + c.randomUUID() + c.randomBytes(4).toString('hex') + String(c.randomInt(9)); }
  b(): void { this.value = String(rand()) + String(now()) + String(Date.now()) + new Date().toISOString() + Date(); }
  d(): void { this.value = String(performance.now()) + String(process.hrtime.bigint()) + String(process.hrtime()[0]); }
  e(): void { this.value = globalThis.crypto.randomUUID() + crypto.randomUUID() + webcrypto.getRandomValues(new Uint8Array(2)).join(); }
  f(): void { const buf = new Uint8Array(4); c.randomFillSync(buf); this.value = buf.join(); }
  g(seed: number): void { this.value = String(randomInt(seed, 10)); }`,
        `import { randomUUID as newId, webcrypto } from 'node:crypto';
import * as c from 'node:crypto';
const rand = Math.random;
const now = Date.now;
/** The service's own, deterministic whatever its name. */
function randomInt(seed: number, max: number): number { return (seed * 31) % max; }`,
      ),
      MAPPING,
    );
    expect(checked.lines).toEqual([]);
    expect(stateMethod(checked, 'box', 'g').nondeterminism).toEqual([]);
  });
});

describe('not replayable: DUR2007', () => {
  it('module-level variables and collections, directly, through helpers of other modules, static methods and getters', async () => {
    const checked = await check(
      service(
        `
  counter(): void { this.value = String(++n); }
  readsLet(): void { this.value = String(n); }
  helper(): void { this.value = String(next()); }
  staticUtil(): void { this.value = Ids.make(); }
  getter(): void { this.value = this.stamp; }
  get stamp(): string { return String(n); }
  collection(k: string): void { seen.add(k); this.value = k; }
  readsCollection(k: string): void { this.value = String(seen.has(k)); }
  constant(k: string): void { this.value = LIMITS[k] ?? ''; }
  staticField(): void { this.value = String(Ids.issued); }
  registered(k: string): void { this.value = String(registry.has(k)); }
  configured(k: string): void { this.value = config.get(k); }`,
        `import { next } from './helpers.js';
let n = 0;
const seen = new Set<string>();
const LIMITS: Record<string, string> = { a: '1' };
class Ids { static issued = 0; static make(): string { return String(Ids.issued++); } }
class Registry { private names = new Set<string>(); add(k: string): void { this.names.add(k); } has(k: string): boolean { return this.names.has(k); } }
const registry = new Registry();
export function register(k: string): void { registry.add(k); }
class Config { private values: Record<string, string> = { a: '1' }; get(k: string): string { return this.values[k] ?? ''; } }
const config = new Config();`,
        { 'helpers.ts': `let count = 0;\nexport function next(): number { return count++; }\n` },
      ),
      MAPPING,
    );
    // A module-level object changed by a method of its own class elsewhere is not replayable either; one nobody changes is.
    expect(reported(checked.lines)).toEqual(['counter', 'readsLet', 'helper', 'staticUtil', 'getter', 'collection', 'readsCollection', 'staticField', 'registered']);
    expect(checked.lines.every((l) => / - error DUR2007: /.test(l))).toBe(true);
    expect(checked.lines[2]).toContain("changes the module-level variable 'count' (helpers.ts:2:");
    expect(checked.lines[3]).toContain('changes the static field Ids.issued');
  });

  it('the environment and I/O, however imported', async () => {
    const checked = await check(
      service(
        `
  env(): void { this.value = process.env.HOME ?? ''; }
  namedEnv(): void { this.value = env.USER ?? ''; }
  argv(): void { this.value = process.argv.join(); }
  pid(): void { this.value = String(process.pid) + String(process.uptime()); }
  file(): void { this.value = fs.readFileSync('/etc/hostname', 'utf8'); }
  host(): void { this.value = hostname(); }
  hrtimeIsFine(): void { this.value = String(process.hrtime.bigint()); }`,
        `import { env } from 'node:process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';`,
      ),
      MAPPING,
    );
    expect(reported(checked.lines)).toEqual(['env', 'namedEnv', 'argv', 'pid', 'file', 'host']);
    expect(checked.lines[1]).toContain('reads process.env');
    expect(checked.lines[4]).toContain('calls fs.readFileSync() of node:fs');
  });

  it('says so per method for a <method update="repeat"> override, without the override advice', async () => {
    const checked = await check(
      service(`  bump(): void { this.value = String(++n); }`, 'let n = 0;'),
      `<durability service="Svc">
  <state name="box" type="replication" update="state"><method name="bump" update="repeat"/></state>
</durability>
`,
    );
    expect(checked.lines).toEqual([
      expect.stringMatching(
        /^durability\.xml:2:83 - error DUR2007: update="repeat" re-runs Box\.bump on the backup, but it changes the module-level variable 'n' \(service\.ts:\d+:\d+\), which the run-time cannot replay, so the backup would diverge\. Use update="state" for it\.$/,
      ),
    ]);
  });
});

describe('shipped, not re-run: nothing to report', () => {
  it('async methods and methods that take a function, and methods that change nothing', async () => {
    const checked = await check(
      service(
        `
  async load(key: string): Promise<void> { await Promise.resolve(); this.value = key + String(n); }
  withCallback(make: () => string): void { this.value = make() + String(n); }
  readOnly(): string { return this.value + String(n); }`,
        'let n = 0;',
      ),
      MAPPING,
    );
    expect(checked.lines).toEqual([]);
  });
});

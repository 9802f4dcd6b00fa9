// Compiles small services written for the tests (test/compiler/services/*), runs the primary build
// in-process with a backup over the in-memory link (and SQLite where a state object is in the database),
// and checks every call against the uncompiled service: the same results and errors; after an error, the
// state of the service as if the call had never happened (the uncompiled one keeps its partial change);
// after a failover, the backup's durable state equal to the primary's.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';

const root = path.resolve(import.meta.dirname, '../..');

type Call = [method: string, ...args: unknown[]];

interface Scenario {
  service: string;
  className: string;
  database?: boolean;
  calls: Call[];
  /** What must survive a failover (volatile objects restart empty). */
  durable?: (dump: any) => unknown;
  /** Extra checks with the running builds. */
  extra?: (primary: any, backup: any) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    service: 'async-inventory',
    className: 'InventoryService',
    calls: [
      ['restock', 'apple', 5],
      ['restock', 'pear', 2],
      ['sell', 'apple', 3],
      ['sell', 'pear', 9],
      ['restock', 'apple', 1],
      ['sell', 'apple', 3],
    ],
  },
  {
    service: 'helpers-ledger',
    className: 'LedgerService',
    database: true,
    calls: [
      ['open', 'a', 100],
      ['open', 'b', 5],
      ['open', 'a', 1],
      ['transfer', 'a', 'b', 30],
      ['transfer', 'b', 'a', 500],
      ['transfer', 'a', 'nobody', 10],
      ['transfer', 'b', 'a', 35],
    ],
  },
  {
    service: 'getters-profile',
    className: 'ProfileService',
    calls: [['visit'], ['rename', 'Ada Lovelace'], ['visit'], ['rename', 'Grace Brewster Hopper'], ['visit']],
  },
  {
    service: 'collections',
    className: 'BoardService',
    calls: [
      ['add', 'write', 'ann'],
      ['add', 'test'],
      ['add', 'ship', 'bob'],
      ['tag', 1, 'urgent'],
      ['tag', 1, 'docs'],
      ['note', 2, 'flaky on CI'],
      ['due', 3, '2026-12-01T00:00:00.000Z'],
      ['moveFirst', 3],
      ['remove', 2],
      ['tag', 2, 'gone'],
      ['note', 3, 'after move'],
      ['add', 'again'],
    ],
  },
  {
    service: 'inheritance',
    className: 'RegistryService',
    calls: [
      ['join', 'ann', false],
      ['join', 'guest1', true],
      ['join', 'bob', false],
      ['leave', 'ann'],
      ['join', 'cy', false],
    ],
    durable: (d) => ({ users: d.users, trail: d.trail }),
  },
  {
    service: 'three-objects',
    className: 'ShopService',
    database: true,
    calls: [
      ['supply', 'pen', 10],
      ['order', 'o1', 'pen', 4],
      ['order', 'o2', 'pen', 7],
      ['supply', 'ink', 3],
      ['order', 'o3', 'ink', 3],
    ],
    durable: (d) => ({ orders: d.orders, stock: d.stock }),
  },
  {
    service: 'throws-midway',
    className: 'SheetService',
    calls: [
      ['load', [1, 2], 'first'],
      ['load', [5, 6, -1, 8], 'broken'],
      ['load', [3, 3, 3], 'second'],
    ],
  },
  {
    service: 'transactions',
    className: 'BookingService',
    calls: [
      ['hold', 'A1'],
      ['pay', 10],
      ['hold', 'A1'],
    ],
    extra: async (primary, backup) => {
      const tx = primary.begin();
      const inTx = primary.with({ tx });
      await inTx.hold('B1');
      await inTx.pay(25);
      await primary.abort(tx);
      expect(await primary.dump()).toEqual({ seats: ['A1'], total: 10 });
      const tx2 = primary.begin();
      await primary.with({ tx: tx2 }).hold('B2');
      await primary.with({ tx: tx2 }).pay(40);
      expect(backup.runtime.replica.lastApplied).toBeLessThan(primary.runtime.snapshot().header.seq + 1);
      expect(await primary.commit(tx2)).toMatchObject({ kind: 'ok' });
      expect(await primary.dump()).toEqual({ seats: ['A1', 'B2'], total: 50 });
    },
  },
];

async function outcome(run: () => unknown): Promise<{ value?: unknown; error?: string }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('compiled services behave like the originals, atomically and durably', () => {
  it('covers at least eight services', () => expect(SCENARIOS.length).toBeGreaterThanOrEqual(8));

  it.each(SCENARIOS.map((s) => [s.service, s] as const))('%s', async (_name, scenario) => {
    const dir = path.join(root, 'test', 'compiler', 'services', scenario.service);
    const out = path.join(root, '.tmp', 'behaviour', scenario.service);
    const compiled = await compileService(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'), out, '0.1.0');
    expect(compiled.diagnostics).toEqual([]);

    const runtime = await import('durability-compiler');
    const primaryBuild = await import(path.join(out, 'primary', 'service.mjs'));
    const backupBuild = await import(path.join(out, 'backup', 'service.mjs'));
    const original = await import(path.join(out, 'primary', 'source', 'service.js'));
    const database = scenario.database ? await runtime.DatabaseStore.open(`sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'durable-behaviour-')), 'state.db')}`) : undefined;

    const backup = await backupBuild[scenario.className].start({ database });
    const link = new runtime.InMemoryLink([backup.runtime.replica]);
    const primary = await primaryBuild[scenario.className].start({ database, link });
    backup.runtime.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.runtime.snapshot())));

    // The uncompiled service, rebuilt from the calls that succeeded: the state "as if" failures never ran.
    const succeeded: Call[] = [];
    const reference = async () => {
      const plain = new original[scenario.className]();
      for (const [method, ...args] of succeeded) await plain[method](...structuredClone(args));
      return plain;
    };

    for (const [method, ...args] of scenario.calls) {
      const expected = await outcome(async () => (await reference())[method](...structuredClone(args)));
      const actual = await outcome(() => primary[method](...structuredClone(args)));
      expect(actual, `${method}(${JSON.stringify(args)})`).toEqual(expected);
      if (!expected.error) succeeded.push([method, ...args]);
      expect(await primary.dump(), `state after ${method}`).toEqual((await reference()).dump());
    }
    await scenario.extra?.(primary, backup);

    const before = await primary.dump();
    await backup.promote();
    const durable = scenario.durable ?? ((d: unknown) => d);
    expect(durable(await backup.dump())).toEqual(durable(before));
    await database?.close();
  });
});

// An <apply> method that only recovery calls needs no SQL (DUR2006 is for what requests run): recovery
// calls it on the object itself, so nothing is written while rows are read back. A request that reaches
// it anyway, where the analysis could not see the call, is refused (DUR3001) and rolled back.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { durable } from '../support/cli.js';

const corpus = path.resolve(import.meta.dirname, '../corpus/ordinary/apply-only-recovery');
// The ordinary corpus's service, with a request that calls the recovery method by a computed name.
const SERVICE = readFileSync(path.join(corpus, 'service.ts'), 'utf8').replace(
  /\n}\n$/,
  `
  sneaky(account: string): void {
    const name = ['lo', 'ad'].join('') as 'load';
    this.ledger[name](account, 1_000_000);
  }
}
`,
);

it('recovers through an <apply> method without SQL, writes nothing while recovering, and refuses a request that calls it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-apply-only-'));
  writeFileSync(path.join(dir, 'service.ts'), SERVICE);
  writeFileSync(path.join(dir, 'durability.xml'), readFileSync(path.join(corpus, 'durability.xml')));
  expect(await durable(['check', 'service.ts', '--mapping', 'durability.xml'], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
  expect((await durable(['compile', 'service.ts', '--mapping', 'durability.xml', '--out', 'build'], dir)).code).toBe(0);
  const { Bank } = await import(pathToFileURL(path.join(dir, 'build', 'primary', 'service.mjs')).href);
  const runtime = await import('durability-compiler');
  const url = `sqlite:${path.join(dir, 'bank.db')}`;

  const first = await runtime.DatabaseStore.open(url);
  const bank = await Bank.start({ database: first });
  expect(await bank.credit('a', 5)).toBe(5);
  expect(await bank.credit('b', 7)).toBe(7);
  await expect(bank.sneaky('a')).rejects.toMatchObject({ code: 'DUR3001' });
  expect(await bank.balance('a')).toBe(5); // rolled back
  await first.close();

  // Every write to the table from here on leaves a line in an audit table.
  const audit = new Database(path.join(dir, 'bank.db'));
  audit.exec(`CREATE TABLE audit (what TEXT);
    CREATE TRIGGER on_insert AFTER INSERT ON balances BEGIN INSERT INTO audit VALUES ('insert ' || NEW.account); END;
    CREATE TRIGGER on_update AFTER UPDATE ON balances BEGIN INSERT INTO audit VALUES ('update ' || NEW.account); END;
    CREATE TRIGGER on_delete AFTER DELETE ON balances BEGIN INSERT INTO audit VALUES ('delete ' || OLD.account); END;`);
  const audited = () => audit.prepare('SELECT what FROM audit').pluck().all();

  const second = await runtime.DatabaseStore.open(url);
  const recovered = await Bank.start({ database: second });
  expect([await recovered.balance('a'), await recovered.balance('b')]).toEqual([5, 7]);
  expect(audited()).toEqual([]); // recovery ran load for both rows and wrote nothing
  expect(await recovered.credit('a', 1)).toBe(6);
  expect(audited()).toEqual(['update a']);
  await second.close();
  audit.close();
});

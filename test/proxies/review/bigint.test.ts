import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../../proxies/database/store.js';
import { openScratchDatabase, type ScratchDatabase } from '../../support/databases.js';
import { build } from './h.js';

class Acct {
  bal = new Map<string, number>();
  open(id: string, amount: number) {
    this.bal.set(id, amount);
  }
  set(id: string, amount: number) {
    this.bal.set(id, amount);
  }
}
let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

for (const [dialect, type] of [
  ['postgres', 'BIGINT'],
  ['mysql', 'DECIMAL(20,2)'],
  ['sqlite', 'BIGINT'],
] as const) {
  describe(dialect, () => {
    it(`${type} values read back by recovery keep their type (a promoted backup adds, not concatenates)`, async () => {
      db = await openScratchDatabase(dialect);
      const store = DatabaseStore.over(db.knex, dialect);
      const xml = `<durability service="S"><state name="a" type="database">
        <initialization>CREATE TABLE IF NOT EXISTS acct (id VARCHAR(64) PRIMARY KEY, amount ${type} NOT NULL)</initialization>
        <recovery><query>SELECT id, amount FROM acct</query><apply method="open" args="id, amount"/></recovery>
        <method name="open"><sql>INSERT INTO acct (id, amount) VALUES (arg[0], arg[1])</sql></method>
        <method name="set"><sql>UPDATE acct SET amount = arg[1] WHERE id = arg[0]</sql></method>
      </state></durability>`;
      const c = await build(xml, [{ name: 'a', create: () => new Acct() }], [Acct], { store });
      const a = () => c.primary.object<Acct>('a');
      await c.run(['a'], () => a().open('x', 5));
      const before = await c.run(['a'], () => {
        a().set('x', a().bal.get('x')! + 1);
        return a().bal.get('x');
      });
      await c.backups[0]!.promote();
      const b = () => c.backups[0]!.object<Acct>('a');
      const after = await c.backups[0]!.execute({ method: 'm', touches: ['a'] }, () => {
        b().set('x', b().bal.get('x')! + 1);
        return b().bal.get('x');
      });
      expect({ before, after }).toEqual({ before: { kind: 'ok', result: 6 }, after: { kind: 'ok', result: 7 } });
    });
  });
}

// The examples' database mappings, run for real on SQLite, PostgreSQL and MariaDB: initialization (twice,
// as a restarted primary would), update methods with bound arguments, then the recovery query. This is
// the SQL the database proxy will run, rendered the way it will render it.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMapping, statementsFor, toKnexRaw, type DatabaseStateMapping, type SqlStep } from '../../mappings/index.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';

const examples = path.resolve(import.meta.dirname, '../../examples');

async function databaseState(example: string, config: string, field: string): Promise<DatabaseStateMapping> {
  const { mapping, diagnostics } = await loadMapping(path.join(examples, example, 'mappings', `${config}.xml`));
  expect(diagnostics).toEqual([]);
  const state = mapping!.states.find((s) => s.field.name === field);
  if (state?.mechanism !== 'database') throw new Error(`${example}/${config}: '${field}' is not a database state`);
  return state;
}

async function run(db: ScratchDatabase, steps: SqlStep[], args: unknown[] = []): Promise<void> {
  const statements = statementsFor(steps, db.dialect);
  expect(statements, `a statement for ${db.dialect}`).toBeDefined();
  await db.knex.transaction(async (trx) => {
    for (const statement of statements!) {
      const { sql, bindings } = toKnexRaw(statement, args);
      await trx.raw(sql, bindings as never[]);
    }
  });
}

async function call(db: ScratchDatabase, state: DatabaseStateMapping, method: string, ...args: unknown[]): Promise<void> {
  const mapped = state.methods.find((m) => m.name === method);
  expect(mapped, `<method name="${method}">`).toBeDefined();
  await run(db, mapped!.steps, args);
}

async function recover(db: ScratchDatabase, state: DatabaseStateMapping): Promise<unknown[][]> {
  const [query] = statementsFor(state.recovery!.query, db.dialect)!;
  const rows = await db.rows(toKnexRaw(query!, []).sql);
  return rows.map((row) => state.recovery!.apply.columns.map((column) => row[column]));
}

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.runIf(!optedOut(dialect))(`example mappings on ${dialect}`, () => {
    let db: ScratchDatabase | undefined;
    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });

    it('counter/db: initializes idempotently, stores setValue, recovers the value', async () => {
      db = await openScratchDatabase(dialect);
      const counter = await databaseState('counter', 'db', 'counter');
      await run(db, counter.initialization);
      expect(await recover(db, counter)).toEqual([[0]]);
      await call(db, counter, 'setValue', 41);
      await run(db, counter.initialization);
      expect(await recover(db, counter)).toEqual([[41]]);
    });

    it('matchmaker/db: upserts machines in advertisement order, removes, and charges accounts', async () => {
      db = await openScratchDatabase(dialect);
      const machines = await databaseState('matchmaker', 'db', 'machines');
      const accounts = await databaseState('matchmaker', 'db', 'accounts');
      await run(db, machines.initialization);
      await run(db, accounts.initialization);

      await call(db, machines, 'advertise', 'm1', 4, 8192, 100);
      await call(db, machines, 'advertise', 'm2', 16, 65536, 500);
      await call(db, machines, 'advertise', 'm3', 2, 4096, 50);
      await call(db, machines, 'advertise', 'm1', 8, 16384, 200); // re-advertised: updated in place
      await call(db, machines, 'remove', 'm2');
      expect(await recover(db, machines)).toEqual([
        ['m1', 8, 16384, 200],
        ['m3', 2, 4096, 50],
      ]);

      const hostile = "bob'); DROP TABLE bills; --";
      await call(db, accounts, 'insertBill', 'alice', 4);
      await call(db, accounts, 'setBill', 'alice', 12);
      await call(db, accounts, 'insertBill', hostile, 1);
      const bills = await recover(db, accounts);
      expect(bills.sort()).toEqual(
        [
          ['alice', 12],
          [hostile, 1],
        ].sort(),
      );
    });

    it('matchmaker/pb+db: the accounts mapping of Figure IV.5 rolls back with its transaction', async () => {
      db = await openScratchDatabase(dialect);
      const accounts = await databaseState('matchmaker', 'pb+db', 'accounts');
      await run(db, accounts.initialization);
      await call(db, accounts, 'insertBill', 'carol', 3);
      // A duplicate insert violates the primary key: the statement fails and nothing of it is kept.
      await expect(call(db, accounts, 'insertBill', 'carol', 99)).rejects.toThrow();
      expect(await recover(db, accounts)).toEqual([['carol', 3]]);
    });
  });
}

import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../../proxies/database/store.js';
import { ServiceRuntime } from '../../../proxies/runtime.js';
import { openScratchDatabase, type ScratchDatabase } from '../../support/databases.js';
import { classes, Counter, Ledger, Log, mapping, stateOf } from '../support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});
const objects = [
  { name: 'counter', create: () => new Counter() },
  { name: 'log', create: () => new Log() },
  { name: 'ledger', create: () => new Ledger() },
];

describe('a primary restarted on the same database', () => {
  it('keeps committing requests without a request id (decision keys do not collide)', async () => {
    db = await openScratchDatabase('sqlite');
    const store = DatabaseStore.over(db.knex, 'sqlite');
    const first = await ServiceRuntime.start({ role: 'primary', mapping: mapping(true), objects, classes, database: store });
    const ledger = (r: ServiceRuntime) => r.object<Ledger>('ledger');
    expect(await first.execute({ method: 'a', touches: ['ledger'] }, () => ledger(first).insertBill('a', 1))).toMatchObject({ kind: 'ok' });
    // the process restarts: a new primary over the same database
    const second = await ServiceRuntime.start({ role: 'primary', mapping: mapping(true), objects, classes, database: store });
    expect(stateOf(second).ledger).toEqual({ a: 1 });
    const out = await second.execute({ method: 'b', touches: ['ledger'] }, () => ledger(second).insertBill('b', 2));
    console.log(JSON.stringify(out));
    expect(out).toMatchObject({ kind: 'ok' });
  });
});

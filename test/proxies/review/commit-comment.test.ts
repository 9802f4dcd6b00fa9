// A method whose SQL ends in a `--` comment commits on the three databases (statements are joined on lines
// of their own), from the review of issue 12.
import { afterEach, describe, expect, it } from 'vitest';
import { parseMapping } from '../../../mappings/index.js';
import { DatabaseStore } from '../../../proxies/database/store.js';
import { ServiceRuntime } from '../../../proxies/runtime.js';
import { openScratchDatabase, type ScratchDatabase } from '../../support/databases.js';
import { classes, Counter, Ledger, Log } from '../support.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

describe.each(['sqlite', 'postgres', 'mysql'] as const)('%s', (dialect) => {
  it('a method whose SQL ends in a -- comment commits', async () => {
    db = await openScratchDatabase(dialect);
    const store = DatabaseStore.over(db.knex, dialect);
    const { mapping, diagnostics } = parseMapping(
      `<durability service="Bank">
        <state name="counter" type="replication" update="repeat"/>
        <state name="log" type="replication" update="state"/>
        <state name="ledger" type="database">
          <initialization>CREATE TABLE IF NOT EXISTS bills (client_id VARCHAR(255) PRIMARY KEY, balance INTEGER NOT NULL)</initialization>
          <recovery><query>SELECT client_id, balance FROM bills</query><apply method="insertBill" args="client_id, balance"/></recovery>
          <method name="insertBill"><sql>INSERT INTO bills (client_id, balance) VALUES (arg[0], arg[1]) -- a new client
          </sql></method>
          <method name="setBill"><sql>UPDATE bills SET balance = arg[1] WHERE client_id = arg[0]</sql></method>
        </state>
      </durability>`,
      'bank.xml',
    );
    expect(diagnostics).toEqual([]);
    const objects = [
      { name: 'counter', create: () => new Counter() },
      { name: 'log', create: () => new Log() },
      { name: 'ledger', create: () => new Ledger() },
    ];
    const primary = await ServiceRuntime.start({ role: 'primary', mapping: mapping!, objects, classes, database: store });
    const ledger = () => primary.object<Ledger>('ledger');
    const request = (id: string, body: () => unknown) => primary.execute({ method: id, requestId: id, touches: ['ledger'], repeatable: true }, body);
    const outcomes = await Promise.all([request('a', () => ledger().setBill('nobody', 1)), request('b', () => ledger().insertBill('alice', 1))]);
    expect(outcomes.map((o) => ({ kind: o.kind, message: (o as { message?: string }).message?.slice(0, 90) }))).toEqual([{ kind: 'ok' }, { kind: 'ok' }].map((o) => ({ ...o, message: undefined })));
  });
});

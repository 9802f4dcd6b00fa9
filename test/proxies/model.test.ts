// Random sequences of requests, failing requests, transactions and failovers against a plain in-memory
// model of the same three objects: whatever the sequence, the serving primary, its database and the
// model agree after every step. The database is SQLite, so a few hundred sequences fit in a test run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { InMemoryLink } from '../../proxies/replication/in-memory.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import { openScratchDatabase } from '../support/databases.js';
import { Bank, classes, cluster, Counter, CRASH_POINTS, crashAt, Ledger, Log, mapping, stateOf, survives, type CrashPoint } from './support.js';

interface Model {
  counter: number;
  log: { at: number; text: string }[];
  ledger: Record<string, number>;
}

const clone = (m: Model): Model => structuredClone(m);

function charge(m: Model, client: string, amount: number): Model {
  const next = clone(m);
  next.counter++;
  next.log.push({ at: next.log.length, text: `${client}+${amount}` });
  next.ledger[client] = (next.ledger[client] ?? 0) + amount;
  return next;
}

type Op =
  | { op: 'charge'; client: string; amount: number; failAt?: 'counter' | 'log' | 'ledger'; tx: boolean }
  | { op: 'bump' }
  | { op: 'begin' }
  | { op: 'commit' }
  | { op: 'abort' }
  | { op: 'failover' }
  /** The primary crashes at `point` while committing a charge; a backup takes over. */
  | { op: 'crash'; point: CrashPoint; client: string; amount: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('charge' as const),
      client: fc.constantFrom('a', 'b', 'c'),
      amount: fc.integer({ min: 1, max: 9 }),
      failAt: fc.option(fc.constantFrom('counter' as const, 'log' as const, 'ledger' as const), { nil: undefined }),
      tx: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'bump' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'begin' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'abort' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'failover' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('crash' as const), point: fc.constantFrom(...CRASH_POINTS), client: fc.constantFrom('a', 'b'), amount: fc.integer({ min: 1, max: 9 }) }) },
);

const objects = [
  { name: 'counter', create: () => new Counter() },
  { name: 'log', create: () => new Log() },
  { name: 'ledger', create: () => new Ledger() },
];

describe('the run-time against a plain model', () => {
  it('agrees after every step of any sequence of requests, failures, transactions and failovers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const db = await openScratchDatabase('sqlite');
        try {
          const store = DatabaseStore.over(db.knex, 'sqlite');
          let { primary, backups, link } = await cluster(store);
          let bank = new Bank(primary);
          let model: Model = { counter: 0, log: [], ledger: {} };
          let tx: { id: string; model: Model } | undefined;

          for (const step of ops) {
            switch (step.op) {
              case 'charge': {
                const inTx = step.tx && tx !== undefined;
                if (!inTx && tx) break; // the transaction holds every object: skip rather than wait for 409
                const outcome = await bank.charge(step.client, step.amount, { failAt: step.failAt, tx: inTx ? tx!.id : undefined });
                if (step.failAt) {
                  expect(outcome.kind).toBe('service-error');
                } else {
                  expect(outcome.kind).toBe('ok');
                  if (inTx) tx!.model = charge(tx!.model, step.client, step.amount);
                  else model = charge(model, step.client, step.amount);
                }
                break;
              }
              case 'bump':
                if (tx) break;
                expect(await bank.bump()).toEqual({ kind: 'ok', result: model.counter + 1 });
                model = { ...clone(model), counter: model.counter + 1 };
                break;
              case 'begin':
                if (!tx) tx = { id: primary.beginTransaction(), model: clone(model) };
                break;
              case 'commit':
                if (tx) {
                  expect(await primary.commitTransaction(tx.id)).toMatchObject({ kind: 'ok' });
                  model = tx.model;
                  tx = undefined;
                }
                break;
              case 'abort':
                if (tx) {
                  expect(await primary.abortTransaction(tx.id)).toMatchObject({ kind: 'ok' });
                  tx = undefined;
                }
                break;
              case 'crash':
              case 'failover': {
                if (step.op === 'crash') {
                  if (tx) break;
                  const repair = crashAt(step.point, link, store);
                  await bank.charge(step.client, step.amount);
                  repair();
                  if (survives(step.point)) model = charge(model, step.client, step.amount);
                }
                // The primary is gone; its backup takes over, and a new backup joins it.
                const fresh = await ServiceRuntime.start({ role: 'backup', mapping: mapping(true), objects, classes, database: store });
                link = new InMemoryLink([fresh.replica]);
                await backups[0]!.promote(link);
                primary = backups[0]!;
                fresh.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
                backups = [fresh];
                bank = new Bank(primary);
                tx = undefined; // lost with the old primary, never committed
                break;
              }
            }
            const visible = tx ? tx.model : model;
            expect(stateOf(primary)).toEqual(visible);
          }
          if (tx) await primary.abortTransaction(tx.id);
          const rows = await db.rows('SELECT client_id, balance FROM bills ORDER BY client_id');
          expect(Object.fromEntries(rows.map((r) => [r.client_id, Number(r.balance)]))).toEqual(model.ledger);
        } finally {
          await db.dispose();
        }
      }),
      { numRuns: 100 },
    );
  });
});

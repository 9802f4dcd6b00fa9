// The records universe: two database-minded state objects, Records (typed rows) and Tallies (plain
// counts), under every configuration, above all the database on SQLite, PostgreSQL and MariaDB, where
// the state a new primary recovers through the mapping must equal what the original holds, value types
// included (issue 11 item 11). Requests call mapped methods, catch their failures (items 1 and 3), and
// write the objects where no mapped method does (item 2): there, and only there, the run-time may refuse
// (issue 16).
import fc from 'fast-check';
import { DATABASE_CONFIGS, type Universe } from '../harness/universe.js';
import { callCode, runCall, writesOutsideMappedMethods, type Id, type Name, type RecordsCall } from './calls.js';
import { RECORDS_EXAMPLES } from './examples.js';
import { recordsMapping, TABLES } from './mapping.js';
import { Records, Tallies } from './records.js';

class RequestFailure extends Error {}

export interface RecordsRequest {
  calls: RecordsCall[];
  throwAfter: boolean;
}

/** Names that DIFF_EXCLUDE may list: each call kind (`put`, `t.open`…), `records` or `tallies` for all of one object's, and `throw`. */
function requests(excluded: ReadonlySet<string>): fc.Arbitrary<RecordsRequest> {
  const id = fc.constantFrom<Id>('a', 'b', 'c');
  const name = fc.constantFrom<Name>('p', 'q', 'r');
  const n = fc.integer({ min: -2, max: 12 });
  const label = fc.constantFrom('x', 'hello', 'too long');
  const time = fc.constantFrom(0, 1_000, 86_400_123, 1_700_000_000_005);
  const put = fc.record({
    m: fc.constant('put' as const),
    id,
    label,
    amount: fc.integer({ min: -5, max: 100 }),
    ratio: fc.constantFrom(0, 0.5, 1.25, -3.75),
    flag: fc.boolean(),
    big: fc.constantFrom('0', '42', '-5', '9007199254740993'),
    stamp: time,
    meta: fc.constantFrom<Record<string, unknown>>({}, { n: 1 }, { tags: ['a', 'b'], nested: { ok: true } }),
    tags: fc.constantFrom<string[]>([], ['t'], ['t', 'u']),
  });
  const withN = <M extends RecordsCall['m']>(m: M) => fc.record({ m: fc.constant(m), name, n });
  const calls: [RecordsCall['m'], number, fc.Arbitrary<RecordsCall>][] = [
    ['put', 6, put],
    ['remove', 2, fc.record({ m: fc.constant('remove' as const), id })],
    ['toggle', 2, fc.record({ m: fc.constant('toggle' as const), id })],
    ['get', 2, fc.record({ m: fc.constant('get' as const), id })],
    ['add', 2, fc.record({ m: fc.constant('add' as const), id, n })],
    ['withdraw', 2, fc.record({ m: fc.constant('withdraw' as const), id, n })],
    ['stamp', 2, fc.record({ m: fc.constant('stamp' as const), id, time })],
    ['relabel', 2, fc.record({ m: fc.constant('relabel' as const), id, label })],
    ['all', 1, fc.constant({ m: 'all' as const })],
    ['tryWithdraw', 2, fc.record({ m: fc.constant('tryWithdraw' as const), id, n })],
    ['tryRelabel', 1, fc.record({ m: fc.constant('tryRelabel' as const), id, label })],
    ['directAmount', 1, fc.record({ m: fc.constant('directAmount' as const), id, n })],
    ['quietStamp', 1, fc.record({ m: fc.constant('quietStamp' as const), id, time })],
    ['t.open', 5, withN('t.open')],
    ['t.add', 2, withN('t.add')],
    ['t.withdraw', 2, withN('t.withdraw')],
    ['t.tryWithdraw', 2, withN('t.tryWithdraw')],
    ['t.directSet', 1, withN('t.directSet')],
    ['t.transfer', 2, fc.record({ m: fc.constant('t.transfer' as const), name, to: name, n })],
    ['t.tryTransfer', 1, fc.record({ m: fc.constant('t.tryTransfer' as const), name, to: name, n })],
    ['t.close', 2, fc.record({ m: fc.constant('t.close' as const), name })],
    ['t.directDelete', 1, fc.record({ m: fc.constant('t.directDelete' as const), name })],
    ['t.total', 1, fc.constant({ m: 't.total' as const })],
  ];
  const allowed = calls.filter(([m]) => !excluded.has(m) && !excluded.has(m.startsWith('t.') ? 'tallies' : 'records'));
  if (allowed.length === 0) throw new Error('DIFF_EXCLUDE leaves the records universe no call.');
  const call = fc.oneof(...allowed.map(([, weight, arbitrary]) => ({ weight, arbitrary })));
  return fc.record({ calls: fc.array(call, { minLength: 1, maxLength: 3 }), throwAfter: excluded.has('throw') ? fc.constant(false) : fc.nat(4).map((x) => x === 0) });
}

export const recordsUniverse = (excluded: ReadonlySet<string>): Universe<RecordsRequest> => ({
  name: 'records',
  objects: [
    { name: 'records', create: () => new Records() },
    { name: 'tallies', create: () => new Tallies() },
  ],
  classes: [Records, Tallies],
  mapping: recordsMapping,
  tables: TABLES,
  run(service, request) {
    let result: unknown;
    for (const call of request.calls) result = runCall(service.records as Records, service.tallies as Tallies, call);
    if (request.throwAfter) throw new RequestFailure(`the request failed after ${request.calls.length} call(s)`);
    return result;
  },
  describe(service, request) {
    const lines: string[] = [];
    for (const call of request.calls) {
      lines.push(callCode(call));
      try {
        runCall(service.records as Records, service.tallies as Tallies, call);
      } catch (error) {
        lines.push(`// ↑ throws ${(error as Error).constructor.name}: ${(error as Error).message}`);
        return lines;
      }
    }
    if (request.throwAfter) lines.push('throw new RequestFailure(); // the service method fails after all of that');
    return lines;
  },
  // What `durable compile` finds for the <apply> methods Records.put and Tallies.open.
  columnTypes: {
    records: [{ kind: 'string' }, { kind: 'string' }, { kind: 'number' }, { kind: 'number' }, { kind: 'boolean' }, { kind: 'bigint' }, { kind: 'date' }, { kind: 'json' }, { kind: 'set' }],
    tallies: [{ kind: 'string' }, { kind: 'number' }],
  },
  mayRefuse(request, config, before) {
    if (!DATABASE_CONFIGS.includes(config)) return undefined;
    const records = before.records as Records;
    const tallies = before.tallies as Tallies;
    for (const call of request.calls) {
      if (writesOutsideMappedMethods(records, tallies, call)) return `issue 16: a change to database state outside its mapped methods (${call.m}) fails the request`;
      try {
        runCall(records, tallies, call);
      } catch {
        return undefined; // the request fails here in the original too
      }
    }
    return undefined;
  },
  requests: requests(excluded),
  examples: RECORDS_EXAMPLES,
  simplify(request) {
    const simpler: RecordsRequest[] = [];
    if (request.throwAfter) simpler.push({ ...request, throwAfter: false });
    if (request.calls.length > 1) request.calls.forEach((_, i) => simpler.push({ ...request, calls: request.calls.filter((__, j) => j !== i) }));
    return simpler;
  },
});

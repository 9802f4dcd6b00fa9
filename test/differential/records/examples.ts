// Issue 11's reproductions for database state, as sequences of the records universe that every run
// tries first, before its random ones.
import type { Command } from '../harness/universe.js';
import type { RecordsCall } from './calls.js';
import type { RecordsRequest } from './universe.js';

const request = (calls: RecordsCall[], throwAfter = false): Command<RecordsRequest> => ({ kind: 'request', request: { calls, throwAfter } });

export const RECORDS_EXAMPLES: readonly Command<RecordsRequest>[][] = [
  // Item 1: the SQL of a mapped call that threw (and was caught) must not be committed.
  [request([{ m: 't.open', name: 'p', n: 100 }]), request([{ m: 't.tryWithdraw', name: 'p', n: 500 }]), request([{ m: 't.withdraw', name: 'p', n: 30 }])],
  // Item 2: a write no mapped method makes: refused, or it survives recovery.
  [request([{ m: 't.open', name: 'p', n: 1 }]), request([{ m: 't.directSet', name: 'q', n: 5 }])],
  // Item 3: a request that throws in a transaction after an earlier one of it deleted from the same Map.
  [
    { kind: 'begin' },
    request([{ m: 't.open', name: 'p', n: 0 }]),
    request([
      { m: 't.close', name: 'p' },
      { m: 't.open', name: 'p', n: 0 },
    ]),
    request([{ m: 't.close', name: 'p' }], true),
    { kind: 'commit' },
  ],
  // Item 11: every column type comes back as the type it went in as.
  [request([{ m: 'put', id: 'a', label: 'x', amount: 1, ratio: 0.5, flag: true, big: '9007199254740993', stamp: 1_700_000_000_005, meta: { n: 1 }, tags: ['t'] }])],
];

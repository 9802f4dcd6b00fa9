// The #private universe: calls of BankService's methods, run on the original classes (bank.ts, imported
// as written) and on the compiled build (private.test.ts), compared through `dump()`.
import fc from 'fast-check';
import { show } from '../compare.js';
import type { ConfigName, Universe } from '../harness/universe.js';
import { Account, Bank, SavingsAccount } from './bank.js';

export interface PrivateRequest {
  method: 'open' | 'deposit' | 'withdraw' | 'transfer' | 'accrue' | 'close' | 'balance' | 'dump';
  args: (string | number)[];
}

export const PRIVATE_CONFIGS: readonly ConfigName[] = ['state', 'repeat'];

function requests(excluded: ReadonlySet<string>): fc.Arbitrary<PrivateRequest> {
  const id = fc.constantFrom('a', 'b', 'c');
  const n = fc.integer({ min: -1, max: 60 });
  const call = <M extends PrivateRequest['method']>(method: M, args: fc.Arbitrary<(string | number)[]>) => args.map((a) => ({ method, args: a }));
  const all: [PrivateRequest['method'], number, fc.Arbitrary<PrivateRequest>][] = [
    ['open', 4, call('open', fc.tuple(id, fc.constantFrom('ann', 'bob'), fc.integer({ min: -1, max: 100 }), fc.constantFrom(0, 0, 0.1, 0.5)))],
    ['deposit', 3, call('deposit', fc.tuple(id, n))],
    ['withdraw', 3, call('withdraw', fc.tuple(id, n))],
    ['transfer', 3, call('transfer', fc.tuple(id, id, n))],
    ['accrue', 2, call('accrue', fc.tuple(id))],
    ['close', 1, call('close', fc.tuple(id))],
    ['balance', 1, call('balance', fc.tuple(id))],
    ['dump', 1, call('dump', fc.constant([]))],
  ];
  return fc.oneof(...all.filter(([m]) => !excluded.has(m)).map(([, weight, arbitrary]) => ({ weight, arbitrary })));
}

export const privateUniverse = (excluded: ReadonlySet<string>): Universe<PrivateRequest> => ({
  name: 'private',
  objects: [{ name: 'bank', create: () => new Bank() }],
  classes: [Bank, Account, SavingsAccount],
  mapping(config) {
    if (config === 'state' || config === 'repeat') return `<durability service="BankService">\n  <state name="bank" type="replication" update="${config}"/>\n</durability>\n`;
    return undefined;
  },
  run: (service, request) => (service.bank as unknown as Record<string, (...a: unknown[]) => unknown>)[request.method]!(...request.args),
  describe: (_service, request) => [`return service.${request.method}(${request.args.map((a) => show(a)).join(', ')});`],
  observe: (service) => (service.bank as Bank).dump(),
  mayRefuse: () => undefined,
  requests: requests(excluded),
});

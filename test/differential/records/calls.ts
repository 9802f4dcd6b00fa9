// What a request of the records universe does, one call at a time: run on the service's two state
// objects (plain instances or proxies alike), and written as code for a reproduction.
import { show } from '../compare.js';
import type { Records, Tallies } from './records.js';

export type Id = 'a' | 'b' | 'c';
export type Name = 'p' | 'q' | 'r';

export type RecordsCall =
  | { m: 'put'; id: Id; label: string; amount: number; ratio: number; flag: boolean; big: string; stamp: number; meta: Record<string, unknown>; tags: string[] }
  | { m: 'remove' | 'toggle' | 'get'; id: Id }
  | { m: 'add' | 'withdraw'; id: Id; n: number }
  | { m: 'stamp'; id: Id; time: number }
  | { m: 'relabel'; id: Id; label: string }
  | { m: 'all' }
  /** Service code: `try { records.withdraw(id, n); return true } catch { return false }` (issue 11 item 1). */
  | { m: 'tryWithdraw'; id: Id; n: number }
  /** Service code catches relabel's failure, which came after its change. */
  | { m: 'tryRelabel'; id: Id; label: string }
  /** Service code changes a row itself: no mapped method makes that durable (issue 11 item 2). */
  | { m: 'directAmount'; id: Id; n: number }
  /** A Records method with no SQL moves a row's Date in place. */
  | { m: 'quietStamp'; id: Id; time: number }
  | { m: 't.open' | 't.add' | 't.withdraw' | 't.tryWithdraw' | 't.directSet'; name: Name; n: number }
  | { m: 't.transfer' | 't.tryTransfer'; name: Name; to: Name; n: number }
  | { m: 't.close' | 't.directDelete'; name: Name }
  | { m: 't.total' };

/**
 * Whether `call`, on the state as it is, changes database state where no mapped method does, or keeps the
 * change of a mapped call that then threw (issue 16 lets the run-time refuse exactly those). A call that
 * changes nothing (its row is missing, its mapped method throws before any change) must work.
 */
export function writesOutsideMappedMethods(records: Records, tallies: Tallies, call: RecordsCall): boolean {
  switch (call.m) {
    case 'directAmount':
    case 'quietStamp':
      return records.rows.has(call.id);
    case 'tryRelabel':
      return records.rows.has(call.id) && call.label.length > 5;
    case 't.tryTransfer':
      return tallies.counts.has(call.name) && !tallies.counts.has(call.to);
    case 't.directSet':
      return true;
    case 't.directDelete':
      return tallies.counts.has(call.name);
    default:
      return false;
  }
}

function attempt(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}

export function runCall(records: Records, tallies: Tallies, call: RecordsCall): unknown {
  switch (call.m) {
    case 'put':
      return records.put(call.id, call.label, call.amount, call.ratio, call.flag, BigInt(call.big), new Date(call.stamp), structuredClone(call.meta), new Set(call.tags));
    case 'remove':
    case 'toggle':
    case 'get':
      return records[call.m](call.id);
    case 'add':
    case 'withdraw':
      return records[call.m](call.id, call.n);
    case 'stamp':
      return records.stamp(call.id, new Date(call.time));
    case 'relabel':
      return records.relabel(call.id, call.label);
    case 'all':
      return records.all();
    case 'tryWithdraw':
      return attempt(() => records.withdraw(call.id, call.n));
    case 'tryRelabel':
      return attempt(() => records.relabel(call.id, call.label));
    case 'directAmount': {
      const row = records.rows.get(call.id);
      if (row) row.amount += call.n;
      return row?.amount;
    }
    case 'quietStamp':
      return records.quietStamp(call.id, call.time);
    case 't.open':
      return tallies.open(call.name, call.n);
    case 't.add':
      return tallies.add(call.name, call.n);
    case 't.withdraw':
      return tallies.withdraw(call.name, call.n);
    case 't.tryWithdraw':
      return attempt(() => tallies.withdraw(call.name, call.n));
    case 't.directSet':
      return tallies.counts.set(call.name, call.n).size;
    case 't.transfer':
      return tallies.transfer(call.name, call.to, call.n);
    case 't.tryTransfer':
      return attempt(() => tallies.transfer(call.name, call.to, call.n));
    case 't.close':
      return tallies.close(call.name);
    case 't.directDelete':
      return tallies.counts.delete(call.name);
    case 't.total':
      return tallies.total();
  }
}

export function callCode(call: RecordsCall): string {
  const id = 'id' in call ? show(call.id) : '';
  const name = 'name' in call ? show(call.name) : '';
  switch (call.m) {
    case 'put':
      return `records.put(${id}, ${show(call.label)}, ${call.amount}, ${call.ratio}, ${call.flag}, ${call.big}n, new Date(${call.stamp}), ${show(call.meta)}, new Set(${show(call.tags)}));`;
    case 'remove':
    case 'toggle':
    case 'get':
      return `return records.${call.m}(${id});`;
    case 'add':
    case 'withdraw':
      return `return records.${call.m}(${id}, ${call.n});`;
    case 'stamp':
      return `records.stamp(${id}, new Date(${call.time}));`;
    case 'relabel':
      return `records.relabel(${id}, ${show(call.label)});`;
    case 'all':
      return 'return records.all();';
    case 'tryWithdraw':
      return `try { records.withdraw(${id}, ${call.n}); return true; } catch { return false; }`;
    case 'tryRelabel':
      return `try { records.relabel(${id}, ${show(call.label)}); return true; } catch { return false; } // relabel throws after its change`;
    case 'directAmount':
      return `{ const row = records.rows.get(${id}); if (row) row.amount += ${call.n}; return row?.amount; } // service code: no mapped method`;
    case 'quietStamp':
      return `records.quietStamp(${id}, ${call.time}); // a method with no SQL`;
    case 't.open':
    case 't.add':
    case 't.withdraw':
      return `return tallies.${call.m.slice(2)}(${name}, ${call.n});`;
    case 't.tryWithdraw':
      return `try { tallies.withdraw(${name}, ${call.n}); return true; } catch { return false; }`;
    case 't.directSet':
      return `return tallies.counts.set(${name}, ${call.n}).size; // service code: no mapped method`;
    case 't.transfer':
      return `tallies.transfer(${name}, ${show(call.to)}, ${call.n});`;
    case 't.tryTransfer':
      return `try { tallies.transfer(${name}, ${show(call.to)}, ${call.n}); return true; } catch { return false; } // transfer may throw after its first change`;
    case 't.close':
      return `return tallies.close(${name});`;
    case 't.directDelete':
      return `return tallies.counts.delete(${name}); // service code: no mapped method`;
    case 't.total':
      return 'return tallies.total();';
  }
}

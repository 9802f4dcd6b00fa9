// The simulated service: a journal of request ids, replicated, and (in the pb+db configuration) a
// ledger of the same ids in the database, both changed by one request. A request's reply is the
// journal's length after it, so the final state says where each acknowledged request landed: a lost,
// repeated or reordered request shows, and so does a request in one mechanism and not the other.
import { parseMapping } from '../../mappings/index.js';
import type { ClassRegistry } from '../../proxies/core/encoding.js';
import type { Outcome } from '../../proxies/action/controller.js';
import type { ServiceRuntime, StateObjectSpec } from '../../proxies/runtime.js';

export class Journal {
  ids: string[] = [];
  append(id: string): number {
    this.ids.push(id);
    return this.ids.length;
  }
}

class Ledger {
  ids: string[] = [];
  record(id: string): void {
    this.ids.push(id);
  }
}

export const classes: ClassRegistry = new Map<string, new (...args: never[]) => object>([
  ['Journal', Journal],
  ['Ledger', Ledger],
]);

export const objects: StateObjectSpec[] = [
  { name: 'journal', create: () => new Journal() },
  { name: 'ledger', create: () => new Ledger() },
];

export function simulatedMapping(options: { database: boolean; update: 'repeat' | 'state' }) {
  const ledger = options.database
    ? `<state name="ledger" type="database">
        <initialization>CREATE TABLE IF NOT EXISTS ledger (id VARCHAR(255) PRIMARY KEY)</initialization>
        <recovery><query>SELECT id FROM ledger</query><apply method="record" args="id"/></recovery>
        <method name="record"><sql>INSERT INTO ledger (id) VALUES (arg[0])</sql></method>
      </state>`
    : `<state name="ledger" type="reconstruction"/>`;
  const { mapping, diagnostics } = parseMapping(
    `<durability service="Simulated">
      <state name="journal" type="replication" update="${options.update}" sync="ack"/>
      ${ledger}
    </durability>`,
    'simulated.xml',
  );
  if (!mapping || diagnostics.length > 0) throw new Error(JSON.stringify(diagnostics));
  return mapping;
}

/** The service method, bracketed as the compiler brackets it: one atomic action over both objects. */
export function add(runtime: ServiceRuntime, id: string, database: boolean): Promise<Outcome> {
  return runtime.execute({ requestId: id, method: 'add', touches: database ? ['journal', 'ledger'] : ['journal'] }, () => {
    const length = runtime.object<Journal>('journal').append(id);
    if (database) runtime.object<Ledger>('ledger').record(id);
    return length;
  });
}

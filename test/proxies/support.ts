// A small service written against the run-time the way generated code will be: three state objects
// (a replicated counter, a replicated log shipped as state changes, a ledger in the database), and a
// primary with backups over the in-memory link.
import { parseMapping, type DurabilityMapping } from '../../mappings/index.js';
import type { ClassRegistry } from '../../proxies/core/encoding.js';
import type { DatabaseStore } from '../../proxies/database/store.js';
import { InMemoryLink } from '../../proxies/replication/in-memory.js';
import type { ReplicationBatch } from '../../proxies/replication/link.js';
import { ServiceRuntime } from '../../proxies/runtime.js';

export class Counter {
  value = 0;
  setValue(value: number): void {
    this.value = value;
  }
  getValue(): number {
    return this.value;
  }
}

export class Log {
  entries: { at: number; text: string }[] = [];
  append(text: string): void {
    this.entries.push({ at: this.entries.length, text });
  }
}

export class Ledger {
  balances = new Map<string, number>();
  insertBill(clientId: string, balance: number): void {
    this.balances.set(clientId, balance);
  }
  setBill(clientId: string, balance: number): void {
    this.balances.set(clientId, balance);
  }
  getBill(clientId: string): number | undefined {
    return this.balances.get(clientId);
  }
}

export const classes: ClassRegistry = new Map<string, new (...args: never[]) => object>([
  ['Counter', Counter],
  ['Log', Log],
  ['Ledger', Ledger],
]);

export function mapping(withDatabase: boolean): DurabilityMapping {
  const ledger = withDatabase
    ? `<state name="ledger" type="database">
        <initialization>CREATE TABLE IF NOT EXISTS bills (client_id VARCHAR(255) PRIMARY KEY, balance INTEGER NOT NULL)</initialization>
        <recovery><query>SELECT client_id, balance FROM bills</query><apply method="insertBill" args="client_id, balance"/></recovery>
        <method name="insertBill"><sql>INSERT INTO bills (client_id, balance) VALUES (arg[0], arg[1])</sql></method>
        <method name="setBill"><sql>UPDATE bills SET balance = arg[1] WHERE client_id = arg[0]</sql></method>
      </state>`
    : `<state name="ledger" type="reconstruction"/>`;
  const { mapping: parsed, diagnostics } = parseMapping(
    `<durability service="Bank">
      <state name="counter" type="replication" update="repeat"/>
      <state name="log" type="replication" update="state"/>
      ${ledger}
    </durability>`,
    'bank.xml',
  );
  if (!parsed || diagnostics.length > 0) throw new Error(JSON.stringify(diagnostics));
  return parsed;
}

const objects = [
  { name: 'counter', create: () => new Counter() },
  { name: 'log', create: () => new Log() },
  { name: 'ledger', create: () => new Ledger() },
];

/** The service's methods, as the compiler would bracket them. */
export class Bank {
  constructor(readonly runtime: ServiceRuntime) {}

  private get counter() {
    return this.runtime.object<Counter>('counter');
  }
  private get log() {
    return this.runtime.object<Log>('log');
  }
  private get ledger() {
    return this.runtime.object<Ledger>('ledger');
  }

  /** Charges a client: touches all three objects; `failAt` throws midway, after some changes. */
  charge(clientId: string, amount: number, options: { id?: string; tx?: string; failAt?: 'counter' | 'log' | 'ledger' } = {}) {
    return this.runtime.execute({ requestId: options.id, method: 'charge', touches: ['counter', 'log', 'ledger'], tx: options.tx }, () => {
      this.counter.setValue(this.counter.getValue() + 1);
      if (options.failAt === 'counter') throw new Error('failed after the counter');
      this.log.append(`${clientId}+${amount}`);
      if (options.failAt === 'log') throw new Error('failed after the log');
      const balance = this.ledger.getBill(clientId);
      if (balance === undefined) this.ledger.insertBill(clientId, amount);
      else this.ledger.setBill(clientId, balance + amount);
      if (options.failAt === 'ledger') throw new Error('failed after the ledger');
      return { count: this.counter.getValue(), balance: this.ledger.getBill(clientId) };
    });
  }

  /** Touches the counter only. */
  bump(options: { id?: string; tx?: string } = {}) {
    return this.runtime.execute({ requestId: options.id, method: 'bump', touches: ['counter'], tx: options.tx }, () => {
      this.counter.setValue(this.counter.getValue() + 1);
      return this.counter.getValue();
    });
  }
}

export interface Cluster {
  primary: ServiceRuntime;
  backups: ServiceRuntime[];
  link: InMemoryLink;
  bank: Bank;
}

export async function cluster(store: DatabaseStore | undefined, backups = 1, minAcks = 0): Promise<Cluster> {
  const map = mapping(store !== undefined);
  const backupRuntimes = await Promise.all(Array.from({ length: backups }, () => ServiceRuntime.start({ role: 'backup', mapping: map, objects, classes, database: store })));
  backupRuntimes.forEach((b, i) => (b.identity = `backup-${i}`));
  const link = new InMemoryLink(
    backupRuntimes.map((b) => b.replica),
    minAcks,
    backupRuntimes.map((b) => b.identity!),
  );
  const primary = await ServiceRuntime.start({ role: 'primary', mapping: map, objects, classes, database: store, link, txConflictWaitMs: 200 });
  const snapshot = JSON.parse(JSON.stringify(primary.snapshot()));
  for (const b of backupRuntimes) b.replica.loadSnapshot(snapshot);
  return { primary, backups: backupRuntimes, link, bank: new Bank(primary) };
}

/** The plain data of every state object, for comparisons. */
export function stateOf(runtime: ServiceRuntime) {
  const counter = runtime.object<Counter>('counter');
  const log = runtime.object<Log>('log');
  const ledger = runtime.object<Ledger>('ledger');
  return {
    counter: counter.getValue(),
    log: log.entries.map((e) => ({ ...e })),
    ledger: Object.fromEntries([...ledger.balances.entries()]),
  };
}

/** The backup refuses the next batch it is sent (as one that could not apply it, or whose connection broke): the link drops it. */
export function refuseNextBatch(runtime: ServiceRuntime): void {
  const replica = runtime.replica;
  const receive = replica.receive.bind(replica);
  replica.receive = () => {
    replica.receive = receive;
    throw new Error('this backup dropped out while the batch was on its way');
  };
}

/** The dropped backup joins again, from a snapshot of the primary as it is now. */
export function rejoin(primary: ServiceRuntime, backup: ServiceRuntime, link: { down: Set<unknown> }): void {
  backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
  link.down.delete(backup.replica);
}

class Crash extends Error {}

export const CRASH_POINTS = [
  'before shipping',
  'after shipping, before the database commit',
  'after the database commit, before the backups received it',
  'after the database commit, unacknowledged',
  'after the database commit, undecided',
  'after everything, before the reply',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Whether an action whose primary crashed at `point` is durable: the database commit decides. */
export function survives(point: CrashPoint): boolean {
  return point !== 'before shipping' && point !== 'after shipping, before the database commit';
}

/**
 * Makes the primary behind `link` and `store` stop at `point` of its next commit: it does nothing after
 * it, tells nobody anything. Returns the function that repairs the shared database handle for the
 * backup that takes over.
 */
export function crashAt(point: CrashPoint, link: InMemoryLink, store: DatabaseStore): () => void {
  const replicate = link.replicate.bind(link);
  const commit = store.commit.bind(store);
  // The batch and the database commit leave together (proxies/action/commit.ts): a crash before
  // shipping stops both; one after the commit but before the batch left stops the batch only.
  let committed!: () => void;
  const databaseCommitted = new Promise<void>((resolve) => (committed = resolve));
  link.replicate = async (batch: ReplicationBatch, wait: boolean) => {
    if (point === 'before shipping') throw new Crash('crashed');
    if (point === 'after the database commit, before the backups received it') {
      await databaseCommitted;
      throw new Crash('crashed');
    }
    return replicate(batch, wait);
  };
  store.commit = async (epoch, records) => {
    if (point === 'before shipping' || point === 'after shipping, before the database commit') throw new Crash('crashed');
    const result = await commit(epoch, records);
    committed();
    if (point === 'after the database commit, unacknowledged') throw new Crash('crashed');
    return result;
  };
  link.dropDecisions = point !== 'after everything, before the reply';
  store.decided = async () => {
    throw new Crash('crashed');
  };
  return () => {
    store.commit = commit;
    delete (store as Partial<DatabaseStore>).decided;
  };
}

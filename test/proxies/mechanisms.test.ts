// The finer promises of each mechanism: SQLite's durability settings, lazy replication, replies in
// commit order, reconstruction's rebuild method, the bounded exactly-once window, a mapping's own
// checkpoint and restore, a backup joining under load, and epochs refusing a stale primary.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMapping } from '../../mappings/index.js';
import { DatabaseStore } from '../../proxies/database/store.js';
import { StaleEpochError } from '../../proxies/replication/backup.js';
import { InMemoryLink } from '../../proxies/replication/in-memory.js';
import { wholeSnapshot } from '../../proxies/replication/snapshot.js';
import { ServiceRuntime, type StateObjectSpec } from '../../proxies/runtime.js';
import { classes, Counter } from './support.js';

class Sessions {
  open = new Set<string>();
  rebuilt = false;
  start(id: string): void {
    this.open.add(id);
  }
  reset(): void {
    this.rebuilt = true;
  }
}

class Notes {
  items: string[] = [];
  add(text: string): void {
    this.items.push(text);
  }
  save(): string[] {
    return [...this.items];
  }
  load(items: string[]): void {
    this.items = [...items];
  }
}

const allClasses = new Map([...classes, ['Sessions', Sessions], ['Notes', Notes]] as [string, new (...args: never[]) => object][]);

function runtimeFor(xml: string, objects: StateObjectSpec[], extra: Partial<Parameters<typeof ServiceRuntime.start>[0]> & { role: 'primary' | 'backup' }) {
  const { mapping, diagnostics } = parseMapping(`<durability service="S">${xml}</durability>`, 's.xml');
  if (!mapping || diagnostics.length > 0) throw new Error(JSON.stringify(diagnostics));
  return ServiceRuntime.start({ mapping, objects, classes: allClasses, ...extra });
}

const counterSpec = [{ name: 'counter', create: () => new Counter() }];
const bump = (rt: ServiceRuntime, id?: string) =>
  rt.execute({ requestId: id, method: 'bump', touches: ['counter'] }, () => {
    const c = rt.object<Counter>('counter');
    c.setValue(c.getValue() + 1);
    return c.getValue();
  });

describe('mechanisms', () => {
  it('opens SQLite in WAL mode with every commit synchronous', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-wal-'));
    const store = await DatabaseStore.open(`sqlite:${path.join(dir, 'state.db')}`);
    try {
      const mode = await store.rows(store.knex, 'PRAGMA journal_mode');
      const sync = await store.rows(store.knex, 'PRAGMA synchronous');
      expect(mode[0]).toEqual({ journal_mode: 'wal' });
      expect(sync[0]).toEqual({ synchronous: 2 }); // FULL
    } finally {
      await store.close();
    }
  });

  it('does not wait for the backups with sync="lazy", and waits with sync="ack"', async () => {
    for (const sync of ['lazy', 'ack']) {
      const backup = await runtimeFor(`<state name="counter" type="replication" sync="${sync}"/>`, counterSpec, { role: 'backup' });
      const link = new InMemoryLink([backup.replica]);
      const waits: boolean[] = [];
      const replicate = link.replicate.bind(link);
      link.replicate = (batch, wait) => {
        waits.push(wait);
        return replicate(batch, wait);
      };
      const primary = await runtimeFor(`<state name="counter" type="replication" sync="${sync}"/>`, counterSpec, { role: 'primary', link });
      backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
      await bump(primary);
      expect(waits).toEqual([sync === 'ack']);
      await new Promise((r) => setImmediate(r));
      expect(backup.object<Counter>('counter').getValue()).toBe(1);
    }
  });

  it('sends replies in commit order', async () => {
    const primary = await runtimeFor('<state name="counter" type="replication"/>', counterSpec, { role: 'primary', link: new InMemoryLink([]) });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 20 }, () => bump(primary).then((o) => order.push((o as { result: number }).result))));
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('rebuilds a reconstructed object empty, then through its <recovery method>', async () => {
    const spec = [{ name: 'sessions', create: () => new Sessions() }];
    const xml = '<state name="sessions" type="reconstruction"><recovery method="reset"/></state>';
    const backup = await runtimeFor(xml, spec, { role: 'backup' });
    const primary = await runtimeFor(xml, spec, { role: 'primary', link: new InMemoryLink([backup.replica]) });
    await primary.execute({ method: 'start', touches: ['sessions'] }, () => primary.object<Sessions>('sessions').start('s1'));
    expect(primary.object<Sessions>('sessions').open.size).toBe(1);
    await backup.promote();
    const rebuilt = backup.object<Sessions>('sessions');
    expect([rebuilt.open.size, rebuilt.rebuilt]).toEqual([0, true]);
  });

  it('remembers replies for a bounded window of requests', async () => {
    const primary = await runtimeFor('<state name="counter" type="replication"/>', counterSpec, { role: 'primary', replyRetention: 3 });
    for (let i = 1; i <= 5; i++) await bump(primary, `r${i}`);
    expect(await bump(primary, 'r5')).toEqual({ kind: 'ok', result: 5 }); // within the window: not executed again
    expect(await bump(primary, 'r1')).toEqual({ kind: 'ok', result: 6 }); // past it: a new request
  });

  it("undoes a transaction with the mapping's own checkpoint and restore, and resends the object to the backups", async () => {
    const spec = [{ name: 'notes', create: () => new Notes() }];
    const xml = '<state name="notes" type="replication" update="state"><checkpoint method="save"/><restore method="load"/></state>';
    const backup = await runtimeFor(xml, spec, { role: 'backup' });
    const primary = await runtimeFor(xml, spec, { role: 'primary', link: new InMemoryLink([backup.replica]) });
    backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
    const add = (text: string, tx?: string) => primary.execute({ method: 'add', touches: ['notes'], tx }, () => primary.object<Notes>('notes').add(text));
    await add('kept');
    const tx = primary.beginTransaction();
    await add('dropped', tx);
    await primary.abortTransaction(tx);
    expect(primary.object<Notes>('notes').items).toEqual(['kept']);
    await add('after');
    expect(backup.object<Notes>('notes').items).toEqual(['kept', 'after']);
  });

  it('lets a backup join a primary under load and then follow it exactly', async () => {
    const link = new InMemoryLink([]);
    const primary = await runtimeFor('<state name="counter" type="replication" update="state"/>', counterSpec, { role: 'primary', link });
    const joiner = await runtimeFor('<state name="counter" type="replication" update="state"/>', counterSpec, { role: 'backup' });
    const load = Array.from({ length: 30 }, (_, i) => bump(primary, `l${i}`));
    await primary.join((snapshot) => {
      joiner.replica.loadSnapshot(JSON.parse(JSON.stringify(wholeSnapshot(snapshot))));
      link.backups.push(joiner.replica);
    });
    await Promise.all(load);
    await Promise.all(Array.from({ length: 10 }, () => bump(primary)));
    expect(joiner.object<Counter>('counter').getValue()).toBe(40);
    await joiner.promote();
    expect(await bump(joiner, 'l3')).toEqual(await bump(primary, 'l3'));
  });

  it('makes a backup refuse the batches of a stale primary', async () => {
    const backup = await runtimeFor('<state name="counter" type="replication"/>', counterSpec, { role: 'backup' });
    backup.replica.receive({ epoch: 2, records: [] });
    expect(() => backup.replica.receive({ epoch: 1, records: [{ seq: 1, replies: [], updates: [] }] })).toThrow(StaleEpochError);
  });
});

// Database state is what its mapped SQL makes durable, so the run-time keeps memory and the database in
// step or refuses: on SQLite, PostgreSQL and MariaDB, every case here either answers as the original
// class and recovers to exactly what was acknowledged (value types included), or is refused with
// nothing kept (issue 11 items 1, 2 and 11; issue 16's database family).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { harness, shape } from './support.js';

class Accounts {
  balances = new Map<string, number>();
  seq = 0;
  open(id: string, balance: number): void {
    this.balances.set(id, balance);
  }
  /** Checks before it changes anything: a refusal leaves the object as it was. */
  withdraw(id: string, amount: number): void {
    const balance = this.balances.get(id) ?? 0;
    if (balance < amount) throw new Error(`insufficient funds in ${id}`);
    this.balances.set(id, balance - amount);
  }
  /** Changes, then throws: no SQL describes the part that ran. */
  withdrawCarelessly(id: string, amount: number): void {
    this.balances.set(id, (this.balances.get(id) ?? 0) - amount);
    if (this.balances.get(id)! < 0) throw new Error(`overdrawn ${id}`);
  }
  /** Not mapped: it writes through Reflect.set, which no analysis can be sure of. */
  touch(id: string): void {
    Reflect.set(this, 'seq', this.seq + 1);
    void id;
  }
  get nextId(): number {
    return ++this.seq;
  }
  balance(id: string): number | undefined {
    return this.balances.get(id);
  }
}

const accountsXml = `<state name="s" type="database">
  <initialization>CREATE TABLE IF NOT EXISTS accounts (id VARCHAR(64) PRIMARY KEY, balance INTEGER NOT NULL)</initialization>
  <recovery><query>SELECT id, balance FROM accounts</query><apply method="open" args="id, balance"/></recovery>
  <method name="open"><sql>INSERT INTO accounts (id, balance) VALUES (arg[0], arg[1])</sql></method>
  <method name="withdraw"><sql>UPDATE accounts SET balance = balance - arg[1] WHERE id = arg[0]</sql></method>
  <method name="withdrawCarelessly"><sql>UPDATE accounts SET balance = balance - arg[1] WHERE id = arg[0]</sql></method>
</state>`;

class Orders {
  all = new Map<string, { id: string; status: string; total: number }>();
  add(order: { id: string; status: string; total: number }): void {
    this.all.set(order.id, order);
  }
  create(id: string): { id: string; status: string; total: number } {
    const order = { id, status: 'new', total: 0 };
    this.all.set(id, order);
    return order;
  }
  restore(id: string, status: string, total: number): void {
    this.all.set(id, { id, status, total });
  }
}

const ordersXml = `<state name="s" type="database">
  <initialization>CREATE TABLE IF NOT EXISTS orders (id VARCHAR(64) PRIMARY KEY, status VARCHAR(32) NOT NULL, total INTEGER NOT NULL)</initialization>
  <recovery><query>SELECT id, status, total FROM orders</query><apply method="restore" args="id, status, total"/></recovery>
  <method name="add"><sql>INSERT INTO orders (id, status, total) VALUES (arg[0].id, arg[0].status, arg[0].total)</sql></method>
  <method name="create"><sql>INSERT INTO orders (id, status, total) VALUES (arg[0], 'new', 0)</sql></method>
</state>`;

class Typed {
  rows: unknown[][] = [];
  put(id: string, flag: boolean, when: Date, big: bigint, ratio: number, note: string | undefined, data: { tags: string[] }): void {
    this.rows.push([id, flag, when, big, ratio, note, data]);
  }
}

const typedXml = `<state name="s" type="database">
  <initialization>
    <sql dialect="postgres">CREATE TABLE IF NOT EXISTS typed (id VARCHAR(64) PRIMARY KEY, flag BOOLEAN, at_ms TIMESTAMPTZ, big BIGINT, ratio DOUBLE PRECISION, note TEXT, data TEXT)</sql>
    <sql dialect="mysql">CREATE TABLE IF NOT EXISTS typed (id VARCHAR(64) PRIMARY KEY, flag BOOLEAN, at_ms DATETIME(3), big BIGINT, ratio DOUBLE, note TEXT, data TEXT)</sql>
    <sql>CREATE TABLE IF NOT EXISTS typed (id VARCHAR(64) PRIMARY KEY, flag BOOLEAN, at_ms BIGINT, big BIGINT, ratio DOUBLE PRECISION, note TEXT, data TEXT)</sql>
  </initialization>
  <recovery><query>SELECT id, flag, at_ms, big, ratio, note, data FROM typed ORDER BY id</query><apply method="put" args="id, flag, at_ms, big, ratio, note, data"/></recovery>
  <method name="put"><sql>INSERT INTO typed (id, flag, at_ms, big, ratio, note, data) VALUES (arg[0], arg[1], arg[2], arg[3], arg[4], arg[5], arg[6])</sql></method>
</state>`;

class Jobs {
  all = new Map<string, { id: string; name: string }>();
  add(job: { id: string; name: string }): void {
    this.all.set(job.id, job);
  }
  take(id: string): { id: string; name: string } | undefined {
    const job = this.all.get(id);
    this.all.delete(id);
    return job;
  }
  restore(id: string, name: string): void {
    this.all.set(id, { id, name });
  }
}

class Running {
  jobs: { id: string; name: string }[] = [];
}

const jobsXml = `<state name="pending" type="database">
  <initialization>CREATE TABLE IF NOT EXISTS jobs (id VARCHAR(64) PRIMARY KEY, name VARCHAR(64) NOT NULL)</initialization>
  <recovery><query>SELECT id, name FROM jobs</query><apply method="restore" args="id, name"/></recovery>
  <method name="add"><sql>INSERT INTO jobs (id, name) VALUES (arg[0].id, arg[0].name)</sql></method>
  <method name="take"><sql>DELETE FROM jobs WHERE id = arg[0]</sql></method>
</state>
<state name="running" type="replication" update="state"/>`;

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.skipIf(optedOut(dialect))(`database state on ${dialect}`, () => {
    let db: ScratchDatabase;
    beforeEach(async () => {
      db = await openScratchDatabase(dialect);
    });
    afterEach(async () => {
      await db.dispose();
    });

    it('a mapped call that threw before changing anything contributes no SQL (the service caught it)', async () => {
      const h = await harness(accountsXml, () => new Accounts(), [Accounts], { database: db, backups: 0 });
      await h.run((s) => s.open('a', 100));
      const tryWithdraw = (amount: number) =>
        h.run((s) => {
          try {
            s.withdraw('a', amount);
            return true;
          } catch {
            return false;
          }
        });
      expect(await tryWithdraw(500)).toEqual({ kind: 'ok', result: false });
      expect(await tryWithdraw(30)).toEqual({ kind: 'ok', result: true });
      expect(h.raw().balances.get('a')).toBe(70);
      expect((await h.recover()).object<Accounts>('s').balance('a')).toBe(70);
    });

    it('a mapped call that threw after changing the object is refused even when the service catches it', async () => {
      const h = await harness(accountsXml, () => new Accounts(), [Accounts], { database: db, backups: 0 });
      await h.run((s) => s.open('a', 100));
      const out = await h.run((s) => {
        try {
          s.withdrawCarelessly('a', 500);
        } catch {
          return 'caught';
        }
        return 'done';
      });
      expect(out).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3002') });
      expect(h.raw().balances.get('a')).toBe(100);
      expect((await h.recover()).object<Accounts>('s').balance('a')).toBe(100);
    });

    it('writes no mapped method makes are refused: service code, an unmapped method, a getter; nothing is kept', async () => {
      const h = await harness(accountsXml, () => new Accounts(), [Accounts], { database: db, backups: 0 });
      await h.run((s) => s.open('a', 100));
      const attempts = [
        (s: Accounts) => void s.balances.set('a', 5),
        (s: Accounts) => s.touch('a'),
        (s: Accounts) => s.nextId,
        (s: Accounts) => {
          try {
            s.balances.delete('a');
          } catch {
            // swallowing the refusal does not make the request succeed
          }
        },
      ];
      for (const attempt of attempts) {
        const out = await h.run(attempt);
        expect(out).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3001') });
      }
      const recovered = await h.recover();
      expect((recovered.proxies.get('s') as unknown as { rawObject: Accounts }).rawObject.balances).toEqual(new Map([['a', 100]]));
      expect(h.raw().seq).toBe(0);
    });

    it('an object changed after the call that stored it returned is refused; one finished first is stored as it is', async () => {
      const h = await harness(ordersXml, () => new Orders(), [Orders], { database: db, backups: 0 });
      const late = await h.run((s) => {
        const order = { id: 'o1', status: 'draft', total: 10 };
        s.add(order);
        order.status = 'placed';
      });
      expect(late).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3003') });
      const madeInside = await h.run((s) => {
        const order = s.create('o2');
        order.total = 99;
      });
      expect(madeInside).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3001') });
      expect(h.raw().all.size).toBe(0);
      expect(await h.run((s) => s.add({ id: 'o3', status: 'placed', total: 5 }))).toEqual({ kind: 'ok', result: undefined });
      const recovered = await h.recover();
      expect([...(recovered.proxies.get('s') as unknown as { rawObject: Orders }).rawObject.all.values()]).toEqual([{ id: 'o3', status: 'placed', total: 5 }]);
    });

    it('an object moves between database state and replicated state; held by both, it is refused', async () => {
      const objects = [
        { name: 'pending', create: () => new Jobs() },
        { name: 'running', create: () => new Running() },
      ];
      const h = await harness(jobsXml, () => new Jobs(), [Jobs, Running], { database: db, objects });
      const pending = () => h.primary.object<Jobs>('pending');
      const running = () => h.primary.object<Running>('running');
      const run = (body: () => unknown) => h.primary.execute({ method: 'm', touches: ['pending', 'running'] }, body);
      await run(() => {
        pending().add({ id: 'j1', name: 'one' });
        pending().add({ id: 'j2', name: 'two' });
        pending().add({ id: 'j3', name: 'three' });
      });
      expect(await run(() => void running().jobs.push(pending().take('j1')!))).toEqual({ kind: 'ok', result: undefined });
      expect(
        await run(() => {
          running().jobs.push(pending().all.get('j2')!);
          pending().take('j2');
        }),
      ).toEqual({ kind: 'ok', result: undefined });
      const shared = await run(() => void running().jobs.push(pending().all.get('j3')!));
      expect(shared).toMatchObject({ kind: 'refused', message: expect.stringContaining('DUR3004') });
      const backupRunning = (h.backups[0]!.proxies.get('running') as unknown as { rawObject: Running }).rawObject;
      expect(backupRunning.jobs).toEqual([
        { id: 'j1', name: 'one' },
        { id: 'j2', name: 'two' },
      ]);
      const recovered = await h.recover();
      expect([...(recovered.proxies.get('pending') as unknown as { rawObject: Jobs }).rawObject.all.keys()]).toEqual(['j3']);
    });

    it('recovered values have the <apply> parameter types: boolean, Date, bigint, number, undefined, JSON data', async () => {
      const types = [{ kind: 'string' }, { kind: 'boolean' }, { kind: 'date' }, { kind: 'bigint' }, { kind: 'number' }, { kind: 'string', optional: true }, { kind: 'json' }] as const;
      const h = await harness(typedXml, () => new Typed(), [Typed], { database: db, backups: 0, applyTypes: [...types] });
      const when = new Date(1_700_000_000_123);
      await h.run((s) => s.put('r1', true, when, 2n ** 60n + 1n, 0.25, undefined, { tags: ['x'] }));
      await h.run((s) => s.put('r2', false, new Date(0), -5n, -1.5, 'note', { tags: [] }));
      const recovered = (await h.recover()).proxies.get('s') as unknown as { rawObject: Typed };
      expect(shape(recovered.rawObject.rows)).toEqual(shape(h.raw().rows));
    });
  });
}

// A service the project has never seen, written only to the documented contract (README, docs/), in a directory of its own
// with no node_modules: `durable compile` yields builds that import and run, primary and backup, with
// the database mechanism on SQLite and a failover between them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { spawnNode } from '../../proxies/serving/spawn.js';
import { durable } from '../support/cli.js';

const SERVICE = `import { state } from 'durability-compiler';

export interface Machine { id: string; cpu: number }

export class MachineQueue {
  private machines: Machine[] = [];
  advertise(machine: Machine): void { this.machines.push(machine); }
  take(cpu: number): Machine | undefined {
    const i = this.machines.findIndex((m) => m.cpu >= cpu);
    return i < 0 ? undefined : this.machines.splice(i, 1)[0];
  }
}

export class AccountSet {
  private bills = new Map<string, number>();
  insertBill(clientId: string, balance: number): void { this.bills.set(clientId, balance); }
  setBill(clientId: string, balance: number): void { this.bills.set(clientId, balance); }
  getBill(clientId: string): number | undefined { return this.bills.get(clientId); }
}

export class MatchmakerService {
  @state machines = new MachineQueue();
  @state accounts = new AccountSet();

  machineAdvertise(machine: Machine): void { this.machines.advertise(machine); }

  jobSubmit(clientId: string, cpu: number): Machine {
    const machine = this.machines.take(cpu);
    if (!machine) throw new Error('no machine available');
    const balance = this.accounts.getBill(clientId);
    if (balance === undefined) this.accounts.insertBill(clientId, machine.cpu);
    else this.accounts.setBill(clientId, balance + machine.cpu);
    return machine;
  }

  bill(clientId: string): number { return this.accounts.getBill(clientId) ?? 0; }
}
`;

const MAPPING = `<durability service="MatchmakerService">
  <state name="machines" type="replication" update="repeat"/>
  <state name="accounts" type="database">
    <initialization>CREATE TABLE IF NOT EXISTS bills (client_id VARCHAR(255) PRIMARY KEY, balance INTEGER NOT NULL)</initialization>
    <recovery>
      <query>SELECT client_id, balance FROM bills</query>
      <apply method="insertBill" args="client_id, balance"/>
    </recovery>
    <method name="insertBill"><sql>INSERT INTO bills (client_id, balance) VALUES (arg[0], arg[1])</sql></method>
    <method name="setBill"><sql>UPDATE bills SET balance = arg[1] WHERE client_id = arg[0]</sql></method>
  </state>
</durability>
`;

it('compiles and runs a service written elsewhere, to the contract alone', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-foreign-'));
  writeFileSync(path.join(dir, 'service.ts'), SERVICE);
  writeFileSync(path.join(dir, 'durability.xml'), MAPPING);
  expect(await durable(['check', 'service.ts', '--mapping', 'durability.xml'], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
  const compiled = await durable(['compile', 'service.ts', '--mapping', 'durability.xml', '--out', 'build'], dir);
  expect(compiled.stderr).toBe('');
  expect(compiled.code).toBe(0);

  const load = (role: string) => import(pathToFileURL(path.join(dir, 'build', role, 'service.mjs')).href);
  const [primaryBuild, backupBuild] = await Promise.all([load('primary'), load('backup')]);
  const runtime = await import('durability-compiler');
  const database = await runtime.DatabaseStore.open(`sqlite:${path.join(dir, 'state.db')}`);
  const backup = await backupBuild.MatchmakerService.start({ database });
  const primary = await primaryBuild.MatchmakerService.start({ database, link: new runtime.InMemoryLink([backup.runtime.replica]) });
  backup.runtime.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.runtime.snapshot())));

  await primary.machineAdvertise({ id: 'm1', cpu: 4 });
  await primary.machineAdvertise({ id: 'm2', cpu: 8 });
  expect(await primary.with({ requestId: 'j1' }).jobSubmit('alice', 6)).toEqual({ id: 'm2', cpu: 8 });
  await expect(primary.jobSubmit('bob', 16)).rejects.toThrow('no machine available');

  await backup.promote();
  expect(await backup.bill('alice')).toBe(8);
  expect(await backup.with({ requestId: 'j1' }).jobSubmit('alice', 6)).toEqual({ id: 'm2', cpu: 8 }); // answered once
  expect(await backup.jobSubmit('alice', 1)).toEqual({ id: 'm1', cpu: 4 });
  expect(await backup.bill('alice')).toBe(12);
  await database.close();
});

it("serves from a CommonJS project (npm init's default) as from any other", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-commonjs-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-shop', version: '1.0.0', type: 'commonjs' }));
  writeFileSync(path.join(dir, 'service.ts'), SERVICE);
  writeFileSync(path.join(dir, 'durability.xml'), MAPPING);
  const compiled = await durable(['compile', 'service.ts', '--mapping', 'durability.xml', '--out', 'build'], dir);
  expect(compiled.code).toBe(0);
  const node = await spawnNode(path.join(dir, 'build'), 'primary', ['--db', `sqlite:${path.join(dir, 'state.db')}`], { DURABLE_CLUSTER_KEY: 'commonjs-project-cluster-key-0123456789' });
  try {
    const call = (method: string, args: unknown[]) => fetch(`${node.http}/rpc/${method}`, { method: 'POST', body: JSON.stringify({ args }) }).then((r) => r.json());
    expect(await call('machineAdvertise', [{ id: 'm1', cpu: 4 }])).toEqual({ result: null });
    expect(await call('jobSubmit', ['alice', 2])).toEqual({ result: { id: 'm1', cpu: 4 } });
  } finally {
    await node.stop('SIGKILL');
  }
});

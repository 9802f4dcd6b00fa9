// `durable check --db URL` prepares the mapping's SQL on that database, for real: what it refuses is an
// error at the statement's line, and nothing of the check stays behind (PostgreSQL: rolled back;
// MariaDB: a scratch database dropped). Without --db, an in-memory SQLite does it (warnings).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import { MYSQL_URL, optedOut } from '../support/databases.js';
import { durable } from '../support/cli.js';

const POSTGRES_URL = process.env.DURABLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const SERVICE = `import { state } from 'durability-compiler';
export class Stock {
  private counts = new Map<string, number>();
  set(product: string, count: number): void { this.counts.set(product, count); }
  count(product: string): number { return this.counts.get(product) ?? 0; }
}
export class Shop {
  @state stock = new Stock();
  restock(product: string, n: number): number { this.stock.set(product, this.stock.count(product) + n); return this.stock.count(product); }
}
`;

/** A mapping whose one mistake is `cnt` for `count`, on line 9; the table name is unique to the run. */
function mapping(table: string, typo = true): string {
  return `<durability service="Shop">
  <state name="stock" type="database">
    <initialization>CREATE TABLE ${table} (product VARCHAR(100) PRIMARY KEY, count INTEGER NOT NULL)</initialization>
    <recovery>
      <query>SELECT product, count FROM ${table}</query>
      <apply method="set" args="product, count"/>
    </recovery>
    <method name="set">
      <sql>DELETE FROM ${table} WHERE product = arg[0]</sql><sql>INSERT INTO ${table} (product, ${typo ? 'cnt' : 'count'}) VALUES (arg[0], arg[1])</sql>
    </method>
  </state>
</durability>
`;
}

function project(table: string, typo = true): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-check-db-'));
  writeFileSync(path.join(dir, 'service.ts'), SERVICE);
  writeFileSync(path.join(dir, 'durability.xml'), mapping(table, typo));
  return dir;
}

const table = () => `check_db_${Math.random().toString(36).slice(2, 10)}`;

it('without --db, SQLite in memory finds the misspelt column, as a warning', async () => {
  const run = await durable(['check', 'service.ts', '--mapping', 'durability.xml'], project(table()));
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^durability\.xml:9:\d+ - warning DUR2023: This statement is refused by SQLite: .*cnt/m);
});

describe.each([
  ['postgres', POSTGRES_URL, 'pg'],
  ['mysql', MYSQL_URL, 'mysql2'],
] as const)('durable check --db on %s', (dialect, url, client) => {
  it.skipIf(optedOut(dialect))('reports the misspelt column as an error at its line, and leaves nothing behind', async () => {
    const name = table();
    const run = await durable(['check', 'service.ts', '--mapping', 'durability.xml', '--db', url], project(name));
    expect(run.stdout).toMatch(new RegExp(`^durability\\.xml:9:\\d+ - error DUR2024: This statement is refused by the database at --db \\(${dialect}\\): .*cnt`, 'm'));
    expect(run.stdout).toMatch(/Found 1 error\./);
    expect(run.code).toBe(1);
    const knex = knexFactory({ client, connection: url });
    try {
      const tables =
        dialect === 'postgres'
          ? await knex.raw('SELECT table_name FROM information_schema.tables WHERE table_name = ?', [name]).then((r) => r.rows)
          : await knex.raw('SELECT table_name FROM information_schema.tables WHERE table_name = ?', [name]).then((r) => r[0]);
      expect(tables).toEqual([]);
      if (dialect === 'mysql') expect((await knex.raw("SHOW DATABASES LIKE 'durable\\_check\\_%'"))[0]).toEqual([]);
    } finally {
      await knex.destroy();
    }
  });

  it.skipIf(optedOut(dialect))('checks a correct mapping silently', async () => {
    expect(await durable(['check', 'service.ts', '--mapping', 'durability.xml', '--db', url], project(table(), false))).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

it('says so when --db cannot be reached, exit 1', async () => {
  const run = await durable(['check', 'service.ts', '--mapping', 'durability.xml', '--db', 'postgres://nobody:secret@127.0.0.1:1/none'], project(table()));
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^durable: cannot check against --db: /);
  expect(run.stderr).not.toContain('secret');
});

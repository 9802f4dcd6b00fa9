// `durable check --db URL` prepares the mapping's SQL on that database, for real: what it refuses is an
// error at the statement's line, and nothing of the check stays behind (PostgreSQL: rolled back;
// MariaDB: a scratch database dropped). Without --db, an in-memory SQLite does it (warnings).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
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

/** A mapping that is right but that a naive check refuses: what each database can and cannot prepare. */
function unusual(dialect: 'postgres' | 'mysql', table: string, migrated: string): string {
  const pg = dialect === 'postgres';
  return `<durability service="Shop">
  <state name="stock" type="database">
    <initialization>CREATE TABLE ${table} (product VARCHAR(100) PRIMARY KEY, count INTEGER NOT NULL, at TIMESTAMP)${pg ? `; CREATE INDEX CONCURRENTLY ${table}_at ON ${table} (at)` : ''}</initialization>
    <recovery>
      <query>SELECT product, count FROM ${table}</query>
      <apply method="set" args="product, count"/>
    </recovery>
    <method name="set">
      <sql>DELETE FROM ${table} WHERE product = arg[0]</sql>
      <sql>INSERT INTO ${table} (product, count) VALUES (arg[0], arg[1])</sql>
      ${pg ? `<sql>NOTIFY ${table}</sql><sql>UPDATE ${table} SET at = now() - INTERVAL arg[0] WHERE false</sql>` : ''}
    </method>
  </state>
  <state name="other" type="database">
    <recovery>
      <query>SELECT product, count FROM ${migrated}</query>
      <apply method="set" args="product, count"/>
    </recovery>
    <method name="set"><sql>INSERT INTO ${migrated} (product, count) VALUES (arg[0], arg[1])</sql></method>
  </state>
</durability>
`;
}

describe.each([
  ['postgres', POSTGRES_URL],
  ['mysql', MYSQL_URL],
] as const)('durable check --db on %s, SQL a naive check would refuse', (dialect, url) => {
  it.skipIf(optedOut(dialect))(
    'passes statements it cannot prepare (NOTIFY, INTERVAL arg[N], CREATE INDEX CONCURRENTLY) and tables a migration made where it checks in a scratch database',
    async () => {
      const dir = project(table(), false);
      writeFileSync(
        path.join(dir, 'service.ts'),
        SERVICE.replace('export class Shop {\n  @state stock = new Stock();', 'export class Shop {\n  @state stock = new Stock();\n  @state other = new Stock();'),
      );
      const migrated = table();
      const knex = knexFactory({ client: dialect === 'postgres' ? 'pg' : 'mysql2', connection: url });
      await knex.raw(`CREATE TABLE ${migrated} (product VARCHAR(100) PRIMARY KEY, count INTEGER NOT NULL)`);
      try {
        writeFileSync(path.join(dir, 'durability.xml'), unusual(dialect, table(), migrated));
        expect(await durable(['check', 'service.ts', '--mapping', 'durability.xml', '--db', url], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
      } finally {
        await knex.raw(`DROP TABLE ${migrated}`);
        await knex.destroy();
      }
    },
  );
});

it('--db sqlite:FILE checks against the file, tables a migration made included, and leaves it as it was', async () => {
  const dir = project(table(), false);
  const migrated = table();
  const file = path.join(dir, 'state.db');
  const db = new Database(file);
  db.exec(`CREATE TABLE ${migrated} (product TEXT PRIMARY KEY, count INTEGER NOT NULL)`);
  db.close();
  const mapping = `<durability service="Shop"><state name="stock" type="database">
    <recovery><query>SELECT product, count FROM ${migrated}</query><apply method="set" args="product, count"/></recovery>
    <method name="set"><sql>INSERT INTO ${migrated} (product, cnt) VALUES (arg[0], arg[1])</sql></method>
  </state></durability>`;
  writeFileSync(path.join(dir, 'durability.xml'), mapping);
  const run = await durable(['check', 'service.ts', '--mapping', 'durability.xml', '--db', `sqlite:${file}`], dir);
  expect(run.stdout).toMatch(/^durability\.xml:3:\d+ - error DUR2024: .*no column named cnt|^durability\.xml:3:\d+ - error DUR2024: .*cnt/m);
  const after = new Database(file);
  expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()).toEqual([migrated]);
  after.close();
});

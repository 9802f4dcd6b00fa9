// The three databases the database proxy supports, for real: an SQLite file, and the PostgreSQL and
// MariaDB servers every machine here runs. Each test gets a scratch namespace (a file, a schema, a
// database) so runs never see each other's tables. Under CI=true an unreachable server fails the test;
// elsewhere a developer may opt out of one explicitly with DURABLE_SKIP_DATABASES=postgres,mysql.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import type { Dialect } from '../../mappings/index.js';
import { knexConfig } from '../../proxies/database/store.js';

const POSTGRES_URL = process.env.DURABLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.DURABLE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface ScratchDatabase {
  dialect: Dialect;
  knex: Knex;
  /** Rows of a raw query, whatever the driver's result shape. */
  rows(sql: string, bindings?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  dispose(): Promise<void>;
}

export const DIALECTS_UNDER_TEST: Dialect[] = ['sqlite', 'postgres', 'mysql'];

/** Why a dialect is not tested in this run, or undefined when it must be. Never skipped under CI. */
export function optedOut(dialect: Dialect): string | undefined {
  if (process.env.CI === 'true') return undefined;
  const skipped = (process.env.DURABLE_SKIP_DATABASES ?? '').split(',').map((s) => s.trim());
  return skipped.includes(dialect) ? `DURABLE_SKIP_DATABASES names ${dialect}` : undefined;
}

export async function openScratchDatabase(dialect: Dialect): Promise<ScratchDatabase> {
  const name = `durable_test_${randomBytes(5).toString('hex')}`;
  switch (dialect) {
    case 'sqlite': {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-sqlite-'));
      const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dir, 'test.db') }, useNullAsDefault: true });
      return scratch(dialect, knex, async () => rmSync(dir, { recursive: true, force: true }));
    }
    case 'postgres': {
      const admin = await reachable(dialect, POSTGRES_URL, 'pg');
      await admin.raw(`CREATE SCHEMA ${name}`);
      await admin.destroy();
      const knex = knexFactory({ ...knexConfig(POSTGRES_URL).config, searchPath: [name] });
      return scratch(dialect, knex, async () => {
        const cleanup = knexFactory({ client: 'pg', connection: POSTGRES_URL });
        await cleanup.raw(`DROP SCHEMA ${name} CASCADE`);
        await cleanup.destroy();
      });
    }
    case 'mysql': {
      const admin = await reachable(dialect, MYSQL_URL, 'mysql2');
      await admin.raw(`CREATE DATABASE ${name}`);
      await admin.destroy();
      const url = new URL(MYSQL_URL);
      url.pathname = `/${name}`;
      const knex = knexFactory(knexConfig(url.toString()).config);
      return scratch(dialect, knex, async () => {
        const cleanup = knexFactory({ client: 'mysql2', connection: MYSQL_URL });
        await cleanup.raw(`DROP DATABASE ${name}`);
        await cleanup.destroy();
      });
    }
  }
}

/**
 * A fresh, empty database that another process opens by URL (a PostgreSQL or MariaDB database, an SQLite
 * file), e.g. as `--db` or `--coordinator`; `dispose` drops it.
 */
export async function scratchDatabaseUrl(dialect: Dialect): Promise<{ url: string; dispose(): Promise<void> }> {
  const name = `durable_test_${randomBytes(5).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'durable-sqlite-'));
    return { url: `sqlite:${path.join(dir, 'test.db')}`, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const [server, client] = dialect === 'postgres' ? [POSTGRES_URL, 'pg'] : [MYSQL_URL, 'mysql2'];
  const admin = await reachable(dialect, server, client);
  await admin.raw(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dispose: async () => {
      const drop = knexFactory({ client, connection: server });
      await drop.raw(dialect === 'postgres' ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`);
      await drop.destroy();
    },
  };
}

async function reachable(dialect: Dialect, url: string, client: string): Promise<Knex> {
  const knex = knexFactory({ client, connection: url, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5_000 });
  try {
    await knex.raw('SELECT 1');
    return knex;
  } catch (error) {
    await knex.destroy();
    throw new Error(
      `The ${dialect} server at ${url} is unreachable (${(error as Error).message}). Database tests run against real servers: start it, ` +
        `point DURABLE_TEST_${dialect.toUpperCase()}_URL at one, or (outside CI only) set DURABLE_SKIP_DATABASES=${dialect}.`,
    );
  }
}

function scratch(dialect: Dialect, knex: Knex, drop: () => Promise<void>): ScratchDatabase {
  return {
    dialect,
    knex,
    async rows(sql, bindings = []) {
      const result = await knex.raw(sql, bindings as Knex.RawBinding[]);
      if (dialect === 'postgres') return result.rows;
      if (dialect === 'mysql') return result[0];
      return result;
    },
    async dispose() {
      await knex.destroy();
      await drop();
    },
  };
}

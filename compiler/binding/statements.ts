// The mapping's SQL put before a database at check time, so that a missing table or column or a typo is
// found at its line in the mapping rather than by the first request. Each database state object's
// <initialization> runs, then every <method> statement and the recovery <query> is prepared, never run.
// By default on an in-memory SQLite database (DUR2023, a warning: a statement written for PostgreSQL or
// MariaDB alone may not parse there), except a dialect="sqlite" statement, which SQLite must take
// (DUR2024). With `--db URL`, on that database: PostgreSQL and an SQLite file in a transaction rolled
// back, MariaDB (whose DDL commits by itself) in a scratch database dropped afterwards; whatever it
// refuses is an error (DUR2024). docs/MAPPING.md says what cannot be checked this way.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type Diagnostic, type DurabilityMapping, type Dialect, diagnostic, literalParts, type SqlStatement, type SqlStep } from '../../mappings/index.js';
import type { DatabaseStateMapping } from '../../mappings/model.js';
import { dialectOfUrl, sqliteLocation } from '../../proxies/database/dialect.js';

/** A database that takes statements for checking: `run` executes one, `prepare` only prepares it. */
interface Checker {
  dialect: Dialect;
  /** An empty database of our own (in-memory SQLite, a MariaDB scratch database): tables made elsewhere are not there. */
  scratch: boolean;
  /** The error names a table that is not there. */
  missingTable(error: unknown): boolean;
  /** The error says nothing about the statement (it cannot be checked this way). */
  inconclusive(error: unknown): boolean;
  run(sql: string): Promise<void>;
  prepare(statement: SqlStatement): Promise<void>;
  close(): Promise<void>;
}

type Role = 'initialization' | 'statement' | 'query';

export async function prepareStatements(mapping: DurabilityMapping, url?: string): Promise<Diagnostic[]> {
  const states = mapping.states.filter((s): s is DatabaseStateMapping => s.mechanism === 'database');
  if (states.length === 0) return [];
  const checker = url ? await serverChecker(url) : sqliteChecker();
  const found: Diagnostic[] = [];
  try {
    const attempt = async (step: SqlStep, role: Role, makesTables = true) => {
      const explicit = step.variants[checker.dialect];
      const statements = explicit ?? step.variants.default ?? [];
      for (const statement of statements) {
        try {
          if (role === 'initialization') await checker.run(literalParts(statement).join(''));
          else await checker.prepare(statement);
        } catch (error) {
          if (checker.inconclusive(error)) continue;
          // Tables no <initialization> makes are made elsewhere (a migration): an empty database cannot tell.
          if (checker.scratch && !makesTables && checker.missingTable(error)) continue;
          const certain = url !== undefined || explicit !== undefined;
          found.push(refusal(mapping, statement, role, (error as Error).message, checker.dialect, certain, url));
          return false;
        }
      }
      return true;
    };
    const ready: DatabaseStateMapping[] = [];
    for (const state of states) {
      let ok = true;
      for (const step of state.initialization) ok = (await attempt(step, 'initialization')) && ok;
      // Where the tables could not be made, every statement would say so again: one finding is enough.
      if (ok) ready.push(state);
    }
    for (const state of ready) {
      const makesTables = state.initialization.length > 0;
      for (const method of state.methods) for (const step of method.steps) await attempt(step, 'statement', makesTables);
      for (const step of state.recovery?.query ?? []) await attempt(step, 'query', makesTables);
    }
  } finally {
    await checker.close();
  }
  return found;
}

function refusal(mapping: DurabilityMapping, statement: SqlStatement, role: Role, message: string, dialect: Dialect, certain: boolean, url?: string): Diagnostic {
  const what = role === 'initialization' ? 'This <initialization> statement' : role === 'query' ? 'This recovery <query>' : 'This statement';
  const where = url ? `the database at --db (${dialect})` : 'SQLite';
  const text = `${what} is refused by ${where}: ${message.replace(/\s+/g, ' ').trim()}.`;
  if (certain)
    return diagnostic('DUR2024', `${text} Fix the statement (a misspelt table or column?), or create what it needs in <initialization>.`, { file: mapping.file, position: statement.position });
  return diagnostic(
    'DUR2023',
    `${text} If it is written for PostgreSQL or MariaDB alone, add a <sql dialect="sqlite"> variant where SQLite needs one, or check against your database with durable check --db URL.`,
    { file: mapping.file, position: statement.position },
  );
}

const sqliteMissingTable = (error: unknown) => /^no such table/.test((error as Error).message);

/** An in-memory SQLite, or the file at `file` with everything rolled back at the end. */
function sqliteChecker(file?: string): Checker {
  const db = new Database(file ?? ':memory:', { fileMustExist: true });
  if (file) db.exec('BEGIN');
  return {
    dialect: 'sqlite',
    scratch: !file,
    missingTable: sqliteMissingTable,
    inconclusive: () => false,
    run: async (sql) => void db.exec(sql),
    prepare: async (statement) => void db.prepare(literalParts(statement).join('?')),
    close: async () => {
      if (file) db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** PostgreSQL prepares only these; any other statement (CALL, DO, SET, NOTIFY) is not checked. */
const PREPARABLE = /^\s*(\(\s*)*(select|insert|update|delete|values|with|merge|table)\b/i;

function dialectOf(url: string): Dialect {
  const dialect = dialectOfUrl(url);
  if (dialect) return dialect;
  throw new Error(`--db '${url.replace(/\/\/[^@/]*@/, '//…@')}' is not a database URL: write sqlite:PATH, postgres://… or mysql://….`);
}

async function serverChecker(url: string): Promise<Checker> {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') {
    const { file } = sqliteLocation(url);
    return sqliteChecker(existsSync(file) ? file : undefined);
  }
  if (dialect === 'postgres') {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('BEGIN');
    let n = 0;
    // Each statement behind a savepoint: a refused one must not abort the ones after it.
    const guarded = async (sql: string) => {
      await client.query('SAVEPOINT durable_check');
      try {
        await client.query(sql);
        await client.query('RELEASE SAVEPOINT durable_check');
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT durable_check');
        // A parameter whose type only the bound value decides (`SELECT arg[0]`) is not a mistake.
        if ((error as { code?: string }).code !== '42P18') throw error;
      }
    };
    return {
      dialect,
      scratch: false,
      missingTable: (error) => (error as { code?: string }).code === '42P01',
      // Cannot run in a transaction (CREATE INDEX CONCURRENTLY); a syntax error at a parameter the user
      // wrote as arg[N] where only a literal may stand (INTERVAL arg[0]: the run-time writes a literal there).
      inconclusive: (error) => {
        const { code, message } = error as { code?: string; message: string };
        return code === '25001' || (code === '42601' && /at or near "\$\d+"/.test(message));
      },
      run: guarded,
      prepare: async (statement) => {
        const parts = literalParts(statement);
        if (!PREPARABLE.test(parts[0]!)) return;
        const name = `durable_check_${++n}`;
        await guarded(`PREPARE ${name} AS ${parts.reduce((text, part, i) => `${text}$${i}${part}`)}`);
      },
      close: async () => {
        await client.query('ROLLBACK').catch(() => undefined);
        await client.end();
      },
    };
  }
  // MariaDB / MySQL: DDL commits by itself, so the tables go in a scratch database dropped afterwards.
  const mysql = (await import('mysql2/promise')).default;
  const scratch = `durable_check_${randomBytes(6).toString('hex')}`;
  const connection = await mysql.createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), multipleStatements: false });
  try {
    await connection.query(`CREATE DATABASE \`${scratch}\``);
  } catch (error) {
    await connection.end();
    throw new Error(`durable check --db needs to create a scratch database on MariaDB/MySQL to run the <initialization> statements in: ${(error as Error).message}`);
  }
  await connection.query(`USE \`${scratch}\``);
  return {
    dialect,
    scratch: true,
    missingTable: (error) => (error as { errno?: number }).errno === 1146,
    inconclusive: () => false,
    run: async (sql) => void (await connection.query(sql)),
    prepare: async (statement) => {
      const prepared = await connection.prepare(literalParts(statement).join('?'));
      prepared.close();
    },
    close: async () => {
      await connection.query(`DROP DATABASE \`${scratch}\``).catch(() => undefined);
      await connection.end();
    },
  };
}

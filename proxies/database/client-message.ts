// What a client is told when the database refuses a request's statement: which rule it broke (the
// constraint, the table, the column, the SQLSTATE), never the statement's text or the values it bound
// (docs/SECURITY.md). PostgreSQL's and MariaDB's own messages quote values as given, unescaped ("Duplicate
// entry 'O'Brien…' for key …", 'invalid input syntax for type integer: "12"a"'), so no reading of the
// message can cut them out reliably: for those two the answer is built from the error's structured
// fields and a fixed phrase per error code alone. SQLite's messages name only columns and constraints.
// The node's log keeps the whole message.

/** PostgreSQL SQLSTATEs, and what they mean in words. */
const POSTGRES: Record<string, string> = {
  '23505': 'a duplicate value for a unique constraint',
  '23503': 'a foreign key violation',
  '23502': 'a NULL where the column admits none',
  '23514': 'a check constraint violation',
  '23P01': 'an exclusion constraint violation',
  '22P02': 'a value of the wrong type for its column',
  '22001': 'a value too long for its column',
  '22003': 'a number out of its column’s range',
  '22007': 'a date or time in the wrong format',
  '22008': 'a date or time out of range',
  '22012': 'a division by zero',
  '22021': 'a character its encoding cannot hold',
  '22P05': 'a character its encoding cannot hold',
  '42703': 'a column that does not exist',
  '42P01': 'a table that does not exist',
  '42601': 'a syntax error',
  '42501': 'a statement its database user may not run',
};

/** MariaDB/MySQL error numbers, and what they mean in words. */
const MYSQL: Record<number, string> = {
  1062: 'a duplicate value for a unique key',
  1451: 'a foreign key violation (a row others refer to)',
  1452: 'a foreign key violation (no row to refer to)',
  1048: 'a NULL where the column admits none',
  3819: 'a check constraint violation',
  4025: 'a check constraint violation',
  1264: 'a number out of its column’s range',
  1265: 'a value its column truncates',
  1366: 'a value of the wrong type for its column',
  1406: 'a value too long for its column',
  1292: 'a date, time or number in the wrong format',
  1054: 'a column that does not exist',
  1146: 'a table that does not exist',
  1064: 'a syntax error',
};

/** Names MariaDB's messages end with, after any quoted value: the key, column or constraint. */
const MYSQL_NAME_AT_END = /(?:for key|for column|CONSTRAINT) [`']([^`']{1,128})[`'](?: failed for [`'][^`']*[`']\.[`'][^`']*[`'])?(?: at row \d+)?\.?$/;

export function refusalForClients(error: unknown): string {
  const e = (error ?? {}) as { message?: unknown; code?: unknown; sqlState?: unknown; errno?: unknown; constraint?: unknown; table?: unknown; column?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  const state = typeof e.sqlState === 'string' ? e.sqlState : typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  const name = (label: string, value: unknown) => (typeof value === 'string' && /^[\w$.]{1,128}$/.test(value) ? `${label} ${value}` : '');
  if (typeof e.errno === 'number' && typeof e.sqlState === 'string') {
    // MariaDB/MySQL: the name at the end of the message is the server's (values come before it).
    const named = MYSQL_NAME_AT_END.exec(message)?.[1];
    const what = MYSQL[e.errno] ?? 'the database refused the statement';
    return `${what} (${[named && /^[\w$.]+$/.test(named) ? named : '', `error ${e.errno}`, `SQLSTATE ${state}`].filter(Boolean).join(', ')})`;
  }
  if (state && /^[0-9A-Z]{5}$/.test(state)) {
    // PostgreSQL: pg gives the constraint, table and column as fields of their own.
    const what = POSTGRES[state] ?? 'the database refused the statement';
    return `${what} (${[name('constraint', e.constraint), name('table', e.table), name('column', e.column), `SQLSTATE ${state}`].filter(Boolean).join(', ')})`;
  }
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    // SQLite: "UNIQUE constraint failed: t.c", "CHECK constraint failed: name", "datatype mismatch". knex
    // puts the statement, values written in, before " - ".
    const own = message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message;
    return /^[\w .:,>=<!()'"-]{1,200}$/.test(own) && !/'[^']*'/.test(own) ? `${own} (${e.code})` : `the database refused the statement (${e.code})`;
  }
  return 'the database refused the statement';
}

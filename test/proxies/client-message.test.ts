// A database's refusal, as a client hears it: which rule the statement broke, never the values it bound
// nor the statement (issue 15). Real errors from the three databases, through knex (which writes the
// statement with its values in front of the driver's message) and from the drivers' own messages.
import { afterEach, describe, expect, it } from 'vitest';
import { refusalForClients } from '../../proxies/database/client-message.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

// Quotes inside values: the drivers echo them unescaped.
const SECRET_EMAIL = `o'brien"secret.alice@example.com`;
const SECRET_NUMBER = -987654;
const SECRET_TEXT = `12a'"sec' for key 'PRIMARY`;

async function refused(sql: string, bindings: unknown[]): Promise<{ error: unknown; message: string }> {
  try {
    await db!.knex.raw(sql, bindings as never[]);
  } catch (error) {
    return { error, message: refusalForClients(error) };
  }
  throw new Error(`the database took: ${sql}`);
}

describe.each(DIALECTS_UNDER_TEST)('what a client hears of a refusal on %s', (dialect) => {
  it.skipIf(optedOut(dialect))('names the rule, not the values: a duplicate key, a check, a value of the wrong type', async () => {
    db = await openScratchDatabase(dialect);
    await db.knex.raw(
      'CREATE TABLE accounts (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL, balance INTEGER NOT NULL, CONSTRAINT balance_not_negative CHECK (balance >= 0), CONSTRAINT one_email UNIQUE (email))',
    );
    await db.knex.raw('INSERT INTO accounts (id, email, balance) VALUES (1, ?, 5)', [SECRET_EMAIL]);

    const duplicate = await refused('INSERT INTO accounts (id, email, balance) VALUES (?, ?, ?)', [2, SECRET_EMAIL, 5]);
    const check = await refused('INSERT INTO accounts (id, email, balance) VALUES (?, ?, ?)', [3, 'bob.the.builder@example.com', SECRET_NUMBER]);
    const cases = [duplicate, check];
    if (dialect !== 'sqlite') cases.push(await refused('INSERT INTO accounts (id, email, balance) VALUES (?, ?, ?)', [4, 'carol@example.com', SECRET_TEXT]));

    for (const { error, message } of cases) {
      expect(String((error as Error).message)).not.toBe(message); // there was something to take out, or a code to add
      for (const secret of ['secret', 'brien', String(SECRET_NUMBER), 'sec', 'bob.the.builder', 'INSERT INTO', 'VALUES', '12a']) expect(message, message).not.toContain(secret);
    }
    expect(duplicate.message).toMatch(dialect === 'sqlite' ? /accounts\.email/ : /one_email/);
    expect(check.message).toMatch(/balance_not_negative|check constraint/);
    // A value that imitates the end of the server's message does not name the key.
    const imitation = `x' for key 'SNEAKY`;
    await db.knex.raw('INSERT INTO accounts (id, email, balance) VALUES (5, ?, 5)', [imitation]);
    const imitated = await refused('INSERT INTO accounts (id, email, balance) VALUES (?, ?, ?)', [6, imitation, 5]);
    expect(imitated.message).not.toContain('SNEAKY');
  });
});

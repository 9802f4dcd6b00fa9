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

const SECRET_EMAIL = 'secret.alice@example.com';
const SECRET_NUMBER = -987654;
const SECRET_TEXT = '12a-secret';

async function refused(sql: string, bindings: unknown[]): Promise<{ error: unknown; message: string }> {
  try {
    await db!.knex.raw(sql, bindings as never[]);
  } catch (error) {
    return { error, message: refusalForClients(error, bindings) };
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
      for (const secret of [SECRET_EMAIL, String(SECRET_NUMBER), SECRET_TEXT, 'bob.the.builder', 'INSERT INTO', 'VALUES']) expect(message, message).not.toContain(secret);
    }
    expect(duplicate.message).toMatch(dialect === 'postgres' ? /one_email/ : dialect === 'mysql' ? /one_email|email/ : /accounts\.email/);
    expect(check.message).toMatch(/balance/);
  });
});

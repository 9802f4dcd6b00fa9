// Recovery reads the rows of a database state as the database delivers them, in batches with a turn of
// the event loop between (DatabaseStore.eachRows), on SQLite, PostgreSQL and MariaDB for real: every row
// once, in the query's order, 64-bit integers exact, and never all rows in one batch.
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';

let db: ScratchDatabase | undefined;
afterEach(async () => {
  await db?.dispose();
  db = undefined;
});

const ROWS = 12_345;

describe.each(DIALECTS_UNDER_TEST)('recovery rows on %s', (dialect) => {
  it.skipIf(optedOut(dialect))('come in order, in bounded batches, with the event loop running between them', async () => {
    db = await openScratchDatabase(dialect);
    const table = `recovery_rows_${Date.now() % 100_000}`;
    await db.knex.raw(`CREATE TABLE ${table} (n INTEGER PRIMARY KEY, big BIGINT NOT NULL, label VARCHAR(40) NOT NULL)`);
    for (let from = 0; from < ROWS; from += 100) {
      const rows = Array.from({ length: Math.min(100, ROWS - from) }, (_, i) => ({ n: from + i, big: from + i === 7 ? '9007199254740993' : String(from + i), label: `row ${from + i}` }));
      await db.knex(table).insert(rows);
    }
    const store = DatabaseStore.over(db.knex, dialect);
    const seen: number[] = [];
    const batches: number[] = [];
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    let bigSeven: unknown;
    await store.eachRows(`SELECT n, big, label FROM ${table} ORDER BY n`, 1_000, (rows) => {
      batches.push(rows.length);
      for (const row of rows) {
        seen.push(Number(row.n));
        if (Number(row.n) === 7) bigSeven = row.big;
      }
    });
    clearInterval(ticking);
    expect(seen).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(Math.max(...batches)).toBeLessThanOrEqual(1_000);
    expect(batches.length).toBeGreaterThanOrEqual(13);
    expect(turns).toBeGreaterThan(0);
    expect(String(bigSeven)).toBe('9007199254740993'); // a JavaScript number would round it
    await db.knex.raw(`DROP TABLE ${table}`);
  });
});

// Database value types through `durable compile`: the build records each <apply> parameter's type, so
// what a restarted primary recovers from SQLite, PostgreSQL and MariaDB is what was acknowledged,
// types included: booleans, Dates to the millisecond, 64-bit bigints, Sets, JSON data, undefined.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileService } from '../../compiler/compile.js';
import { DatabaseStore } from '../../proxies/database/store.js';
import { DIALECTS_UNDER_TEST, openScratchDatabase, optedOut, type ScratchDatabase } from '../support/databases.js';
import { shape } from './support.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'test', 'transparency', 'services', 'typed-rows');
type Built = { start(options: Record<string, unknown>): Promise<Record<string, (...args: unknown[]) => Promise<unknown>>> };
let TypedService: Built;

beforeAll(async () => {
  const out = path.join(root, '.tmp', 'transparency', 'typed-rows');
  const result = await compileService(path.join(dir, 'service.ts'), path.join(dir, 'durability.xml'), out, 'test');
  expect(result.diagnostics).toEqual([]);
  TypedService = (await import(pathToFileURL(path.join(out, 'primary', 'service.mjs')).href)).TypedService as Built;
}, 60_000);

for (const dialect of DIALECTS_UNDER_TEST) {
  describe.skipIf(optedOut(dialect))(`a compiled build on ${dialect}`, () => {
    let db: ScratchDatabase;
    beforeEach(async () => {
      db = await openScratchDatabase(dialect);
    });
    afterEach(async () => {
      await db.dispose();
    });

    it('recovers every column as the type its <apply> parameter declares', async () => {
      const service = await TypedService.start({ database: DatabaseStore.over(db.knex, dialect) });
      await service.put!('a', true, new Date(1_700_000_000_123), 2n ** 62n + 7n, undefined, { tags: ['x', 'y'], score: 0.5 }, ['p', 'q']);
      await service.put!('b', false, new Date(0), -3n, 'note', { tags: [], score: -1 }, []);
      const acknowledged = await service.dump!();
      const restarted = await TypedService.start({ database: DatabaseStore.over(db.knex, dialect) });
      expect(shape(await restarted.dump!())).toEqual(shape(acknowledged));
    });
  });
}

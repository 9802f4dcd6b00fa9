// SQLite's commit path runs a group synchronously inside the node's process, so its crash is the
// process's: a real node process is SIGKILLed in the middle of a group (by an SQL function the group
// calls, at its first, a middle or its last record, on the fast path and on the savepoint path after a
// refused statement). Reopened, the database holds every group committed before and nothing of that one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStore } from '../../proxies/database/store.js';

const dist = path.resolve('dist/proxies/database/store.js');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs a node process that commits group 1, then dies inside group 2 where `crashAt` says. */
function crashingNode(file: string, crashAt: { record: number; refuseFirst: boolean }): { signal: string | null; stderr: string } {
  const script = `
    const fs = await import('node:fs');
    const { DatabaseStore } = await import(${JSON.stringify(dist)});
    const store = await DatabaseStore.open(${JSON.stringify(`sqlite:${file}`)});
    await store.ensureSystemTables();
    await store.knex.raw('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE)');
    const connection = await store.knex.client.acquireConnection();
    // Dies on its call number n: the fast attempt calls it once; the savepoint path after a refusal, again.
    let calls = 0;
    connection.function('durable_test_crash', (n) => { if (++calls === n) { fs.writeSync(2, 'dying at call ' + calls + '\\n'); process.kill(process.pid, 'SIGKILL'); } return 0; });
    await store.knex.client.releaseConnection(connection);
    const insert = (id, label = 'item ' + id) => ({ sql: 'INSERT INTO items (id, label) VALUES (?, ?)', parts: ['INSERT INTO items (id, label) VALUES (', ', ', ')'], bindings: [id, label] });
    const crash = { sql: 'SELECT durable_test_crash(?)', parts: ['SELECT durable_test_crash(', ')'], bindings: [${crashAt.refuseFirst ? 2 : 1}] };
    const record = (seq, statements) => ({ key: 'r' + seq, replies: [{ key: 'r' + seq, reply: '{}' }], seq, statements });
    const epoch = await store.epoch();
    const first = await store.commit(epoch, [record(1, [insert(1)]), record(2, [insert(2)])], { markEpoch: true });
    if (first.committed !== 2) throw new Error('group 1 did not commit');
    const group = [record(3, [insert(3)]), record(4, [insert(4)]), record(5, [insert(5)])];
    group[${crashAt.record}].statements.push(crash);
    // The savepoint path: the fast attempt is refused (a duplicate label, in a last record).
    if (${crashAt.refuseFirst}) group.push(record(6, [insert(6, 'item 1')]));
    await store.commit(epoch, group);
    console.error('survived');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { signal: child.signal, stderr: child.stderr };
}

describe('a node killed inside an SQLite group commit', () => {
  for (const refuseFirst of [false, true]) {
    for (const record of [0, 1, 2]) {
      it(`keeps the groups before it and nothing of it (record ${record + 1} of 3${refuseFirst ? ', savepoint path' : ''})`, async () => {
        dir = mkdtempSync(path.join(os.tmpdir(), 'durable-crash-'));
        const file = path.join(dir, 'state.db');
        const { signal, stderr } = crashingNode(file, { record, refuseFirst });
        expect(signal, stderr).toBe('SIGKILL');
        expect(stderr).toContain(`dying at call ${refuseFirst ? 2 : 1}`);
        const store = await DatabaseStore.open(`sqlite:${file}`);
        try {
          const ids = async () => (await store.rows(store.knex, 'SELECT id FROM items ORDER BY id')).map((r) => Number(r.id));
          expect(await ids()).toEqual([1, 2]);
          expect(new Set((await store.decided(['r1', 'r2', 'r3', 'r4', 'r5', 'r6'])).keys())).toEqual(new Set(['r1', 'r2']));
          expect(await store.rows(store.knex, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
          // A node started on it goes on.
          const work = { sql: 'INSERT INTO items (id, label) VALUES (?, ?)', parts: ['INSERT INTO items (id, label) VALUES (', ', ', ')'], bindings: [8, 'item 8'] };
          expect(await store.commit(await store.epoch(), [{ key: 'r8', replies: [], seq: 8, statements: [work] }])).toEqual({ committed: 1 });
          expect(await ids()).toEqual([1, 2, 8]);
        } finally {
          await store.close();
        }
      });
    }
  }
});

describe('SQLite durability levels (sqlite:PATH?synchronous=…)', () => {
  it('FULL by default, NORMAL when asked, and anything else refused with the choices', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'durable-sync-'));
    for (const [query, level] of [
      ['', 2],
      ['?synchronous=full', 2],
      ['?synchronous=NORMAL', 1],
    ] as const) {
      const store = await DatabaseStore.open(`sqlite:${path.join(dir, 'a.db')}${query}`);
      try {
        expect(await store.rows(store.knex, 'PRAGMA synchronous')).toEqual([{ synchronous: level }]);
        expect(await store.rows(store.knex, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      } finally {
        await store.close();
      }
    }
    await expect(DatabaseStore.open(`sqlite:${path.join(dir, 'a.db')}?synchronous=off`)).rejects.toThrow(/synchronous=off; write synchronous=full .* or synchronous=normal/);
    await expect(DatabaseStore.open(`sqlite:${path.join(dir, 'a.db')}?sync=normal`)).rejects.toThrow(/unknown option 'sync'/);
  });

  it('NORMAL keeps what was acknowledged when the process is SIGKILLed right after', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'durable-sync-'));
    const url = `sqlite:${path.join(dir, 'n.db')}?synchronous=normal`;
    const script = `
      const { DatabaseStore } = await import(${JSON.stringify(dist)});
      const store = await DatabaseStore.open(${JSON.stringify(url)});
      await store.ensureSystemTables();
      const epoch = await store.epoch();
      for (let seq = 1; seq <= 50; seq++) await store.commit(epoch, [{ key: 'r' + seq, replies: [], seq, statements: [] }]);
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const store = await DatabaseStore.open(url);
    try {
      expect(await store.maxSeq()).toBe(50);
    } finally {
      await store.close();
    }
  });
});

// The chaos harness on every change: real processes, the primary killed with SIGKILL at random moments
// under load, a new backup joining after each failover, and the recorded history checked for lost,
// duplicated and partial requests (scripts/chaos.mjs; `npm run chaos` runs it longer).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { optedOut, scratchDatabaseUrl } from './support/databases.js';

const root = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

async function chaos(args: string[]) {
  const { stdout } = await run(process.execPath, [path.join(root, 'scripts', 'chaos.mjs'), ...args], { cwd: root, timeout: 240_000, maxBuffer: 10 * 1024 * 1024 }).catch((error) => {
    throw new Error(`chaos failed: ${error.stdout}\n${error.stderr}`);
  });
  return JSON.parse(stdout) as { kills: number; acknowledged: number; lost: number; duplicated: number; partial: number; failoverMs: { p99: number } };
}

// The harness's own limit: ten kills and rejoins took 27 s on CI's machine and 59 s on a machine half as fast.
const CHAOS_TIMEOUT_MS = 240_000;

describe('chaos', () => {
  it(
    'the Counter (pb) survives 10 kills of its primary with nothing lost, duplicated or partial',
    async () => {
      const summary = await chaos(['--kills', '10', '--clients', '4', '--example', 'counter', '--seed', '7']);
      expect(summary).toMatchObject({ kills: 10, lost: 0, duplicated: 0, partial: 0 });
      expect(summary.acknowledged).toBeGreaterThan(100);
    },
    CHAOS_TIMEOUT_MS,
  );

  it.runIf(!optedOut('postgres'))(
    'the Matchmaker (pb+db on PostgreSQL) survives 5 kills with nothing lost, duplicated or partial',
    async () => {
      // A database of its own: a run in a database another run (or test) uses sees the other's tables,
      // its coordinator's configuration included.
      const database = await scratchDatabaseUrl('postgres');
      try {
        const summary = await chaos(['--kills', '5', '--clients', '3', '--example', 'matchmaker', '--db', database.url, '--seed', '11']);
        expect(summary).toMatchObject({ kills: 5, lost: 0, duplicated: 0, partial: 0 });
        expect(summary.acknowledged).toBeGreaterThan(50);
      } finally {
        await database.dispose();
      }
    },
    CHAOS_TIMEOUT_MS,
  );
});

import { defineConfig } from 'vitest/config';

// Files that bound how long a client waits (a write held at most 250 ms while a backup joins) measure
// the nodes on the machine's two cores, so they run last with nothing beside them. A join keeps both
// cores busy by itself, and a node's garbage collection whose helper threads find no core stretches
// from ~10 ms to ~290; the failures in full runs had a neighbouring file (a simulation takes a core).
const TIMED = ['test/serving/join.test.ts'];

// Two cores on every machine we run on: at most two test files at once, each in its own process, so
// tests that start servers or databases do not starve each other.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: TIMED, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'timed', include: TIMED, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Two cores on every machine we run on: at most two test files at once, each in its own process, so
// tests that start servers or databases do not starve each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

// One vitest test per universe and configuration, so a run can be narrowed with -t or DIFF_CONFIGS and
// DIFF_UNIVERSES; each prints what it ran (sequences, requests, rollbacks, accepted refusals) and fails
// with the report of a minimal diverging sequence.
import type { describe as Describe, it as It } from 'vitest';
import { openScratchDatabase, optedOut, type ScratchDatabase } from '../../support/databases.js';
import { hunt, survey, type HuntResult } from './hunt.js';
import { diffOptions, type DiffOptions } from './options.js';
import { CONFIG_TITLES, DATABASE_CONFIGS, type ConfigName, type Universe } from './universe.js';

export function summary(universe: string, config: ConfigName, r: HuntResult): string {
  const refusals = [...r.refusals].map(([reason, n]) => `${n} × ${reason}`).join('; ');
  const budget = r.interrupted ? ' (stopped by the time budget, DIFF_TIME_MS)' : '';
  return `[differential] ${universe} / ${config}: ${r.sequences} sequences run (shrinking included)${budget}, ${r.requests} requests, ${r.failures} failing as in the original (rolled back)${refusals ? `, refused as allowed: ${refusals}` : ''}`;
}

async function runOne(universe: Universe<unknown>, config: ConfigName, options: DiffOptions, database?: ScratchDatabase): Promise<void> {
  if (options.survey) {
    const classes = await survey(universe, config, options, database);
    const lines = [...classes].map(([key, c]) => `● ${key}  (${c.count} of ${options.runs} seeds; shortest from seed ${c.seed})\n${c.shortest.report}`);
    console.info(`[differential survey] ${universe.name} / ${config}: ${classes.size} classes over ${options.runs} seeds\n\n${lines.join('\n\n')}`);
    if (classes.size > 0) throw new Error(`${classes.size} classes of divergence under ${CONFIG_TITLES[config]} (listed above).`);
    return;
  }
  const result = await hunt(universe, config, options, database);
  console.info(summary(universe.name, config, result));
  if (result.sequences === 0) throw new Error('No sequence ran: the time budget is too small for even one.');
  if (result.failure) throw new Error(result.failure.report);
}

export function runUniverse(describe: typeof Describe, it: typeof It, make: (excluded: ReadonlySet<string>) => Universe<unknown>, configs: readonly ConfigName[]): void {
  const options = diffOptions();
  const universe = make(options.excluded);
  const selected = !options.universes || options.universes.has(universe.name);
  // Searching and shrinking stop at the time budget; the rest is start-up and the narrated replay.
  const timeout = options.timeLimitMs > 0 ? options.timeLimitMs * (options.survey ? options.runs : 1) + 45_000 : 24 * 3_600_000;
  describe(`the ${universe.name} universe, against its original classes`, () => {
    for (const config of configs) {
      const chosen = selected && options.configs.has(config);
      const title = `${config}: ${CONFIG_TITLES[config]}`;
      if (!chosen) {
        it.skip(`${title} (not selected by DIFF_UNIVERSES / DIFF_CONFIGS)`, () => {});
        continue;
      }
      const optOut = DATABASE_CONFIGS.includes(config) ? optedOut(config as 'sqlite' | 'postgres' | 'mysql') : undefined;
      if (optOut) {
        it.skip(`${title} (${optOut})`, () => {});
        continue;
      }
      it(
        title,
        async () => {
          if (!DATABASE_CONFIGS.includes(config)) return runOne(universe, config, options);
          const database = await openScratchDatabase(config as 'sqlite' | 'postgres' | 'mysql');
          try {
            await runOne(universe, config, options, database);
          } finally {
            await database.dispose();
          }
        },
        timeout,
      );
    }
  });
}

// The knobs of a differential run, from the environment (docs/RELIABILITY.md lists them). Without any,
// a run is CI's: a fixed seed, a fixed number of sequences and a time budget per configuration.
import { CONFIGS, type ConfigName } from './universe.js';

export interface DiffOptions {
  /** Sequences per universe and configuration. */
  runs: number;
  seed: number;
  /** fast-check's path of a shrunk counterexample: with `seed`, replays exactly that sequence. */
  path?: string;
  /** Commands per sequence, at most. */
  length: number;
  /** Time for one universe and configuration, searching and shrinking; past it, the best so far is reported. */
  timeLimitMs: number;
  configs: ReadonlySet<ConfigName>;
  universes?: ReadonlySet<string>;
  /** Names of operations, values and call kinds left out, for a focused hunt. */
  excluded: ReadonlySet<string>;
  /** Collect every distinct class of divergence over the seeds instead of stopping at the first. */
  survey: boolean;
}

/** CI's seed: fixed, so a red run is the same red run everywhere. */
const CI_SEED = 20_261_130;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function number(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const parsed = Number(text);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name}=${text} is not a number.`);
  return parsed;
}

export function diffOptions(env: NodeJS.ProcessEnv = process.env): DiffOptions {
  const configs = list(env.DIFF_CONFIGS);
  const unknown = configs.filter((c) => !(CONFIGS as readonly string[]).includes(c));
  if (unknown.length > 0) throw new Error(`DIFF_CONFIGS names ${unknown.join(', ')}; the configurations are ${CONFIGS.join(', ')}.`);
  const longRun = env.DIFF_RUNS !== undefined;
  return {
    runs: number('DIFF_RUNS', 150),
    seed: number('DIFF_SEED', CI_SEED),
    path: env.DIFF_PATH || undefined,
    length: number('DIFF_LENGTH', 12),
    // A long run searches as long as it takes; CI's budget keeps the whole tester under a minute.
    timeLimitMs: number('DIFF_TIME_MS', longRun ? 0 : 6_000),
    configs: new Set((configs.length > 0 ? configs : CONFIGS) as ConfigName[]),
    universes: env.DIFF_UNIVERSES ? new Set(list(env.DIFF_UNIVERSES)) : undefined,
    // Own properties added to a Map, a Set or a Date in state (`map.extra = 1`) are not followed: the
    // run-time watches those objects through their methods, in place (docs/RUNTIME.md, "Limits to know";
    // TypeScript does not let code add them without a cast). DIFF_EXCLUDE=none puts them back in.
    // So are frozen or sealed Maps and Sets (followed through a proxy: brand checks fail on them).
    excluded: new Set(env.DIFF_EXCLUDE === 'none' ? [] : [...list(env.DIFF_EXCLUDE), 'props-on-builtins', 'frozen-builtins']),
    survey: env.DIFF_SURVEY === '1',
  };
}

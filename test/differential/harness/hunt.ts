// Drives fast-check: random sequences for one universe under one configuration, each run against the
// original (run.ts); a failing sequence is shrunk to a minimal one, run once more to narrate it as code,
// and reported with its first divergence and the command that replays it. A survey instead runs one
// sequence per seed and groups the shrunk failures into classes (DIFF_SURVEY=1).
import fc from 'fast-check';
import { DatabaseStore } from '../../../proxies/database/store.js';
import type { ScratchDatabase } from '../../support/databases.js';
import type { DiffOptions } from './options.js';
import { runSequence, type Finding, type RunOptions } from './run.js';
import { CONFIG_TITLES, type Command, type ConfigName, type Universe } from './universe.js';

export interface HuntResult {
  sequences: number;
  requests: number;
  /** Requests that threw in the original and were undone on the run-time, as they must be. */
  failures: number;
  /** Accepted refusals, by the reason the issue gives. */
  refusals: Map<string, number>;
  /** The time budget ended the search before `runs` sequences. */
  interrupted: boolean;
  /** The minimal failing sequence, as a report. */
  failure?: { finding: Finding; report: string; length: number };
}

class FindingError extends Error {
  constructor(readonly finding: Finding) {
    super(`${finding.where}, ${finding.what}: ${finding.detail}`);
  }
}

function commandsFor<R>(universe: Universe<R>, config: ConfigName, options: DiffOptions): fc.Arbitrary<Command<R>[]> {
  const allow = (name: string) => !options.excluded.has(name);
  const command = fc.oneof(
    { weight: 14, arbitrary: universe.requests.map((request) => ({ kind: 'request' as const, request })) },
    ...(['begin', 'commit', 'abort'] as const).filter(allow).map((kind) => ({ weight: 1, arbitrary: fc.constant({ kind }) })),
    ...(config !== 'reconstruction' && allow('failover') ? [{ weight: 1, arbitrary: fc.constant({ kind: 'failover' as const }) }] : []),
  );
  return fc.array(command, { minLength: 1, maxLength: options.length });
}

/** Drops what a universe's database mapping made, so the next sequence starts on an empty database. */
async function resetDatabase(database: ScratchDatabase | undefined, tables: readonly string[]): Promise<void> {
  if (!database) return;
  for (const table of [...tables, 'durable_requests', 'durable_log', 'durable_meta']) await database.knex.raw(`DROP TABLE IF EXISTS ${table}`);
}

export async function hunt<R>(universe: Universe<R>, config: ConfigName, options: DiffOptions, database?: ScratchDatabase, startSystem?: RunOptions['startSystem']): Promise<HuntResult> {
  const store = database && DatabaseStore.over(database.knex, database.dialect);
  const result: HuntResult = { sequences: 0, requests: 0, failures: 0, refusals: new Map(), interrupted: false };
  const runOne = async (commands: Command<R>[], narrate: boolean) => {
    await resetDatabase(database, universe.tables ?? []);
    return runSequence(universe, config, commands, { database: store, narrate, startSystem });
  };
  const property = fc.asyncProperty(commandsFor(universe, config, options), async (commands) => {
    const log = await runOne(commands, false);
    result.sequences++;
    result.requests += log.requests;
    result.failures += log.failures;
    for (const reason of log.refusals) result.refusals.set(reason, (result.refusals.get(reason) ?? 0) + 1);
    if (log.finding) throw new FindingError(log.finding);
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    path: options.path,
    endOnFailure: options.path !== undefined,
    // The reproductions first; not in a focused run, which may have left out what they use.
    examples: options.excluded.size === 0 && options.path === undefined ? universe.examples?.map((e) => [[...e]] as [Command<R>[]]) : undefined,
    interruptAfterTimeLimit: options.timeLimitMs > 0 ? options.timeLimitMs : undefined,
  });
  result.interrupted = details.interrupted;
  if (!details.failed || !details.counterexample) return result;
  const first = (details.errorInstance as FindingError).finding;
  const sameClass = async (candidate: Command<R>[]) => {
    const log = await runOne(candidate, false);
    return log.finding !== undefined && log.finding.where === first.where && log.finding.what === first.what;
  };
  const commands = await minimize(details.counterexample[0], sameClass, universe.simplify, Date.now() + (options.timeLimitMs > 0 ? options.timeLimitMs / 2 : 60_000));
  const narrated = await runOne(commands, true);
  const finding = narrated.finding ?? first;
  const replay = `DIFF_SEED=${details.seed} DIFF_PATH="${details.counterexamplePath}" DIFF_UNIVERSES=${universe.name} DIFF_CONFIGS=${config} npx vitest run test/differential`;
  const lines = [
    `The ${universe.name} universe under ${CONFIG_TITLES[config]} does not behave like the original classes.`,
    `After command ${finding.command}, at ${finding.where}: ${finding.what}`,
    `  ${finding.detail}`,
    '',
    `A minimal sequence (shrunk by fast-check${details.interrupted ? ', interrupted by the time budget' : ''}, then by removing commands and simplifying requests while the divergence stays), as code; each request is one service method run as a request:`,
    ...narrated.program.map((line) => `  ${line}`),
    ...(narrated.finding ? [] : ['  (narrating it again did not reproduce the divergence: it depends on timing)']),
    '',
    `Replay: ${replay}`,
  ];
  result.failure = { finding, report: lines.join('\n'), length: commands.length };
  return result;
}

/**
 * fast-check shrinks an array by dropping its first elements and shrinking each one; a command in the
 * middle that plays no part can survive that. Greedily drop any command, or put a simpler request in its
 * place, while the same kind of divergence shows at the same place, until nothing more goes or time is up.
 */
async function minimize<R>(commands: Command<R>[], stillFails: (candidate: Command<R>[]) => Promise<boolean>, simplify: ((request: R) => R[]) | undefined, deadline: number): Promise<Command<R>[]> {
  let current = commands;
  let progress = true;
  while (progress && Date.now() < deadline) {
    progress = false;
    for (let i = current.length - 1; i >= 0 && Date.now() < deadline; i--) {
      const command = current[i]!;
      const simpler = command.kind === 'request' && simplify ? simplify(command.request).map((request) => current.map((c, j) => (j === i ? { kind: 'request' as const, request } : c))) : [];
      const candidates = [...(current.length > 1 ? [current.filter((_, j) => j !== i)] : []), ...simpler];
      for (const candidate of candidates) {
        if (await stillFails(candidate)) {
          current = candidate;
          progress = true;
          break;
        }
      }
    }
  }
  return current;
}

const SURVEY_RUNS_PER_SEED = 25;

/** A search per seed, each failure shrunk, grouped by where, what and which aspect differs. */
export async function survey<R>(
  universe: Universe<R>,
  config: ConfigName,
  options: DiffOptions,
  database?: ScratchDatabase,
): Promise<Map<string, { count: number; shortest: HuntResult['failure'] & object; seed: number }>> {
  const classes = new Map<string, { count: number; shortest: HuntResult['failure'] & object; seed: number }>();
  for (let seed = options.seed; seed < options.seed + options.runs; seed++) {
    // Per seed, a search of its own (the first sequences fast-check makes are its smallest).
    const result = await hunt(universe, config, { ...options, seed, runs: SURVEY_RUNS_PER_SEED, timeLimitMs: options.timeLimitMs || 30_000 }, database);
    if (!result.failure) continue;
    const { finding } = result.failure;
    const aspect = finding.detail
      .split('\n')[0]!
      .replace(/ at .*/, '')
      .replace(/\d+/g, 'N');
    const key = `${finding.where} · ${finding.what} · ${finding.what === 'state' || finding.what === 'result' ? aspect : finding.detail.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 90)}`;
    const known = classes.get(key);
    if (!known) classes.set(key, { count: 1, shortest: result.failure, seed });
    else {
      known.count++;
      if (result.failure.length < known.shortest.length) Object.assign(known, { shortest: result.failure, seed });
    }
  }
  return classes;
}

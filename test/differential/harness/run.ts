// One sequence, run twice: on the original classes (the oracle: plain instances, no durability) and on
// the run-time, compared after every command. The oracle of a request that fails is the state rebuilt
// by replaying, on fresh instances, every request that succeeded before it (and, inside a transaction,
// those of the transaction): all-or-nothing means exactly that state. A request the original runs but
// the run-time refuses passes only where the universe says the issue allows a refusal, and only if the
// state is exactly as before; it is counted as a refusal, never as a pass.
import { compareValues, formatDivergence, GraphComparison, REPLY, show, STATE } from '../compare.js';
import type { DatabaseStore } from '../../../proxies/database/store.js';
import type { Outcome } from '../../../proxies/action/controller.js';
import { startSystem, type System, type View } from './systems.js';
import type { Command, ConfigName, Service, Universe } from './universe.js';

export interface Finding {
  /** The command (counting from 1) after which it showed. */
  command: number;
  /** Where: the primary, the backup, the promoted backup, the state recovered from the database. */
  where: string;
  /** What kind of difference: state, result, outcome, exception, refused but changed, crash, hang. */
  what: string;
  detail: string;
}

export interface SequenceLog {
  finding?: Finding;
  requests: number;
  /** Requests that failed in the original and were rolled back on the run-time. */
  failures: number;
  /** The reasons of accepted refusals. */
  refusals: string[];
  /** The sequence as code, when narrated. */
  program: string[];
}

export interface RunOptions {
  database?: DatabaseStore;
  /** Write the sequence as code (slower: used to report a shrunk failure). */
  narrate?: boolean;
  /** How long one request may take on the run-time. */
  timeoutMs?: number;
  /** Another system than the run-time's (the harness's own tests give it a faulty one). */
  startSystem?: typeof startSystem;
}

type Attempt = { ok: true; value: unknown } | { ok: false; error: unknown };

function attempt(run: () => unknown): Attempt {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${show(error)}`;
  // A documented limit (docs/RUNTIME.md, "Limits to know"): V8's detail lines for a circular structure
  // name a proxied object's constructor 'Object'; the error and its first line must still match.
  const message = error.message.startsWith('Converting circular structure to JSON') ? error.message.split('\n')[0] : error.message;
  return `${error.constructor.name}: ${message}`;
}

function describeOutcome(outcome: Outcome): string {
  if (outcome.kind === 'ok') return `ok, ${show(outcome.result)}`;
  if (outcome.kind === 'service-error' && outcome.error !== undefined) return `service-error, ${describeError(outcome.error)}`;
  return `${outcome.kind}: ${outcome.message}`;
}

class Stop extends Error {
  constructor(readonly finding: Finding) {
    super(finding.detail);
  }
}

export async function runSequence<R>(universe: Universe<R>, config: ConfigName, commands: readonly Command<R>[], options: RunOptions = {}): Promise<SequenceLog> {
  const log: SequenceLog = { requests: 0, failures: 0, refusals: [], program: [] };
  const names = universe.objects.map((o) => o.name);
  const say = (line: string) => {
    if (options.narrate) log.program.push(line);
  };
  const fresh = (): Service => Object.fromEntries(universe.objects.map((o) => [o.name, o.create()]));
  const replay = (requests: readonly R[]): Service => {
    const service = fresh();
    for (const request of requests) {
      const again = attempt(() => universe.run(service, request));
      if (!again.ok) throw new Error(`The ${universe.name} universe is not deterministic: a request that succeeded throws when replayed (${describeError(again.error)}).`);
    }
    return service;
  };

  let command = 0;
  const stop = (where: string, what: string, detail: string): never => {
    throw new Stop({ command, where, what, detail });
  };
  let system: System | undefined;
  let committed: R[] = [];
  let tx: { id: string; requests: R[] } | undefined;
  let oracle = fresh();
  const accepted = () => (tx ? [...committed, ...tx.requests] : committed);

  const compareView = (view: View, expected: Service) => {
    const actual: Service = Object.fromEntries(view.objects.map((name) => [name, view.state(name)]));
    const divergence = universe.observe
      ? compareValues(universe.observe(expected), universe.observe(actual), 'observed', STATE)
      : new GraphComparison(STATE).compare(view.objects.map((name) => ({ name, expected: expected[name], actual: actual[name] })));
    if (divergence) stop(view.label, 'state', formatDivergence(divergence));
  };
  const compareAll = () => {
    compareView(system!.servingView(), oracle);
    const mirrors = system!.mirrors();
    // A backup holds what is committed: not an open transaction's requests.
    if (mirrors.length > 0) {
      const expected = tx ? replay(committed) : oracle;
      for (const mirror of mirrors) compareView(mirror, expected);
    }
  };
  const timed = async (what: string, promise: Promise<Outcome>): Promise<Outcome> => {
    const limit = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)));
    const outcome = await Promise.race([promise, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') stop('the primary', 'hang', `${what} got no answer within ${limit} ms`);
    return outcome as Outcome;
  };

  try {
    system = await (options.startSystem ?? startSystem)(universe as Universe<unknown>, config, options.database);
    compareAll();
    for (const next of commands) {
      command++;
      switch (next.kind) {
        case 'begin':
          if (tx) break;
          tx = { id: system.serving.beginTransaction(), requests: [] };
          say('const tx = runtime.beginTransaction(); // the requests below belong to it');
          break;
        case 'commit': {
          if (!tx) break;
          say('await runtime.commitTransaction(tx);');
          const outcome = await timed('commitTransaction', system.serving.commitTransaction(tx.id));
          if (outcome.kind !== 'ok') stop('the primary', 'outcome', `committing the transaction answered ${describeOutcome(outcome)}`);
          committed = accepted();
          tx = undefined;
          compareAll();
          break;
        }
        case 'abort': {
          if (!tx) break;
          say('await runtime.abortTransaction(tx);');
          const outcome = await timed('abortTransaction', system.serving.abortTransaction(tx.id));
          if (outcome.kind !== 'ok') stop('the primary', 'outcome', `aborting the transaction answered ${describeOutcome(outcome)}`);
          tx = undefined;
          oracle = replay(committed);
          compareAll();
          break;
        }
        case 'failover': {
          if (!system.canFailOver) break;
          if (tx) {
            say('// the open transaction is lost with its primary');
            tx = undefined;
            oracle = replay(committed);
          }
          say(`// failover: ${await system.failover()}`);
          compareAll();
          break;
        }
        case 'request': {
          log.requests++;
          if (options.narrate) {
            say(`// request ${log.requests}${tx ? ' (in the transaction)' : ''}`);
            for (const line of universe.describe(replay(accepted()), next.request)) say(line);
          }
          const expected = attempt(() => universe.run(oracle, next.request));
          const views: Service = Object.fromEntries(names.map((name) => [name, system!.serving.object(name)]));
          const spec = { method: 'difftest', touches: names, tx: tx?.id };
          const running = system.perform ? system.perform(next.request, tx?.id) : system.serving.execute(spec, () => universe.run(views, next.request));
          const outcome = await timed(`request ${log.requests}`, running);
          say(`//   original: ${expected.ok ? `returns ${show(expected.value)}` : `throws ${describeError(expected.error)}`}; run-time: ${describeOutcome(outcome)}`);
          if (expected.ok && outcome.kind === 'ok') {
            const divergence = compareValues(expected.value, outcome.result, 'result', REPLY);
            if (divergence) stop('the reply of the primary', 'result', formatDivergence(divergence));
            (tx ? tx.requests : committed).push(next.request);
          } else if (!expected.ok && outcome.kind === 'service-error') {
            log.failures++;
            const actual = outcome.error === undefined ? `no exception (${outcome.message})` : describeError(outcome.error);
            if (actual !== describeError(expected.error)) stop('the primary', 'exception', `the original threw ${describeError(expected.error)}\n    the run-time: ${actual}`);
            oracle = replay(accepted());
          } else if (expected.ok || outcome.kind === 'refused') {
            // A refusal (the run-time's DurabilityRefusal, `refused`): acceptable only where the universe
            // says the issue allows one for this request, and only if nothing of it was kept.
            const reason = universe.mayRefuse(next.request, config, replay(accepted()));
            if (reason === undefined || outcome.kind !== 'refused') {
              const original = expected.ok ? `returned ${show(expected.value)}` : `threw ${describeError(expected.error)}`;
              stop('the primary', 'outcome', `the original ${original}\n    the run-time answered ${describeOutcome(outcome)}`);
            }
            log.refusals.push(reason!);
            say(`//   ↑ a refusal the issue allows (${reason}); the state must be as before`);
            oracle = replay(accepted());
            try {
              compareAll();
            } catch (error) {
              if (error instanceof Stop)
                stop(error.finding.where, 'refused but changed', `the run-time refused the request (${describeOutcome(outcome)}) but did not leave the state as it was:\n  ${error.finding.detail}`);
              throw error;
            }
            break;
          } else {
            stop('the primary', 'outcome', `the original threw ${describeError(expected.error)}\n    the run-time answered ${describeOutcome(outcome)}`);
          }
          compareAll();
          break;
        }
      }
    }
    command++;
    if (tx) {
      say('await runtime.abortTransaction(tx); // the end: the open transaction is abandoned');
      await timed('abortTransaction', system.serving.abortTransaction(tx.id));
      tx = undefined;
      oracle = replay(committed);
      compareAll();
    }
    for (const view of await system.finish()) {
      say(`// at the end: ${view.label}`);
      compareView(view, oracle);
    }
  } catch (error) {
    if (error instanceof Stop) log.finding = error.finding;
    // An exception out of the run-time's API (start, promote, snapshot) or, rarely, the harness itself.
    else log.finding = { command, where: 'outside any request', what: 'crash', detail: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  return log;
}

// The harness judges, it must not be fooled: against a faithful stand-in for the run-time it finds
// nothing, and against stand-ins with one fault each it names that fault; a refusal passes only where
// the universe allows it and only when the state is as before; a failure is shrunk to its minimum.
import fc from 'fast-check';
import { DurabilityRefusal } from '../../proxies/core/refusals.js';
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../proxies/action/controller.js';
import { hunt } from './harness/hunt.js';
import { diffOptions } from './harness/options.js';
import { runSequence } from './harness/run.js';
import type { System } from './harness/systems.js';
import type { Command, Service, Universe } from './harness/universe.js';

class Box {
  n = 0;
  items: number[] = [];
  /** Adds, and throws after the change when x is negative. */
  add(x: number): number {
    this.n += x;
    this.items.push(x);
    if (x < 0) throw new RangeError(`negative: ${x}`);
    return this.n;
  }
}

const box = (refusable?: (x: number) => string | undefined): Universe<number> => ({
  name: 'box',
  objects: [{ name: 'box', create: () => new Box() }],
  classes: [Box],
  mapping: () => '<durability service="S"><state name="box" type="replication" update="state"/></durability>',
  run: (service, x) => (service.box as Box).add(x),
  describe: (_service, x) => [`box.add(${x});`],
  mayRefuse: (x: number) => refusable?.(x),
  requests: fc.integer({ min: -3, max: 9 }),
});

type Fault = (box: Box, threw: boolean) => 'refuse and restore' | 'refuse and keep' | 'keep the partial change' | 'answer 42' | 'another message' | undefined;

/**
 * A run-time stand-in on plain objects: all-or-nothing by snapshot, transactions by snapshot, and
 * the one `fault` it is given.
 */
function standIn(fault: Fault = () => undefined) {
  return async (universe: Universe<unknown>): Promise<System> => {
    let state: Service = { box: new Box() };
    let txSnapshot: Service | undefined;
    const copy = (s: Service): Service => ({ box: Object.assign(new Box(), structuredClone({ ...s.box })) });
    const node = {
      async execute(_spec: unknown, body: () => unknown): Promise<Outcome> {
        const before = copy(state);
        let outcome: Outcome;
        try {
          outcome = { kind: 'ok', result: structuredClone(body()) };
        } catch (error) {
          outcome = { kind: 'service-error', message: (error as Error).message, error };
        }
        const verdict = fault(state.box as Box, outcome.kind !== 'ok');
        if (verdict === 'refuse and restore' || verdict === 'refuse and keep') {
          if (verdict === 'refuse and restore') state = before;
          return { kind: 'refused', message: 'DUR3001: refused', error: new DurabilityRefusal('DUR3001', 'refused') };
        }
        if (verdict === 'answer 42' && outcome.kind === 'ok') return { kind: 'ok', result: 42 };
        if (verdict === 'another message' && outcome.kind === 'service-error') return { ...outcome, error: new RangeError('something else') };
        if (outcome.kind !== 'ok' && verdict !== 'keep the partial change') state = before;
        return outcome;
      },
      beginTransaction: () => {
        txSnapshot = copy(state);
        return 'tx';
      },
      commitTransaction: async (): Promise<Outcome> => ({ kind: 'ok', result: null }),
      abortTransaction: async (): Promise<Outcome> => {
        state = txSnapshot!;
        return { kind: 'ok', result: null };
      },
      object: <T extends object>(name: string) => state[name] as T,
    };
    const view = { label: 'the primary', objects: universe.objects.map((o) => o.name), state: (name: string) => state[name]! };
    return { serving: node, servingView: () => view, mirrors: () => [], canFailOver: false, failover: () => Promise.reject(new Error('none')), finish: async () => [] };
  };
}

const requests = (...xs: number[]): Command<number>[] => xs.map((request) => ({ kind: 'request', request }));
const run = (commands: Command<number>[], fault?: Fault, universe = box()) => runSequence(universe, 'state', commands, { startSystem: standIn(fault) as never });

describe('the harness', () => {
  it('finds nothing against a faithful run-time, failing requests and transactions included', async () => {
    const log = await run([...requests(2, -1, 3), { kind: 'begin' }, ...requests(4, -2), { kind: 'abort' }, { kind: 'begin' }, ...requests(5), { kind: 'commit' }]);
    expect(log.finding).toBeUndefined();
    expect({ requests: log.requests, failures: log.failures, refusals: log.refusals }).toEqual({ requests: 6, failures: 2, refusals: [] });
  });

  it('finds a partial change a failing request left behind, after that request', async () => {
    const log = await run(requests(2, -1, 3), (_box, threw) => (threw ? 'keep the partial change' : undefined));
    expect(log.finding).toMatchObject({ command: 2, where: 'the primary', what: 'state' });
    expect(log.finding!.detail).toContain('box.n');
  });

  it('finds a different result and a different exception', async () => {
    expect((await run(requests(2), () => 'answer 42')).finding).toMatchObject({ what: 'result', where: 'the reply of the primary' });
    expect((await run(requests(-1), () => 'another message')).finding).toMatchObject({ what: 'exception' });
  });

  it('accepts a refusal only where the universe allows it, and counts it apart', async () => {
    const refuseSevens: Fault = (b) => (b.items.at(-1) === 7 ? 'refuse and restore' : undefined);
    const allowed = await run(
      requests(2, 7, 3),
      refuseSevens,
      box((x) => (x === 7 ? 'sevens may be refused' : undefined)),
    );
    expect(allowed.finding).toBeUndefined();
    expect(allowed.refusals).toEqual(['sevens may be refused']);
    const notAllowed = await run(requests(2, 7, 3), refuseSevens);
    expect(notAllowed.finding).toMatchObject({ command: 2, what: 'outcome' });
  });

  it('does not accept a refusal that changed the state', async () => {
    const log = await run(
      requests(2, 7),
      (b) => (b.items.at(-1) === 7 ? 'refuse and keep' : undefined),
      box(() => 'anything may be refused'),
    );
    expect(log.finding).toMatchObject({ command: 2, what: 'refused but changed' });
  });

  it('shrinks a failure to the one request that shows it, and prints it as code', async () => {
    const options = { ...diffOptions({}), runs: 200, length: 12, timeLimitMs: 0 };
    const result = await hunt(box(), 'state', options, undefined, standIn((b) => (b.items.includes(7) ? 'answer 42' : undefined)) as never);
    expect(result.failure?.length).toBe(1);
    expect(result.failure?.report).toContain('box.add(7);');
    expect(result.failure?.report).toMatch(/Replay: DIFF_SEED=\d+ DIFF_PATH="[\d:]+"/);
  });
});

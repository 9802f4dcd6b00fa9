// Issue 11's reproductions, as sequences of the graph universe that every run tries first (fast-check's
// `examples`), before its random ones: each known divergence is checked on every configuration, and a
// fix is seen to hold. Targets are found by path on the state the earlier requests leave, so the
// examples follow the universe's initial state if it changes.
import type { Command } from '../harness/universe.js';
import type { Call, GraphRequest } from './arbitraries.js';
import { Shelf, Store } from './classes.js';
import { isKind, reach, type TargetKind } from './reach.js';
import { runStep, type Step } from './steps.js';
import type { ValueSpec } from './values.js';

/** Builds one example: each request is written against the state the ones before it left. */
class Example {
  readonly commands: Command<GraphRequest>[] = [];
  private state = { store: new Store(), shelf: new Shelf() };
  /** What the steps done so far were, to rebuild the state (a failing request's steps are tried on a copy). */
  private readonly done: (() => void)[] = [];
  /** Paths asked for since the last request: its steps must act on exactly them. */
  private readonly wanted: string[] = [];

  constructor(readonly title: string) {}

  /** The index of the object at `path` among those of `kind` (what a step's `at` means). */
  at(path: string, kind: TargetKind = 'any'): number {
    const root = path.startsWith('shelf') ? 'shelf' : 'store';
    const candidates = reach(this.state[root], root).filter((r) => isKind(r.value, kind));
    const index = candidates.findIndex((r) => r.path === path);
    if (index < 0) throw new Error(`Example '${this.title}': nothing of kind ${kind} at ${path} (there are ${candidates.map((r) => r.path).join(', ')}).`);
    this.wanted.push(path);
    return index;
  }

  /** The `at` of a property step (`on: 'keyed'`) acting on the object at `path`. */
  prop(path: string): number {
    return this.at(path, 'keyed');
  }

  ref(path: string): ValueSpec {
    return { k: 'ref', n: this.at(path) };
  }

  request(steps: Step[], options: { throwAfter?: boolean; object?: 'store' | 'shelf' } = {}): this {
    const object = options.object ?? 'store';
    const calls: Call[] = steps.map((step) => ({ kind: 'step', object, via: 'method', fail: 'no', step }));
    this.commands.push({ kind: 'request', request: { calls, throwAfter: options.throwAfter ?? false } });
    // The steps must act where the example says: a target index of the wrong kind would pick another object.
    const trace: string[] = [];
    const run = () => steps.forEach((step) => runStep(this.state[object], step, { name: object, trace }));
    run();
    const missed = this.wanted.splice(0).filter((path) => !trace.some((line) => line.includes(path)));
    if (missed.length > 0) throw new Error(`Example '${this.title}': its steps (${trace.join(' ')}) do not act on ${missed.join(', ')}.`);
    if (options.throwAfter) this.rebuild();
    else this.done.push(() => steps.forEach((step) => runStep(this.state[object], step, { name: object })));
    return this;
  }

  private rebuild(): void {
    this.state = { store: new Store(), shelf: new Shelf() };
    for (const redo of this.done) redo();
  }

  share(from: 'store' | 'shelf', path: string, to: 'store' | 'shelf', key: string): this {
    const at = this.at(path);
    this.commands.push({ kind: 'request', request: { calls: [{ kind: 'share', from, at, to, key }], throwAfter: false } });
    this.wanted.length = 0;
    const redo = () => this.state[to].adopt(key, this.state[from].pick(at));
    redo();
    this.done.push(redo);
    return this;
  }

  then(kind: 'begin' | 'commit' | 'abort' | 'failover'): this {
    this.commands.push({ kind });
    return this;
  }
}

const num = (v: number): ValueSpec => ({ k: 'num', v });
const obj = (entries: [string, ValueSpec][], bare = false): ValueSpec => ({ k: 'obj', bare, entries });

function examples(): Example[] {
  const list: Example[] = [];
  const add = (title: string, build: (e: Example) => Example) => list.push(build(new Example(title)));

  // Item 3: a request that throws inside a transaction after an earlier one of it deleted from the same Map.
  add('transaction: a failing delete after a delete', (e) =>
    e
      .then('begin')
      .request([{ op: 'mapDelete', at: e.at('store.map', 'map'), key: { value: { k: 'str', v: 'k' } } }])
      .request([{ op: 'mapDelete', at: e.at('store.map', 'map'), key: { value: { k: 'str', v: 'o' } } }], { throwAfter: true })
      .then('commit'),
  );
  // Item 4: a new object that refers to existing state, an object used as a Map key, an object shared by two state objects.
  add('a new object holding existing state', (e) =>
    e
      .request([{ op: 'setAdd', at: e.at('store.set', 'set'), value: obj([['best', e.ref('store.list[2]')]]) }])
      .request([{ op: 'set', at: e.prop('store.list[2]'), on: 'keyed', key: 'a', value: num(4) }]),
  );
  add('a new Map key holding existing state', (e) =>
    e
      .request([{ op: 'mapSet', at: e.at('store.map', 'map'), key: obj([['inner', e.ref('store.obj.nested')]]), value: num(1) }])
      .request([{ op: 'set', at: e.prop('store.obj.nested'), on: 'keyed', key: 'a', value: num(2) }]),
  );
  add('one object in two state objects', (e) => e.share('store', 'store.obj.nested', 'shelf', 'a').request([{ op: 'set', at: e.prop('store.obj.nested'), on: 'keyed', key: 'a', value: num(2) }]));
  // Item 5: shape on backups and on rollback.
  add('a null-prototype object', (e) => e.request([{ op: 'push', at: e.at('store.list', 'array'), values: [obj([['a', num(1)]], true)] }]));
  add('a non-enumerable property', (e) => e.request([{ op: 'define', at: e.prop('store.obj'), on: 'keyed', key: 'b', value: num(1), enumerable: false, writable: true, configurable: true }]));
  add('rollback on a sparse array', (e) =>
    e.request([{ op: 'set', at: e.prop('store.list'), on: 'keyed', key: '10', value: num(1) }]).request([{ op: 'sort', at: e.at('store.list', 'array'), byType: true }], { throwAfter: true }),
  );
  // Item 6: "__proto__" as a key, and the rollback of a delete beside it.
  add('"__proto__" from JSON, then a failing delete', (e) =>
    e
      .request([
        {
          op: 'set',
          at: e.prop('store.obj'),
          on: 'keyed',
          key: 'a',
          value: obj([
            ['__proto__', obj([['isAdmin', { k: 'bool', v: true }]])],
            ['theme', { k: 'str', v: 'dark' }],
          ]),
        },
      ])
      .request([{ op: 'delete', at: e.prop('store.obj.a'), on: 'keyed', key: 'theme' }], { throwAfter: true }),
  );
  // Item 7: what the membrane does not see: symbol keys, objects under a frozen parent, typed arrays.
  add('a symbol-keyed property, then a failure', (e) => e.request([{ op: 'set', at: e.prop('store.obj'), on: 'keyed', key: '@for', value: num(1) }], { throwAfter: true }));
  add('a change under a frozen parent', (e) =>
    e
      .request([{ op: 'set', at: e.prop('store.obj'), on: 'keyed', key: 'a', value: { k: 'freeze', of: obj([['b', obj([['max', num(5)]])]]) } }])
      .request([{ op: 'set', at: e.prop('store.obj.a.b'), on: 'keyed', key: 'max', value: num(500) }], { throwAfter: true }),
  );
  add('a typed array', (e) => e.request([{ op: 'set', at: e.prop('store.obj'), on: 'keyed', key: 'a', value: { k: 'typed', type: 'Uint8Array', items: [1, 2] } }]));
  // Item 10: splice() with no arguments removes nothing.
  add('splice() with no arguments', (e) => e.request([{ op: 'splice', at: e.at('store.list', 'array'), args: [], values: [] }]));
  // Item 12: built-ins that see the proxy.
  add('new Date(stateDate)', (e) =>
    e.request([
      { op: 'date', at: e.at('store.when', 'date'), setter: 'setMilliseconds', args: [5] },
      { op: 'read', read: 'dateCopy', at: e.at('store.when', 'date'), other: 0 },
    ]),
  );
  add('structuredClone of state', (e) => e.request([{ op: 'read', read: 'clone', at: e.at('store.list'), other: 0 }]));
  add('util.isDeepStrictEqual on a Map', (e) => e.request([{ op: 'read', read: 'deepEqualClone', at: e.at('store.map'), other: 0 }]));
  add('Object.prototype.toString and util.types on a Date', (e) =>
    e.request([
      { op: 'read', read: 'tag', at: e.at('store.when'), other: 0 },
      { op: 'read', read: 'types', at: e.at('store.when'), other: 0 },
    ]),
  );
  return list;
}

/** The examples, built once: issue 11's cases, to run before the random sequences. */
export const GRAPH_EXAMPLES: readonly Command<GraphRequest>[][] = examples().map((e) => e.commands);

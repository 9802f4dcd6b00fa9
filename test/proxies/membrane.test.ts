// The membrane records every change at the Proxy trap. Random sequences of changes to a state object
// with arrays, Maps, Sets, keyed objects and nested data must (1) undo to exactly the state before,
// iteration order included, and (2) replayed on a replica from their encoded form, give exactly the
// primary's state: the two properties replication and rollback stand on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChange, changeFromWire, encodeChange, type Change, type WireChange } from '../../proxies/core/changes.js';
import { ActionContext } from '../../proxies/core/context.js';
import { decode, encode, type ClassRegistry } from '../../proxies/core/encoding.js';
import { StateGraph, type StateOwner } from '../../proxies/core/graph.js';
import { StateOutsideActionError } from '../../proxies/core/refusals.js';

class Item {
  constructor(
    public name: string,
    public tags: string[] = [],
  ) {}
  rename(name: string): void {
    this.name = name;
  }
}

class Store {
  list: unknown[] = [1, 2, { deep: [3] }];
  map = new Map<unknown, unknown>([
    ['a', 1],
    ['b', { x: 1 }],
  ]);
  set = new Set<unknown>(['p', 'q']);
  keyed: Record<string, unknown> = { k1: 1, k2: 2, k3: 3 };
  items: Item[] = [new Item('one', ['t'])];
  total = 0;
}

const classes: ClassRegistry = new Map<string, new (...args: never[]) => object>([
  ['Store', Store],
  ['Item', Item],
]);
const canonical = (value: unknown) => JSON.stringify(encode(value, classes));

const owner: StateOwner = { name: 'store', replicated: true, mechanism: 'replication', beforeChange: () => {}, aroundCall: (_m, _a, run) => run() };

/** A primary's graph and a replica's, kept in step through encoded changes. */
function setup() {
  const graph = new StateGraph();
  const primary = new Store();
  const index = graph.addState(owner);
  const proxy = graph.adopt(primary, index) as Store;
  const snapshot = JSON.parse(JSON.stringify(encode(primary, classes, { ids: graph.ids, full: true })));
  const replicaGraph = new StateGraph();
  const replica = decode(snapshot, classes, replicaGraph.ids) as Store;
  replicaGraph.adopt(replica, replicaGraph.addState(owner));
  let id = 0;
  return {
    graph,
    primary,
    replica,
    proxy,
    /** Runs `fn` as one action; returns its context (its log) once the code ended. */
    act(fn: (s: Store) => void): ActionContext {
      const context = new ActionContext(++id);
      graph.current = context;
      try {
        fn(proxy);
        graph.reconcile();
        return context;
      } finally {
        context.endRequest();
        graph.current = undefined;
      }
    },
    ship(context: ActionContext) {
      const sent = new Set<object>();
      const wire = context.log.map((c) => encodeChange(c, classes, graph.ids, sent)).filter((c): c is WireChange => c !== undefined);
      const received = JSON.parse(JSON.stringify(wire)) as WireChange[];
      replicaGraph.quietly(() => {
        for (const c of received) {
          const change: Change = changeFromWire(c, classes, replicaGraph.ids);
          replicaGraph.mutate(change.target, change, () => applyChange(change));
        }
      });
    },
  };
}

type Op = (s: Store, pick: number, value: number) => void;
const OPS: Record<string, Op> = {
  push: (s, _p, v) => void s.list.push(v, { v }),
  pop: (s) => void s.list.pop(),
  shift: (s) => void s.list.shift(),
  unshift: (s, _p, v) => void s.list.unshift([v]),
  splice: (s, p, v) => void s.list.splice(p % (s.list.length + 1), p % 3, v, { nested: [v] }),
  setIndex: (s, p, v) => void (s.list[p % (s.list.length + 2)] = v),
  truncate: (s, p) => void (s.list.length = p % (s.list.length + 1)),
  sort: (s) => void s.list.sort((a, b) => String(a).localeCompare(String(b))),
  reverse: (s) => void s.list.reverse(),
  deepPush: (s, _p, v) => {
    const o = s.list.find((x) => typeof x === 'object' && x !== null && Array.isArray((x as { deep?: unknown }).deep)) as { deep: unknown[] } | undefined;
    o?.deep.push(v);
  },
  mapSet: (s, p, v) => void s.map.set(`k${p % 5}`, { v }),
  mapDelete: (s, p) => void s.map.delete(['a', 'b', 'k1', 'k2'][p % 4]),
  mapClear: (s) => s.map.clear(),
  mapNested: (s, _p, v) => {
    const b = s.map.get('b') as { x: number } | undefined;
    if (b) b.x = v;
  },
  setAdd: (s, p) => void s.set.add(`e${p % 6}`),
  setDelete: (s, p) => void s.set.delete(['p', 'q', 'e1', 'e2'][p % 4]),
  setClear: (s) => s.set.clear(),
  keyedSet: (s, p, v) => void (s.keyed[`k${p % 6}`] = v),
  keyedDelete: (s, p) => void delete s.keyed[`k${p % 6}`],
  itemNew: (s, p) => void s.items.push(new Item(`i${p}`)),
  itemRename: (s, p) => s.items[p % Math.max(1, s.items.length)]?.rename(`r${p}`),
  itemTag: (s, p) => s.items[p % Math.max(1, s.items.length)]?.tags.push(`t${p}`),
  moveItem: (s) => {
    const first = s.items.shift();
    if (first) s.items.push(first);
  },
  attachThenChange: (s, _p, v) => {
    s.list.push({ fresh: [] as number[] });
    (s.list[s.list.length - 1] as { fresh: number[] }).fresh.push(v);
  },
  count: (s) => void s.total++,
};

const op = fc.tuple(fc.constantFrom(...Object.keys(OPS)), fc.nat(50), fc.integer({ min: -5, max: 99 }));
const action = fc.array(op, { minLength: 1, maxLength: 8 });

describe('the membrane', () => {
  it('undoes any sequence of changes exactly, order included', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 4 }), action, (committed, aborted) => {
        const s = setup();
        for (const a of committed) s.act((st) => a.forEach(([name, p, v]) => OPS[name]!(st, p, v)));
        const before = canonical(s.primary);
        const context = s.act((st) => aborted.forEach(([name, p, v]) => OPS[name]!(st, p, v)));
        s.graph.undo(context);
        expect(canonical(s.primary)).toBe(before);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a replica identical when it applies the encoded changes', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 6 }), (actions) => {
        const s = setup();
        for (const a of actions) s.ship(s.act((st) => a.forEach(([name, p, v]) => OPS[name]!(st, p, v))));
        expect(canonical(s.replica)).toBe(canonical(s.primary));
      }),
      { numRuns: 500 },
    );
  });

  it('records a splice as one change whatever it moves', () => {
    const s = setup();
    s.act((st) => void st.list.push(...Array.from({ length: 10_000 }, (_, i) => i)));
    const changes = s.act((st) => void st.list.splice(0, 1)).log;
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'splice', start: 0, inserted: [] });
  });

  it('refuses a change made outside an action', () => {
    const s = setup();
    let escaped: { deep: unknown[] } | undefined;
    s.act((st) => {
      escaped = st.list[2] as { deep: unknown[] };
    });
    expect(() => escaped!.deep.push(1)).toThrow(StateOutsideActionError);
  });
});

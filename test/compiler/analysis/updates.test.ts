// Which methods of a state class update it: every path issue 16 found missed is followed, and what only
// looks like a write (a fresh copy, a local collection, a shadowing name) is not one. Each test lists the
// update methods exactly, so a missed write and a false one both fail.
import { describe, expect, it } from 'vitest';
import { check, codes, databaseMapping, stateMethod, updateMethods } from './support.js';

const HEADER = `import { state } from 'durability-compiler';
export interface Machine { id: string; cpu: number; busy: boolean; tags: string[] }
`;

function fleet(body: string, extra = ''): Record<string, string> {
  return {
    'service.ts': `${HEADER}${extra}
export class Fleet {
  byId = new Map<string, Machine>();
  list: Machine[] = [];
  seq = 0;
  add(m: Machine): void { this.byId.set(m.id, m); this.list.push(m); }
${body}
}
export class FleetService { @state fleet = new Fleet(); }
`,
  };
}

const mapping = databaseMapping('FleetService', 'fleet', 'add', ['add'], 'm');

describe('writes the analysis follows', () => {
  it('through private, #private and protected helpers given an element of the object', async () => {
    const checked = await check(
      fleet(`
  viaPrivate(id: string): void { const m = this.byId.get(id); if (m) this.occupy(m); }
  viaHash(id: string): void { this.#free(this.byId.get(id)!); }
  viaProtected(): void { for (const m of this.list) this.tag(m, 'x'); }
  readOnly(id: string): boolean { return this.isBusy(this.byId.get(id)); }
  private occupy(m: Machine): void { m.busy = true; }
  #free(m: Machine): void { m.busy = false; }
  protected tag(m: Machine, t: string): void { m.tags.push(t); }
  private isBusy(m?: Machine): boolean { return m?.busy ?? false; }`),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'viaHash', 'viaPrivate', 'viaProtected']);
    expect(stateMethod(checked, 'fleet', 'viaPrivate').updates?.description).toBe('assigns m.busy');
    // Hidden helpers are the object's own business: no SQL of their own, not in the method list.
    expect(codes(checked).filter((c) => c.startsWith('DUR2006'))).toHaveLength(3);
    expect(checked.lines.join('\n')).not.toMatch(/Fleet\.(occupy|#free|tag|isBusy) /);
  });

  it("through fresh containers of the object's elements: Object.values/entries, Array.from, spreads, filter, find, slice", async () => {
    const checked = await check(
      fleet(`
  values(): void { for (const m of Object.values(Object.fromEntries(this.byId))) m.busy = true; }
  entries(): void { for (const [, m] of Object.entries(Object.fromEntries(this.byId))) m.busy = true; }
  from(): void { Array.from(this.byId.values())[0]!.busy = true; }
  spread(): void { for (const m of [...this.byId.values()]) m.tags.push('x'); }
  filtered(cpu: number): void { this.list.filter((m) => m.cpu > cpu).forEach((m) => { m.busy = true; }); }
  found(id: string): void { const m = this.list.find((x) => x.id === id); if (m) m.cpu++; }
  sliced(): void { this.list.slice(1)[0]!.busy = false; }
  mapped(): void { this.list.map((m) => m)[0]!.busy = true; }
  // The fresh container itself is not state: changing it changes nothing.
  copyOnly(): Machine[] { const copy = this.list.slice(); copy.pop(); copy.push({ id: 'x', cpu: 1, busy: false, tags: [] }); return copy; }
  sortCopy(): Machine[] { return [...this.list].sort((a, b) => a.cpu - b.cpu); }`),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'entries', 'filtered', 'found', 'from', 'mapped', 'sliced', 'spread', 'values']);
  });

  it('through callbacks: named module functions, method references, bound methods, reduce accumulators', async () => {
    const checked = await check(
      fleet(
        `
  named(): void { this.list.forEach(release); }
  reference(): void { this.list.forEach(this.occupy, this); }
  bound(): void { this.list.forEach(this.occupy.bind(this)); }
  reduced(): number { return this.list.reduce((fleet, m) => { fleet.seq += m.cpu; return fleet; }, this).seq; }
  mappedNamed(): number[] { return this.list.map(cpuOf); }
  private occupy(m: Machine): void { m.busy = true; }`,
        `function release(m: Machine): void { m.busy = false; }
function cpuOf(m: Machine): number { return m.cpu; }
`,
      ),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'bound', 'named', 'reduced', 'reference']);
  });

  it('through a getter that writes, `this` handed to a function or a static method, and Reflect', async () => {
    const checked = await check(
      fleet(
        `
  get nextSeq(): number { return ++this.seq; }
  get size(): number { return this.list.length; }
  stamp(): number { return this.nextSeq; }
  count(): number { return this.size; }
  handed(): void { clearAll(this); }
  statically(): void { Fleet.reset(this); }
  reflected(id: string): void { Reflect.set(this.byId.get(id)!, 'busy', true); }
  deleted(id: string): void { Reflect.deleteProperty(this.byId.get(id)!, 'tags'); }
  defined(): void { Object.defineProperty(this, 'seq', { value: 0 }); }
  applied(more: Machine[]): void { Array.prototype.push.apply(this.list, more); }
  called(m: Machine): void { Array.prototype.unshift.call(this.list, m); }
  static reset(fleet: Fleet): void { fleet.list.length = 0; }`,
        `function clearAll(fleet: Fleet): void { fleet.byId.clear(); }
`,
      ),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'applied', 'called', 'defined', 'deleted', 'handed', 'reflected', 'stamp', 'statically']);
    expect(stateMethod(checked, 'fleet', 'stamp').updates?.description).toBe('increments this.seq');
  });

  it('through helpers of other modules, imported by name, renamed or as a namespace', async () => {
    const checked = await check(
      {
        ...fleet(
          `
  named(): void { sortById(this.list); }
  renamed(): void { mark(this.list[0]!); }
  namespaced(): void { helpers.sortById(this.list); }
  readOnly(): number { return helpers.total(this.list); }`,
          `import { sortById, markBusy as mark } from './helpers.js';
import * as helpers from './helpers.js';
`,
        ),
        'helpers.ts': `import type { Machine } from './service.js';
export function sortById(list: Machine[]): void { list.sort((a, b) => a.id.localeCompare(b.id)); }
export function markBusy(m: Machine): void { m.busy = true; }
export function total(list: readonly Machine[]): number { return list.reduce((t, m) => t + m.cpu, 0); }
`,
      },
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'named', 'namespaced', 'renamed']);
    expect(stateMethod(checked, 'fleet', 'renamed').updates?.file).toMatch(/helpers\.ts$/);
  });

  it("through a mixin's methods, which are found, analysed and mappable", async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
type Constructor<T = object> = new (...args: any[]) => T;
export function Versioned<B extends Constructor>(Base: B) {
  return class extends Base {
    version = 0;
    bump(): number { return ++this.version; }
    current(): number { return this.version; }
  };
}
const Stamped = <B extends Constructor>(Base: B) => class extends Base { at = 0; touch(at: number): void { this.at = at; } };
export class Doc { text = ''; write(t: string): void { this.text = t; } }
export class Page extends Stamped(Versioned(Doc)) {
  edit(t: string, at: number): void { this.write(t); this.touch(at); super.bump(); }
}
export class WikiService { @state page = new Page(); }
`,
      },
      databaseMapping('WikiService', 'page', 'write', ['write', 'bump', 'touch', 'edit'], 't'),
    );
    expect(checked.lines).toEqual([]);
    expect(updateMethods(checked, 'page')).toEqual(['bump', 'edit', 'touch', 'write']);
    expect(stateMethod(checked, 'page', 'current').updates).toBeUndefined();
  });

  it('through closures: a write in a callback counts for the method that made it; calling a stored function is unsure', async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
export class Jobs {
  done = 0;
  private pending: Array<() => void> = [];
  schedule(n: number): void { this.pending.push(() => { this.done += n; }); }
  later(n: number): () => void { return () => { this.done -= n; }; }
  runAll(): void { this.pending.forEach((job) => job()); }
}
export class JobService { @state jobs = new Jobs(); }
`,
      },
      databaseMapping('JobService', 'jobs', 'schedule', ['schedule', 'later'], 'n'),
    );
    expect(updateMethods(checked, 'jobs')).toEqual(['later', 'schedule']);
    expect(stateMethod(checked, 'jobs', 'runAll').unsure?.description).toBe('calls job(), a function held in the object');
  });

  it('through implementations of abstract and interface methods', async () => {
    const checked = await check(
      {
        'service.ts': `import { state } from 'durability-compiler';
export abstract class Shape { abstract grow(): void; abstract area(): number; }
export class Square extends Shape { side = 1; grow(): void { this.side++; } area(): number { return this.side ** 2; } }
interface Counter { bump(): void; read(): number }
export class Tally implements Counter { n = 0; bump(): void { this.n++; } read(): number { return this.n; } }
export class Canvas {
  shapes: Shape[] = [new Square()];
  counters: Counter[] = [new Tally()];
  growAll(): void { for (const s of this.shapes) s.grow(); }
  bumpAll(): void { this.counters.forEach((c) => c.bump()); }
  area(): number { return this.shapes.reduce((t, s) => t + s.area(), 0) + this.counters.reduce((t, c) => t + c.read(), 0); }
}
export class CanvasService { @state canvas = new Canvas(); }
`,
      },
      databaseMapping('CanvasService', 'canvas', 'area', ['growAll', 'bumpAll']),
    );
    expect(checked.lines).toEqual([]);
    expect(updateMethods(checked, 'canvas')).toEqual(['bumpAll', 'growAll']);
  });

  it("through generators: what a generator of the object's own yields is its state", async () => {
    const checked = await check(
      fleet(`
  *idle(): Generator<Machine> { for (const m of this.list) if (!m.busy) yield m; }
  *all(): Generator<Machine> { yield* this.list; }
  *copies(): Generator<Machine> { for (const m of this.list) yield { ...m }; }
  reserveIdle(): void { for (const m of this.idle()) m.busy = true; }
  tagAll(): void { for (const m of this.all()) m.tags.push('x'); }
  local(): void { const gen = function* (list: Machine[]) { yield* list; }; for (const m of gen(this.list)) m.cpu = 0; }
  onCopies(): void { for (const m of this.copies()) m.busy = true; }`),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'local', 'reserveIdle', 'tagAll']);
  });

  it('through local collections that gather elements of the object', async () => {
    const checked = await check(
      fleet(`
  gathered(): void { const out: Machine[] = []; for (const m of this.list) out.push(m); out[0]!.busy = true; }
  keyed(): void { const index = new Map<string, Machine>(); this.list.forEach((m) => index.set(m.id, m)); index.get('a')!.cpu = 0; }
  wrapped(): void { const box = { item: this.list[0]! }; box.item.busy = true; }
  // Collected, but only read: no write.
  collected(): Machine[] { const out: Machine[] = []; for (const m of this.list) if (m.busy) out.push(m); return out; }`),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'gathered', 'keyed', 'wrapped']);
  });
});

describe('what only looks like a write', () => {
  it('names bound by scope, not by spelling; copies; primitives; locals', async () => {
    const checked = await check(
      fleet(`
  shadowed(): void { const m = this.list[0]; { const m = { busy: false }; m.busy = true; } void m; }
  twoArrows(): void { const local: Machine[] = []; local.forEach((p) => { p.busy = true; }); this.list.forEach((p) => p.id.length); }
  cloned(): Machine[] { const c = structuredClone(this.list); c[0]!.busy = true; return c; }
  spreadCopy(): Machine { const c = { ...this.list[0]! }; c.busy = true; return c; }
  assigned(): Machine { return Object.assign({}, this.list[0]!, { busy: true }); }
  primitive(): number { let cpu = this.list[0]?.cpu ?? 0; cpu += 1; return cpu; }
  rebinding(): Machine | undefined { let best = this.list[0]; for (const m of this.list) if (best && m.cpu > best.cpu) best = m; return best; }
  keys(): string[] { const ks: string[] = []; for (const k of this.byId.keys()) ks.push(k); ks.sort(); return ks; }
  index(): Record<string, number> { const r = this.list.reduce((acc, m) => { acc[m.id] = m.cpu; return acc; }, {} as Record<string, number>); r['x'] = 0; return r; }
  reversed(): Machine[] { const copy = this.list.slice().reverse(); copy.push(this.list[0]!); return copy; }
  json(): string { return JSON.stringify(Object.fromEntries(this.byId)) + String(Object.keys(this.byId).length); }`),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add']);
    expect(checked.lines).toEqual([]);
  });

  it('optional chaining, non-null assertions, satisfies, `as` and parentheses still reach the object', async () => {
    const checked = await check(
      fleet(`
  optional(id: string, t: string): void { this.byId.get(id)?.tags.push(t); }
  asserted(): void { ((this.list as Machine[])[0]! satisfies Machine).busy = true; }
  computed(key: 'busy'): void { this.list[0]![key] = true; }
  elementKey(i: number): void { this.list[i]!.cpu = 0; }`),
      mapping,
    );
    expect(updateMethods(checked, 'fleet')).toEqual(['add', 'asserted', 'computed', 'elementKey', 'optional']);
  });
});

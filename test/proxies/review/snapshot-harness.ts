// Helpers for the review of the streamed snapshot: a primary, a streamed snapshot interleaved with requests,
// compared with a snapshot taken at once (the state at the snapshot's point) and with the primary after catch-up.
import { InMemoryLink } from '../../../proxies/replication/in-memory.js';
import { SNAPSHOT_LIMITS, wholeSnapshot } from '../../../proxies/replication/snapshot.js';
import { ServiceRuntime } from '../../../proxies/runtime.js';
import { parseMapping } from '../../../mappings/index.js';
import type { ClassRegistry } from '../../../proxies/core/encoding.js';
import { rawOf } from './h.js';

export { rawOf };

type Step = ((s: any) => unknown) | 'part' | 'parts';

export function withLimits(splitAbove: number, sliceEntries: number): () => void {
  const saved = { ...SNAPSHOT_LIMITS };
  Object.assign(SNAPSHOT_LIMITS, { splitAbove, sliceEntries });
  return () => Object.assign(SNAPSHOT_LIMITS, saved);
}

function mappingOf(update = 'state') {
  return parseMapping(`<durability service="S"><state name="store" type="replication" update="${update}"/></durability>`, 's.xml').mapping!;
}

/** A deep dump that also shows attributes, integrity, prototypes, symbol keys, typed bytes. */
export function deep(v: unknown): unknown {
  const seen = new Map<object, number>();
  const walk = (x: unknown): unknown => {
    if (typeof x === 'symbol') return `sym(${String(x)})`;
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x !== 'object' || x === null) return x === undefined ? '<undef>' : Object.is(x, -0) ? '-0' : x;
    if (seen.has(x)) return `@${seen.get(x)}`;
    seen.set(x, seen.size);
    const tag = `#${seen.get(x)}`;
    const integ = Object.isFrozen(x) ? 'F' : Object.isSealed(x) ? 'S' : Object.isExtensible(x) ? '' : 'N';
    const proto = Object.getPrototypeOf(x);
    const pname = proto === null ? 'null' : proto?.constructor?.name;
    const props = (keys: (string | symbol)[]) =>
      keys.map((k) => {
        const d = Object.getOwnPropertyDescriptor(x, k)!;
        return [String(k), 'value' in d ? walk(d.value) : 'accessor', `${d.writable ? 'w' : ''}${d.enumerable ? 'e' : ''}${d.configurable ? 'c' : ''}`];
      });
    const userKeys = (filter: (k: string | symbol) => boolean) => Reflect.ownKeys(x).filter((k) => filter(k) && typeof Object.getOwnPropertyDescriptor(x, k)!.value !== 'function');
    if (ArrayBuffer.isView(x)) return [tag, pname, Array.from(x as any, (n: any) => String(n)).join(','), props(userKeys((k) => typeof k !== 'string' || !/^\d+$/.test(k))), integ];
    if (x instanceof Date) return [tag, pname, `Date(${x.getTime()})`, props(userKeys(() => true)), integ];
    if (Array.isArray(x))
      return [
        tag,
        pname,
        x.length,
        Array.from({ length: x.length }, (_, i) => (i in x ? walk(x[i]) : '<hole>')),
        props(userKeys((k) => k !== 'length' && !(typeof k === 'string' && /^\d+$/.test(k)))),
        integ,
      ];
    if (x instanceof Map) return [tag, pname, [...Map.prototype.entries.call(x)].map(([k, v]) => [walk(k), walk(v)]), props(userKeys(() => true)), integ];
    if (x instanceof Set) return [tag, pname, [...Set.prototype.values.call(x)].map(walk), props(userKeys(() => true)), integ];
    return [tag, pname, props(Reflect.ownKeys(x)), integ];
  };
  return walk(v);
}

export interface Scenario {
  classes?: (new (...a: never[]) => object)[];
  create: () => object;
  update?: string;
  /** Requests before the snapshot. */
  before?: ((s: any) => unknown)[];
  /** Requests and 'part' (one tiny part) interleaved while it streams. */
  during: Step[];
  partBytes?: number;
}

/** Streams while running `during`; returns the state the streamed snapshot gives, the at-once one, and after catch-up joiner vs primary. */
export async function run(sc: Scenario) {
  const mapping = mappingOf(sc.update);
  const classes: ClassRegistry = new Map((sc.classes ?? []).map((c) => [c.name, c]));
  const objects = [{ name: 'store', create: sc.create }];
  const joiner = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes });
  const link = new InMemoryLink([joiner.replica], 0);
  const primary = await ServiceRuntime.start({ role: 'primary', mapping, objects, classes, link });
  const store = () => primary.object<any>('store');
  const req = async (f: (s: any) => unknown) => {
    await primary.execute({ method: 'm', touches: ['store'] }, () => {
      f(store());
      return undefined;
    });
  };
  for (const f of sc.before ?? []) await req(f);
  const expectedRt = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes });
  expectedRt.replica.loadSnapshot(JSON.parse(JSON.stringify(wholeSnapshot(primary.snapshotWriter()))));
  const expected = deep(rawOf(expectedRt, 'store'));
  const writer = primary.snapshotWriter();
  joiner.replica.beginSnapshot(JSON.parse(JSON.stringify(writer.header)));
  const parts: unknown[] = [];
  const take = () => {
    const next = writer.next(sc.partBytes ?? 1, Infinity);
    if (next) {
      const p = JSON.parse(next.part);
      parts.push(p);
      joiner.replica.snapshotPart(p);
    }
  };
  const errors: unknown[] = [];
  for (const step of sc.during) {
    if (step === 'part') take();
    else if (step === 'parts') while (!writer.finished) take();
    else {
      try {
        await req(step);
      } catch (e) {
        errors.push(e);
      }
    }
  }
  while (!writer.finished) take();
  const streamedRt = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes });
  streamedRt.replica.loadSnapshot({ header: JSON.parse(JSON.stringify(writer.header)), parts: parts as never });
  const streamed = deep(rawOf(streamedRt, 'store'));
  joiner.replica.finishSnapshot();
  const joinerState = deep(rawOf(joiner, 'store'));
  const primaryState = deep(rawOf(primary, 'store'));
  return { expected, streamed, joinerState, primaryState, errors, primary, joiner, parts };
}

/** A list the review's transaction and join cases change. */
export class ListStore {
  list: number[] = [];
}

/** A primary over the in-memory link with one backup (not yet given a snapshot), holding a ListStore. */
export async function primaryWithBackup(): Promise<{ primary: ServiceRuntime; backup: ServiceRuntime }> {
  const mapping = mappingOf();
  const classes = new Map([['ListStore', ListStore]]) as never;
  const objects = [{ name: 'store', create: () => new ListStore() }];
  const backup = await ServiceRuntime.start({ role: 'backup', mapping, objects, classes });
  const primary = await ServiceRuntime.start({ role: 'primary', mapping, objects, classes, link: new InMemoryLink([backup.replica], 0) });
  return { primary, backup };
}

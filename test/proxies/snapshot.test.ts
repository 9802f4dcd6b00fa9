// The streamed snapshot (proxies/replication/snapshot.ts) against the state it must reproduce: a snapshot
// streamed in tiny parts while requests change everything it holds must give a backup exactly the state as
// it was when the snapshot began (identity, order, holes, classes, dates, bytes), the same as a snapshot
// taken at once; and a backup that then applies the records made meanwhile must equal the primary.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryLink } from '../../proxies/replication/in-memory.js';
import { SNAPSHOT_LIMITS, wholeSnapshot } from '../../proxies/replication/snapshot.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import { parseMapping } from '../../mappings/index.js';
import type { ClassRegistry } from '../../proxies/core/encoding.js';
import { rawOf, shape } from './review/h.js';

class Item {
  constructor(
    public n = 0,
    public tags: string[] = [],
  ) {}
}

class Store {
  map = new Map<unknown, unknown>();
  set = new Set<unknown>();
  list: unknown[] = [];
  obj: Record<string, unknown> = {};
  when = new Date(0);
  bytes = new Uint8Array(4);
  items: Item[] = [];
}

const classes: ClassRegistry = new Map<string, new (...args: never[]) => object>([
  ['Store', Store],
  ['Item', Item],
]);
const objects = [{ name: 'store', create: () => new Store() }];

/** One change a request makes; `k` picks a key, `i` an item, `v` a value. */
type Op = { kind: number; k: number; i: number; v: number };
const op = fc.record({ kind: fc.integer({ min: 0, max: 17 }), k: fc.integer({ min: 0, max: 9 }), i: fc.integer({ min: 0, max: 5 }), v: fc.integer({ min: 0, max: 99 }) });

function apply(s: Store, { kind, k, i, v }: Op): void {
  const item = () => {
    while (s.items.length <= i) s.items.push(new Item(s.items.length));
    return s.items[i]!;
  };
  switch (kind) {
    case 0:
      s.map.set(`k${k}`, v);
      break;
    case 1:
      s.map.delete(`k${k}`);
      break;
    case 2:
      s.map.set(`k${k}`, item());
      break;
    case 3:
      s.set.add(v % 2 ? `m${k}` : item());
      break;
    case 4:
      s.set.delete(`m${k}`);
      break;
    case 5:
      s.list.push(v % 3 ? v : item());
      break;
    case 6:
      s.list.splice(k % (s.list.length + 1), 1);
      break;
    case 7:
      s.list[k] = v;
      break; // may leave holes
    case 8:
      s.obj[`f${k}`] = v % 2 ? v : item();
      break;
    case 9:
      delete s.obj[`f${k}`];
      break;
    case 10:
      item().n = v;
      break;
    case 11:
      item().tags.push(`t${v}`);
      break;
    case 12:
      s.when.setTime(v * 1000);
      break;
    case 13:
      s.bytes[k % 4] = v;
      break;
    case 14:
      if (v % 5 === 0) s.map.clear();
      break;
    case 15:
      s.list.reverse();
      break;
    case 16:
      s.map.set(item(), `for ${i}`);
      break; // an object as a key
    case 17:
      s.items.splice(i, 1);
      break;
  }
}

describe('a streamed snapshot', () => {
  const limits = { ...SNAPSHOT_LIMITS };
  beforeAll(() => Object.assign(SNAPSHOT_LIMITS, { splitAbove: 3, sliceEntries: 2 })); // small states take the large-object paths
  afterAll(() => Object.assign(SNAPSHOT_LIMITS, limits));

  const { mapping } = parseMapping(`<durability service="S"><state name="store" type="replication" update="state"/></durability>`, 's.xml');

  it('gives the state as it was when it began, whatever requests change while it streams', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 40 }),
        fc.array(
          fc.oneof(
            op.map((o) => ({ o })),
            fc.constant('part' as const),
          ),
          { maxLength: 80 },
        ),
        async (before, during) => {
          const primary = await ServiceRuntime.start({ role: 'primary', mapping: mapping!, objects, classes, link: new InMemoryLink([], 0) });
          const store = () => primary.object<Store>('store');
          const run = (o: Op) => primary.execute({ method: 'm', touches: ['store'] }, () => apply(store(), o));
          for (const o of before) await run(o);
          // The reference: the same state in one piece, at once.
          const expected = await backupFrom(wholeSnapshot(primary.snapshotWriter()));
          const writer = primary.snapshotWriter();
          const parts: unknown[] = [];
          const take = () => {
            const next = writer.next(1, Infinity);
            if (next) parts.push(JSON.parse(next.part));
          };
          for (const step of during) {
            if (step === 'part') take();
            else await run(step.o);
          }
          while (!writer.finished) take();
          const streamed = await backupFrom({ header: writer.header, parts: parts as never });
          expect(shape(rawOf(streamed, 'store'))).toEqual(shape(rawOf(expected, 'store')));
        },
      ),
      { numRuns: Number(process.env.SNAPSHOT_RUNS ?? 500) },
    );
  });

  it('brings a joining backup level with its primary once it applies the records made meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 30 }),
        fc.array(
          fc.oneof(
            op.map((o) => ({ o })),
            fc.constant('part' as const),
          ),
          { maxLength: 60 },
        ),
        async (before, during) => {
          const joiner = await ServiceRuntime.start({ role: 'backup', mapping: mapping!, objects, classes });
          const link = new InMemoryLink([joiner.replica], 0);
          const primary = await ServiceRuntime.start({ role: 'primary', mapping: mapping!, objects, classes, link });
          const store = () => primary.object<Store>('store');
          const run = (o: Op) => primary.execute({ method: 'm', touches: ['store'] }, () => apply(store(), o));
          // The joiner is sent every record from the start; it holds them until its snapshot is complete.
          const writer = primary.snapshotWriter();
          joiner.replica.beginSnapshot(writer.header);
          for (const o of before) await run(o);
          for (const step of during) {
            if (step === 'part') {
              const next = writer.next(1, Infinity);
              if (next) joiner.replica.snapshotPart(JSON.parse(next.part));
            } else await run(step.o);
          }
          for (let next = writer.next(64, Infinity); next; next = writer.next(64, Infinity)) joiner.replica.snapshotPart(JSON.parse(next.part));
          joiner.replica.finishSnapshot();
          await joiner.promote();
          expect(shape(rawOf(joiner, 'store'))).toEqual(shape(rawOf(primary, 'store')));
        },
      ),
      { numRuns: Number(process.env.SNAPSHOT_RUNS ?? 300) },
    );
  });

  async function backupFrom(snapshot: ReturnType<ServiceRuntime['snapshot']>): Promise<ServiceRuntime> {
    const backup = await ServiceRuntime.start({ role: 'backup', mapping: mapping!, objects, classes });
    backup.replica.loadSnapshot(JSON.parse(JSON.stringify(snapshot)));
    return backup;
  }
});

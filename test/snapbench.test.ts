import { it } from 'vitest';
import { InMemoryLink } from '/work/main/proxies/replication/in-memory.js';
import { ServiceRuntime } from '/work/main/proxies/runtime.js';
import { parseMapping } from '/work/main/mappings/index.js';
class Table { entries = new Map<string, string>(); list: string[] = []; obj: Record<string, string> = {}; set = new Set<string>(); }
it('x', async () => {
  const { mapping } = parseMapping(`<durability service="S"><state name="t" type="replication" update="state"/></durability>`, 's.xml');
  const classes = new Map([['Table', Table]]) as any;
  const objects = [{ name: 't', create: () => { const t = new Table(); for (let i = 0; i < 700_000; i++) { t.entries.set(i.toString(36).padStart(8, '0'), `value ${i} `.padEnd(100, '.')); t.list.push(`value ${i}`); t.set.add('s' + i); } for (let i = 0; i < 100_000; i++) t.obj['k' + i] = 'v'; return t; } }];
  const primary = await ServiceRuntime.start({ role: 'primary', mapping: mapping!, objects, classes, link: new InMemoryLink([], 0) });
  const t = () => primary.object<Table>('t');
  for (const [name, body] of [['map put new', () => { t().entries.set('zzz', 'x'); }], ['map put existing', () => { t().entries.set('00000001', 'x'); }], ['map delete', () => { t().entries.delete('00000002'); }], ['set delete', () => { t().set.delete('s5'); }], ['list set', () => { t().list[5] = 'y'; }], ['list push', () => { t().list.push('y'); }], ['obj set', () => { t().obj.k5 = 'y'; }], ['obj delete', () => { delete t().obj.k6; }]] as const) {
    const writer = process.env.NOWRITER ? { close() {} } : primary.snapshotWriter();
    if (!process.env.NOWRITER) (writer as any).next(256 * 1024, 4);
    const a = performance.now();
    await primary.execute({ method: 'm', touches: ['t'] }, body as () => unknown);
    const first = performance.now() - a;
    const b = performance.now();
    await primary.execute({ method: 'm', touches: ['t'] }, body as () => unknown);
    console.log(name, 'first write', first.toFixed(1), 'ms; second', (performance.now() - b).toFixed(1));
    writer.close();
  }
}, 120000);

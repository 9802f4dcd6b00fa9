// Regression tests from an adversarial review of the run-time: each case once broke a guarantee.
// build() makes a primary with backups over the in-memory link for an inline mapping.
import { parseMapping } from '../../../mappings/index.js';
import type { ClassRegistry } from '../../../proxies/core/encoding.js';
import type { DatabaseStore } from '../../../proxies/database/store.js';
import { InMemoryLink } from '../../../proxies/replication/in-memory.js';
import { ServiceRuntime } from '../../../proxies/runtime.js';

export async function build(
  xml: string,
  objects: { name: string; create: () => object }[],
  classList: (new (...a: never[]) => object)[],
  opts: { store?: DatabaseStore; backups?: number; minAcks?: number } = {},
) {
  const { mapping, diagnostics } = parseMapping(xml, 'x.xml');
  if (!mapping || diagnostics.filter((d: any) => d.severity !== 'warning').length > 0) throw new Error(JSON.stringify(diagnostics));
  const classes: ClassRegistry = new Map(classList.map((c) => [c.name, c]));
  const backups = await Promise.all(Array.from({ length: opts.backups ?? 1 }, () => ServiceRuntime.start({ role: 'backup', mapping, objects, classes, database: opts.store })));
  const link = new InMemoryLink(
    backups.map((b) => b.replica),
    opts.minAcks ?? 0,
  );
  const primary = await ServiceRuntime.start({ role: 'primary', mapping, objects, classes, database: opts.store, link, txConflictWaitMs: 200 });
  const snap = JSON.parse(JSON.stringify(primary.snapshot()));
  for (const b of backups) b.replica.loadSnapshot(snap);
  const run = (touches: string[], body: () => unknown, extra: { requestId?: string; tx?: string } = {}) => primary.execute({ method: 'm', touches, ...extra }, body);
  return { primary, backups, link, classes, run, mapping };
}

export function rawOf(rt: ServiceRuntime, name: string): any {
  return (rt.proxies.get(name) as any).raw;
}

/** identity-aware structural dump: repeated objects shown as @n */
export function shape(v: unknown): unknown {
  const seen = new Map<object, number>();
  const walk = (x: unknown): unknown => {
    if (typeof x !== 'object' || x === null) return x === undefined ? '<undef>' : x;
    if (x instanceof Date) return `Date(${x.getTime()})`;
    if (seen.has(x)) return `@${seen.get(x)}`;
    seen.set(x, seen.size);
    const tag = `#${seen.get(x)}`;
    if (Array.isArray(x)) return [tag, ...Array.from({ length: x.length }, (_, i) => (i in x ? walk(x[i]) : '<hole>'))];
    if (x instanceof Map) return { [tag]: 'Map', e: [...x].map(([k, v]) => [walk(k), walk(v)]) };
    if (x instanceof Set) return { [tag]: 'Set', e: [...x].map(walk) };
    const o: Record<string, unknown> = { [tag]: Object.getPrototypeOf(x)?.constructor?.name ?? 'null' };
    for (const k of Object.keys(x)) o[k] = walk((x as any)[k]);
    return o;
  };
  return walk(v);
}

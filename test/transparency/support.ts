// Runs a state class under a mapping written inline, the way a compiled service does: a primary (with
// backups over the in-memory link for replicated state, or on a real database for database state), a
// request per call, and what survives read back: a backup promoted, or a new primary recovered from the
// database. For the transparency regression tests, which compare each with the original class.
import { parseMapping, type ColumnType } from '../../mappings/index.js';
import type { ClassRegistry } from '../../proxies/core/encoding.js';
import type { Outcome } from '../../proxies/action/controller.js';
import { DatabaseStore } from '../../proxies/database/store.js';
import { InMemoryLink } from '../../proxies/replication/in-memory.js';
import { ServiceRuntime } from '../../proxies/runtime.js';
import type { ScratchDatabase } from '../support/databases.js';

export type Classes = (new (...args: never[]) => object)[];

export interface Harness<T> {
  primary: ServiceRuntime;
  backups: ServiceRuntime[];
  link: InMemoryLink;
  /** The state object as the service sees it (behind its proxy), during a request. */
  state: () => T;
  /** One request: `body` runs as a service method would. */
  run: (body: (state: T) => unknown, extra?: { tx?: string; requestId?: string }) => Promise<Outcome>;
  /** The real object behind the proxy, on the primary or on a backup. */
  raw: (runtime?: ServiceRuntime) => T;
  /** The first backup, promoted: what a failover leaves. */
  promote: () => Promise<ServiceRuntime>;
  /** A new primary started on the same database: what a restart leaves. */
  recover: () => Promise<ServiceRuntime>;
}

export async function harness<T extends object>(
  stateXml: string,
  create: () => T,
  classList: Classes,
  options: { database?: ScratchDatabase; backups?: number; objects?: { name: string; create: () => object }[]; applyTypes?: ColumnType[] } = {},
): Promise<Harness<T>> {
  const { mapping, diagnostics } = parseMapping(`<durability service="S">${stateXml}</durability>`, 'inline.xml');
  if (!mapping || diagnostics.some((d) => d.severity === 'error')) throw new Error(JSON.stringify(diagnostics));
  // What the compiler writes into a build's mapping from the <apply> method's parameter types.
  const database = mapping.states.find((s) => s.mechanism === 'database');
  if (options.applyTypes && database?.mechanism === 'database' && database.recovery) database.recovery.apply.types = options.applyTypes;
  const classes: ClassRegistry = new Map(classList.map((c) => [c.name, c]));
  const objects = options.objects ?? [{ name: 's', create }];
  const store = () => (options.database ? DatabaseStore.over(options.database.knex, options.database.dialect) : undefined);
  const backups = await Promise.all(Array.from({ length: options.backups ?? 1 }, () => ServiceRuntime.start({ role: 'backup', mapping, objects, classes, database: store() })));
  const link = new InMemoryLink(backups.map((b) => b.replica));
  const primary = await ServiceRuntime.start({ role: 'primary', mapping, objects, classes, database: store(), link, txConflictWaitMs: 200 });
  const snapshot = JSON.parse(JSON.stringify(primary.snapshot()));
  for (const b of backups) b.replica.loadSnapshot(snapshot);
  const name = objects[0]!.name;
  return {
    primary,
    backups,
    link,
    state: () => primary.object<T>(name),
    run: (body, extra = {}) => primary.execute({ method: 'm', touches: [name], ...extra }, () => body(primary.object<T>(name))),
    raw: (runtime = primary) => (runtime.proxies.get(name) as unknown as { rawObject: T }).rawObject,
    async promote() {
      await backups[0]!.promote();
      return backups[0]!;
    },
    async recover() {
      return ServiceRuntime.start({ role: 'primary', mapping, objects, classes, database: store() });
    },
  };
}

/**
 * What a value is, as a comparable tree: types, prototypes (by constructor name), property attributes,
 * holes, integrity, and the identity graph (an object met again is `@n`, n its first appearance).
 */
export function shape(value: unknown): unknown {
  const seen = new Map<object, number>();
  const walk = (v: unknown): unknown => {
    if (v === undefined) return '<undefined>';
    if (typeof v === 'number') return Object.is(v, -0) ? '<-0>' : Number.isNaN(v) ? '<NaN>' : v;
    if (typeof v === 'bigint') return `<${v}n>`;
    if (typeof v === 'symbol') return `<${String(v)}>`;
    if (typeof v === 'function') return `<function ${v.name}>`;
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return `@${seen.get(v)}`;
    seen.set(v, seen.size);
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
    const out: Record<string, unknown> = { '#': seen.get(v), proto: proto === null ? null : (proto.constructor?.name ?? '?') };
    if (!Object.isExtensible(v)) out.integrity = Object.isFrozen(v) ? 'frozen' : Object.isSealed(v) ? 'sealed' : 'non-extensible';
    if (v instanceof Date) out.time = v.getTime();
    if (v instanceof Map) out.entries = [...Map.prototype.entries.call(v)].map(([k, x]) => [walk(k), walk(x)]);
    if (v instanceof Set) out.members = [...Set.prototype.values.call(v)].map(walk);
    if (ArrayBuffer.isView(v)) out.bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    const props: unknown[] = [];
    for (const key of Reflect.ownKeys(v)) {
      if (v instanceof Map || v instanceof Set || v instanceof Date) {
        const d = Reflect.getOwnPropertyDescriptor(v, key)!;
        if (!d.enumerable && typeof d.value === 'function') continue; // the run-time's own watch on it
      }
      if (ArrayBuffer.isView(v) && typeof key === 'string' && /^\d+$/.test(key)) continue;
      const d = Reflect.getOwnPropertyDescriptor(v, key)!;
      const flags = `${d.enumerable ? 'e' : ''}${d.configurable ? 'c' : ''}${'value' in d ? (d.writable ? 'w' : '') : 'a'}`;
      props.push([typeof key === 'symbol' ? `<${String(key)}>` : key, flags, 'value' in d ? walk(d.value) : '<accessor>']);
    }
    out.props = props;
    return out;
  };
  return walk(value);
}

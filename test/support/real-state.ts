// The one place tests reach behind a durability proxy to the state object itself: the objects the
// run-time really holds, which a differential comparison must see as they are (no trap runs, no wrapping).
import { rawOf } from '../../proxies/core/raw.js';
import type { ServiceRuntime } from '../../proxies/runtime.js';

/**
 * The real state object `name` of `runtime` (a primary's or a backup's), behind its membrane. A compiled
 * build runs the run-time from dist/, whose registry is another module instance: pass its `rawOf`.
 */
export function realState(runtime: Pick<ServiceRuntime, 'object' | 'proxies'>, name: string, registry: <T>(value: T) => T = rawOf): object {
  const proxy = runtime.object<object>(name);
  const raw = registry(proxy);
  if (raw !== proxy) return raw;
  // Before the registry of proxies (proxies/core/raw.ts), each durability proxy kept its object as `raw`.
  const kept = (runtime.proxies.get(name) as { raw?: object } | undefined)?.raw;
  if (kept === undefined)
    throw new Error(`Cannot see behind the proxy of state object '${name}': neither rawOf() nor the proxy's 'raw' knows it. Update test/support/real-state.ts to the run-time's accessor.`);
  return kept;
}

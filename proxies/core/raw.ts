// Which objects are durability proxies, and the real object behind each, whatever membrane made it:
// for code that must see through them (the run-time's own encoding, and the built-ins that a Proxy
// cannot pass, such as structuredClone). Kept in a module of its own so that anything may ask.
const targets = new WeakMap<object, object>();

/** Called by the membrane for every proxy it makes. */
export function registerProxy(proxy: object, raw: object): void {
  targets.set(proxy, raw);
}

/** Whether `value` is a durability proxy. */
export function isStateProxy(value: unknown): boolean {
  return typeof value === 'object' && value !== null && targets.has(value);
}

/** The real object behind a durability proxy, or the value itself. */
export function rawOf<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  return (targets.get(value) as T | undefined) ?? value;
}

// The user's own structuredClone: not the global, so the build leaves it alone.
function structuredClone<T>(value: T): { copied: T } {
  return { copied: value };
}

export function copyOf(items: unknown[]): number {
  return Object.keys(structuredClone(items.length)).length;
}

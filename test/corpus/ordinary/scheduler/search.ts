/** Where `value` goes in an array sorted by `key`, by binary search. */
export function insertionIndex<T>(sorted: readonly T[], value: T, key: (item: T) => number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(sorted[mid]!) <= key(value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

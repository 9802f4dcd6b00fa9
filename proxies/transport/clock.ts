// The clock a backup measures its lease with (replication/following.ts). The monotonic clock stops while
// a host is suspended or a VM is paused, so a backup would not see that time passed; the wall clock goes
// on, but may be stepped. This clock advances by the larger of the two since it was last read, and never
// goes back: a stall of any kind makes it later, which only ever makes a backup more careful.
export function stallAwareClock(): () => number {
  let monotonic = performance.now();
  let wall = Date.now();
  let now = monotonic;
  return () => {
    const m = performance.now();
    const w = Date.now();
    now += Math.max(m - monotonic, w - wall, 0);
    monotonic = m;
    wall = w;
    return now;
  };
}

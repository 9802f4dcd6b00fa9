// Stack traces that point at the user's code. A build compiles its own copy of each source file (the
// `@state` decorators and their import gone, `#private` members rewritten, an import added), so the
// source map TypeScript emits names the copy's lines. This re-points it at the user's file: each line of
// the copy is aligned with the line of the original it came from (lines the compiler added take the line
// before them), and the map carries the original text, so a debugger shows what the user wrote.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decode, encode } from '@jridgewell/sourcemap-codec';

/** Past this many differing lines, the copy is aligned line for line (the diff would cost too much). */
const MAX_DIFFERENCES = 2000;

/**
 * For each line of `copy`, the line of `original` it came from (0-based): lines both texts keep (a
 * shortest edit script, Myers' algorithm) map exactly; the lines between two kept ones map to the
 * original's lines between the same two, in order (a line changed in place to the line it replaced), or
 * to the last kept line where the original has none left there (lines the compiler added).
 */
export function alignLines(original: string, copy: string): number[] {
  const from = original.split(/\r?\n/);
  const to = copy.split(/\r?\n/);
  const kept = commonLines(from, to) ?? [];
  const aligned = new Array<number>(to.length);
  let [i, j] = [0, 0];
  for (const [keptFrom, keptTo] of [...kept, [from.length, to.length] as const]) {
    for (let k = i; k < keptTo; k++) aligned[k] = Math.min(j + (k - i), keptFrom > j ? keptFrom - 1 : Math.max(0, j - 1), from.length - 1);
    if (keptTo < to.length) aligned[keptTo] = keptFrom;
    [i, j] = [keptTo + 1, keptFrom + 1];
  }
  return aligned;
}

/** The pairs (original line, copy line) a shortest edit script keeps, in order; undefined past MAX_DIFFERENCES. */
function commonLines(a: readonly string[], b: readonly string[]): [number, number][] | undefined {
  const max = Math.min(a.length + b.length, MAX_DIFFERENCES);
  const offset = max + 1;
  // v[offset + k]: how far along a the furthest path on diagonal k (x - y = k) has come; one copy per round.
  const v = new Int32Array(2 * max + 3);
  const rounds: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = goesDown(v, offset, k, d) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < a.length && y < b.length && a[x] === b[y]) [x, y] = [x + 1, y + 1];
      v[offset + k] = x;
      if (x >= a.length && y >= b.length) {
        rounds.push(v.slice());
        return keptPairs(rounds, offset, a.length, b.length);
      }
    }
    rounds.push(v.slice());
  }
  return undefined;
}

/** Whether the path to diagonal k in round d comes down from k + 1 (a line only b has) rather than from k - 1. */
function goesDown(v: Int32Array, offset: number, k: number, d: number): boolean {
  return k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
}

function keptPairs(rounds: Int32Array[], offset: number, n: number, m: number): [number, number][] {
  const pairs: [number, number][] = [];
  let [x, y] = [n, m];
  for (let d = rounds.length - 1; d > 0; d--) {
    const previous = rounds[d - 1]!;
    const k = x - y;
    const down = goesDown(previous, offset, k, d);
    const fromX = previous[offset + (down ? k + 1 : k - 1)]!;
    const fromY = fromX - (down ? k + 1 : k - 1);
    // The edit step, then the diagonal (kept lines) up to (x, y).
    const [snakeX, snakeY] = down ? [fromX, fromY + 1] : [fromX + 1, fromY];
    while (x > snakeX && y > snakeY) pairs.push([--x, --y]);
    [x, y] = [fromX, fromY];
  }
  while (x > 0 && y > 0) pairs.push([--x, --y]);
  return pairs.reverse();
}

/**
 * Rewrites the source map TypeScript wrote for `emitted` (a build's copy compiled to JavaScript) so that
 * it names `originalFile`, at the lines `alignLines` found. Columns are kept: exact on unchanged lines,
 * close on changed ones.
 */
export async function pointMapAtOriginal(mapFile: string, originalFile: string, originalText: string, copyText: string): Promise<void> {
  const map = JSON.parse(await readFile(mapFile, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string; mappings: string };
  const lines = alignLines(originalText, copyText);
  const decoded = decode(map.mappings);
  for (const segments of decoded) {
    for (const segment of segments) {
      if (segment.length >= 4) segment[2] = lines[segment[2]!] ?? segment[2]!;
    }
  }
  map.mappings = encode(decoded);
  map.sources = [path.relative(path.dirname(mapFile), originalFile).split(path.sep).join('/')];
  map.sourcesContent = [originalText];
  delete map.sourceRoot;
  await writeFile(mapFile, JSON.stringify(map));
}

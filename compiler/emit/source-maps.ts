// Stack traces that point at the user's code. A build compiles its own copy of each source file (the
// `@state` decorators and their import gone, `#private` members rewritten, an import added), so the
// source map TypeScript emits names the copy's lines. This re-points it at the user's file: each line of
// the copy is aligned with the line of the original it came from (lines the compiler added take the line
// before them), and the map carries the original text, so a debugger shows what the user wrote.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decode, encode } from '@jridgewell/sourcemap-codec';

/** How far ahead a changed region is searched for the next line both texts share. */
const WINDOW = 400;

/**
 * For each line of `copy`, the line of `original` it came from (0-based). Lines only the copy has map to
 * the original line just before them; a line the copy changed in place maps to the line it replaced.
 */
export function alignLines(original: string, copy: string): number[] {
  const from = original.split(/\r?\n/);
  const to = copy.split(/\r?\n/);
  const aligned: number[] = [];
  let i = 0; // in the copy
  let j = 0; // in the original
  const distinctive = (line: string) => line.trim().length > 1; // a blank line or a lone brace matches anywhere
  while (i < to.length) {
    if (j < from.length && to[i] === from[j]) {
      aligned.push(j++);
      i++;
      continue;
    }
    const removed = distinctive(to[i]!) ? findAhead(from, j + 1, to[i]!) : -1; // original lines the copy dropped
    const added = j < from.length && distinctive(from[j]!) ? findAhead(to, i + 1, from[j]!) : -1; // lines the copy added
    if (removed >= 0 && (added < 0 || removed - j <= added - i)) {
      j = removed;
    } else if (added >= 0) {
      while (i < added) aligned[i++] = Math.max(0, Math.min(j, from.length) - 1);
    } else {
      aligned.push(Math.min(j, from.length - 1)); // changed in place
      i++;
      j++;
    }
  }
  return aligned;
}

function findAhead(lines: readonly string[], start: number, line: string): number {
  for (let k = start; k < lines.length && k < start + WINDOW; k++) if (lines[k] === line) return k;
  return -1;
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

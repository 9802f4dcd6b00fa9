// The mapping language: read a durability mapping file into the typed model, with diagnostics.
import { readFile } from 'node:fs/promises';
import { diagnostic, type Diagnostic } from './diagnostics.js';
import { readMapping, type ReadMappingResult } from './validate.js';
import { parseXml } from './xml.js';

export * from './diagnostics.js';
export * from './model.js';
export * from './sql.js';

export type LoadedMapping = Partial<ReadMappingResult> & { diagnostics: Diagnostic[] };

/** Parses and validates mapping text; `file` is the path diagnostics name. */
export function parseMapping(source: string, file: string): LoadedMapping {
  const xml = parseXml(source, file);
  if (!xml.root) return { diagnostics: xml.diagnostics };
  return readMapping(xml.root, file);
}

export async function loadMapping(file: string): Promise<LoadedMapping> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    return { diagnostics: [diagnostic('DUR0001', `Cannot read the mapping file '${file}': ${describeFsError(error)}.`)] };
  }
  return parseMapping(source, file);
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error).message;
}

// Edits to a copied source file, found on its syntax tree and applied to its text at once: the copy keeps
// the user's formatting and comments everywhere the compiler does not change it.
import { ts } from 'ts-morph';

export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * Applies edits that do not overlap (an insertion may share its position with another edit; those at
 * one position apply in the order given).
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const ordered = edits.map((edit, order) => ({ ...edit, order })).sort((a, b) => a.start - b.start || a.end - b.end || a.order - b.order);
  let out = '';
  let at = 0;
  for (const edit of ordered) {
    if (edit.start < at) throw new Error(`Overlapping edits at ${edit.start} (the previous one ends at ${at}): a bug in durability-compiler.`);
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}

/**
 * Where declarations the compiler adds to a file go: after its leading imports, or after its opening
 * comment (so that they exist before any of the file's own code runs, and the file still opens as written).
 */
export function openingEnd(source: ts.SourceFile): number {
  let at = 0;
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) && !ts.isImportEqualsDeclaration(statement)) break;
    at = statement.end;
  }
  if (at > 0) return at;
  // The comments before a blank line open the file; the ones after it belong to the first statement.
  for (const comment of ts.getLeadingCommentRanges(source.text, 0) ?? []) {
    if (/^\s*\n\s*\n/.test(source.text.slice(comment.end))) return comment.end;
  }
  return 0;
}

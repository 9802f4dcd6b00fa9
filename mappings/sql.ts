// The SQL inside a mapping: split into statements and cut into literal text and `arg[N]` / `arg[N].a.b`
// references. A reference becomes a bound parameter, never spliced text, so a value can not change what a
// statement means. The lexer knows quotes, identifiers in quotes or backticks, comments and PostgreSQL
// dollar quoting, so a `;` or an `arg[0]` inside them is not mistaken for structure.
import type { SourcePosition } from './diagnostics.js';
import type { XmlText } from './xml.js';

export interface ArgumentReference {
  /** Index into the update method's arguments. */
  index: number;
  /** Property path below the argument: `arg[0].spec.cpu` → ['spec', 'cpu']. */
  path: string[];
  /** The placeholder as written, for messages. */
  source: string;
  position: SourcePosition;
}

/** Literal SQL text alternating with argument references, in order. */
type SqlSegment = string | ArgumentReference;

export interface SqlStatement {
  segments: SqlSegment[];
  position: SourcePosition;
}

interface SqlProblem {
  kind: 'malformed-placeholder' | 'placeholder-in-quotes';
  message: string;
  position: SourcePosition;
}

export interface ParsedSql {
  statements: SqlStatement[];
  problems: SqlProblem[];
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_$]/;
const PLACEHOLDER = /^arg\[(\d+)\]((?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)/;
const PLACEHOLDER_START = /^arg\s*\[/;
/** PostgreSQL dollar quoting: `$$` or `$tag$`, a tag being an identifier. */
const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;

export function parseSql(input: XmlText): ParsedSql {
  const { text } = input;
  const statements: SqlStatement[] = [];
  const problems: SqlProblem[] = [];
  let segments: SqlSegment[] = [];
  let literal = '';
  let statementStart = -1;
  const mark = (i: number) => {
    if (statementStart < 0 && !/\s/.test(text[i]!)) statementStart = i;
  };
  const flushLiteral = () => {
    if (literal !== '') segments.push(literal);
    literal = '';
  };
  const endStatement = () => {
    flushLiteral();
    const trimmed = trimSegments(segments);
    if (trimmed.some((s) => typeof s !== 'string' || !isOnlyCommentsOrSpace(s))) {
      statements.push({ segments: trimmed, position: input.positionAt(statementStart) });
    }
    segments = [];
    statementStart = -1;
  };
  const checkQuotedPlaceholders = (from: number, to: number) => {
    const inner = text.slice(from, to);
    const found = /(?<![A-Za-z0-9_$])arg\[\d+\]/.exec(inner);
    if (found) {
      problems.push({
        kind: 'placeholder-in-quotes',
        message: `'${found[0]}' is inside a quoted string, where it would be taken literally. Remove the quotes around it: a bound parameter needs none.`,
        position: input.positionAt(from + found.index),
      });
    }
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const rest = text.slice(i, i + 2);
    if (rest === '--') {
      const end = indexOrEnd(text, '\n', i);
      literal += text.slice(i, end);
      i = end;
    } else if (rest === '/*') {
      const end = indexOrEnd(text, '*/', i + 2, 2);
      literal += text.slice(i, end);
      i = end;
    } else if (c === "'" || c === '"' || c === '`') {
      mark(i);
      const end = closingQuote(text, i, c);
      if (c === "'") checkQuotedPlaceholders(i + 1, end);
      literal += text.slice(i, end + 1);
      i = end + 1;
    } else if (c === '$' && DOLLAR_TAG.test(text.slice(i, i + 64)) && !IDENT_PART.test(text[i - 1] ?? ' ')) {
      mark(i);
      const tag = DOLLAR_TAG.exec(text.slice(i, i + 64))![0];
      const end = indexOrEnd(text, tag, i + tag.length, tag.length);
      checkQuotedPlaceholders(i + tag.length, end);
      literal += text.slice(i, end);
      i = end;
    } else if (c === ';') {
      endStatement();
      i++;
    } else if (IDENT_START.test(c) && !IDENT_PART.test(text[i - 1] ?? ' ')) {
      mark(i);
      let end = i;
      while (end < text.length && IDENT_PART.test(text[end]!)) end++;
      const word = text.slice(i, end);
      const tail = text.slice(i);
      if (word === 'arg' && PLACEHOLDER_START.test(tail)) {
        const match = PLACEHOLDER.exec(tail);
        const after = match ? tail[match[0].length] : undefined;
        if (!match || after === '.' || after === '[') {
          const shown = /^arg\s*\[[^\]\s;,)]*\]?(?:\[[^\]]*\]?|\.[^\s;,)]*)*/.exec(tail)![0];
          problems.push({
            kind: 'malformed-placeholder',
            message: `Malformed placeholder '${shown.replace(/\s+/g, ' ')}'. Write arg[N] or arg[N].property, where N is the argument's index counted from 0.`,
            position: input.positionAt(i),
          });
          literal += shown;
          i += shown.length;
          continue;
        }
        flushLiteral();
        segments.push({
          index: Number(match[1]),
          path: match[2] ? match[2].slice(1).split('.') : [],
          source: match[0],
          position: input.positionAt(i),
        });
        i += match[0].length;
      } else {
        literal += word;
        i = end;
      }
    } else {
      mark(i);
      literal += c;
      i++;
    }
  }
  endStatement();
  return { statements, problems };
}

function indexOrEnd(text: string, needle: string, from: number, skip = 0): number {
  const at = text.indexOf(needle, from);
  return at < 0 ? text.length : at + skip;
}

/** Index of the quote that closes the one at `open` (a doubled quote is an escaped one). */
function closingQuote(text: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i;
    } else i++;
  }
  return text.length;
}

function isOnlyCommentsOrSpace(s: string): boolean {
  return s.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim() === '';
}

function trimSegments(segments: SqlSegment[]): SqlSegment[] {
  const out = [...segments];
  if (typeof out[0] === 'string') out[0] = out[0].trimStart();
  const last = out.length - 1;
  if (typeof out[last] === 'string') out[last] = (out[last] as string).trimEnd();
  return out.filter((s) => s !== '');
}

/** The statement as written, placeholders included: for messages and generated comments. */
export function sqlSourceText(statement: SqlStatement): string {
  return statement.segments.map((s) => (typeof s === 'string' ? s : s.source)).join('');
}

export function argumentReferences(statement: SqlStatement): ArgumentReference[] {
  return statement.segments.filter((s): s is ArgumentReference => typeof s !== 'string');
}

/**
 * The statement as knex.raw wants it: `?` for each bound value, and every literal `?` escaped so knex
 * does not take it for a binding (knex does not look inside quotes).
 */
export function toKnexRaw(statement: SqlStatement, args: readonly unknown[]): { sql: string; bindings: unknown[] } {
  return { sql: knexSqlText(statement), bindings: argumentReferences(statement).map((ref) => resolveArgument(ref, args)) };
}

/** The statement's literal text around its references: one more part than references (a driver joins them with its placeholders, or writes values in). */
export function literalParts(statement: SqlStatement): string[] {
  const parts = [''];
  for (const segment of statement.segments) {
    if (typeof segment === 'string') parts[parts.length - 1] += segment;
    else parts.push('');
  }
  return parts;
}

/** The statement's text for knex.raw alone: `?` per reference, literal `?` escaped. */
export function knexSqlText(statement: SqlStatement): string {
  return statement.segments.map((s) => (typeof s === 'string' ? s.replace(/\?/g, '\\?') : '?')).join('');
}

/**
 * Reads `arg[N].a.b` from a call's arguments. An undefined final value binds SQL NULL (an optional
 * property); a missing link on the way is an error, as the same access would be in the method itself,
 * so that a request with a malformed argument fails instead of writing NULLs.
 */
export function resolveArgument(reference: ArgumentReference, args: readonly unknown[]): unknown {
  let value: unknown = args[reference.index];
  for (const [depth, key] of reference.path.entries()) {
    if (value === null || value === undefined) {
      const reached = ['arg[' + reference.index + ']', ...reference.path.slice(0, depth)].join('.');
      throw new TypeError(`Cannot read '${key}' of ${reached} (${String(value)}) for the SQL parameter ${reference.source}.`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value === undefined ? null : value;
}

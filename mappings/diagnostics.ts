// Diagnostics shared by the mapping language and the compiler: one catalogue of codes, one shape, one
// printer in the style of tsc (`path:line:col - error DURnnnn: message`), so editors and CI logs can
// jump to the place that needs fixing.
import path from 'node:path';

export type Severity = 'error' | 'warning';

/** 1-based line and column, as editors count them; offset is 0-based into the file's text. */
export interface SourcePosition {
  line: number;
  column: number;
}

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  /** Absent for problems that concern a whole file or the command line. */
  file?: string;
  position?: SourcePosition;
}

interface CatalogueEntry {
  severity: Severity;
  title: string;
  /** A code the tool no longer prints (kept so that old logs and links still find their meaning). */
  retired?: true;
}

/**
 * Every code the tool can print. DUR0xxx: files and inputs; DUR1xxx: the mapping file on its own (XML and
 * the schema of the language); DUR2xxx: the mapping bound to the service's source. docs/DIAGNOSTICS.md
 * lists the same table; a test keeps the two in step.
 */
export const DIAGNOSTIC_CATALOGUE = {
  DUR0001: { severity: 'error', title: 'A file named on the command line cannot be read.' },
  DUR0002: { severity: 'error', title: 'The service source does not parse as TypeScript.' },
  DUR0003: { severity: 'error', title: "The service's tsconfig.json cannot be read." },
  DUR0004: { severity: 'error', title: 'The service does not type-check, so it cannot be compiled (`durable compile` only).' },
  DUR1001: { severity: 'error', title: 'The mapping is not well-formed XML.' },
  DUR1002: { severity: 'error', title: 'An element the mapping language does not have, or one in the wrong place.' },
  DUR1003: { severity: 'error', title: 'An attribute the element does not take.' },
  DUR1004: { severity: 'error', title: 'A required attribute or child element is missing.' },
  DUR1005: { severity: 'error', title: 'Unknown durability mechanism in `type`.' },
  DUR1006: { severity: 'error', title: 'An attribute value it does not allow (an update or sync mode, a dialect, a name, a column list).' },
  DUR1007: { severity: 'error', title: 'The same state object, method or section is given twice.' },
  DUR1008: { severity: 'error', title: 'Text where the language expects only elements.' },
  DUR1009: { severity: 'error', title: 'Malformed `arg[N]` placeholder.' },
  DUR1010: { severity: 'error', title: 'A placeholder where no arguments exist, or inside a quoted SQL string.' },
  DUR1011: { severity: 'error', title: 'Empty SQL where a statement is required.' },
  DUR1012: { severity: 'error', title: 'The root element is not `<durability>`, or a DTD is present.' },
  DUR1013: { severity: 'warning', title: 'A SQL statement has no variant for one of the supported dialects.' },
  DUR1014: { severity: 'error', title: "A method's SQL ends or starts a transaction, or changes the schema (the run-time commits each group in one transaction of its own)." },
  DUR2001: { severity: 'error', title: 'The `service` attribute names no exported class of the service source.' },
  DUR2002: { severity: 'error', title: 'A mapping entry names no `@state` field of the service.' },
  DUR2003: { severity: 'error', title: 'A `@state` field has no mapping entry.' },
  DUR2004: { severity: 'error', title: 'A `<method>`, `<apply>`, `<checkpoint>`, `<restore>` or `<recovery>` names no method of the state class.' },
  DUR2005: { severity: 'error', title: '`arg[N]` refers to a parameter the method does not have.' },
  DUR2006: { severity: 'error', title: 'An update method of a database object has no `<sql>`.' },
  DUR2007: { severity: 'error', title: '`update="repeat"` on a method whose result depends on something the run-time cannot replay (module-level variables, the environment, I/O).' },
  DUR2008: { severity: 'error', title: 'A `@state` field does not hold an instance of a class declared in the sources.' },
  DUR2009: { severity: 'error', title: 'The number of arguments does not fit the method (`<apply args>`, recovery or checkpoint methods).' },
  DUR2010: { severity: 'warning', title: 'SQL mapped to a method that never updates the object.' },
  DUR2011: { severity: 'error', title: 'A database object has no `<recovery>`, so a failover would lose it.' },
  DUR2012: { severity: 'error', title: "`arg[N].path` names a property the parameter's type does not have." },
  DUR2013: { severity: 'error', title: 'The `@state` decorator is used on something other than a named instance field, or called as `@state()`.' },
  DUR2014: { severity: 'error', title: 'A state class uses a pattern the durability proxy cannot see through (arrow-function properties, extending a built-in collection).' },
  DUR2015: { severity: 'error', title: 'A service method stores a state object where a later change would bypass durability (a module variable, a non-state field).' },
  DUR2016: { severity: 'error', title: '`update="repeat"` on an async method (no longer reported: async methods under repeat ship their changes).', retired: true },
  DUR2017: { severity: 'warning', title: 'A method of a database object hands state to code the analysis cannot see into, so whether it updates is unsure.' },
  DUR2018: { severity: 'error', title: 'Code reaches a state object from a callback that runs after the request (a timer, an event listener, a promise nobody awaits).' },
  DUR2019: { severity: 'error', title: 'A service method replaces a state field instead of changing the state object.' },
  DUR2020: { severity: 'error', title: 'A value bound to a database column has a type a column cannot hold and give back (a Map, a Set, a function, a class instance, JSON data with a Date inside).' },
  DUR2021: { severity: 'error', title: "Code outside a database object's own methods writes into it, so no mapped SQL stores the change." },
  DUR2022: { severity: 'error', title: 'A replicated or database state object holds functions, which cannot be shipped or stored.' },
  DUR2023: { severity: 'warning', title: 'SQLite refuses a statement of the mapping written for every database (it may be meant for PostgreSQL or MariaDB alone).' },
  DUR2024: { severity: 'error', title: 'The database the statement is for refuses it: a `dialect="sqlite"` statement on SQLite, or any statement on the database given to `durable check --db`.' },
} as const satisfies Record<string, CatalogueEntry>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CATALOGUE;

export function diagnostic(code: DiagnosticCode, message: string, where?: { file?: string; position?: SourcePosition }): Diagnostic {
  return { code, severity: DIAGNOSTIC_CATALOGUE[code].severity, message, ...where };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders by file, then position, so output is stable whatever order the checks ran in. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.column ?? 0) - (b.position?.column ?? 0) || a.code.localeCompare(b.code),
  );
}

/** `file:line:col - error DURnnnn: message`, with the file relative to `cwd` as tsc prints it. */
export function formatDiagnostic(d: Diagnostic, cwd: string): string {
  const head = `${d.severity} ${d.code}: ${d.message}`;
  if (!d.file) return head;
  const rel = path.relative(cwd, d.file) || d.file;
  const shown = rel.startsWith('..') && path.isAbsolute(d.file) ? d.file : rel;
  const where = d.position ? `${shown}:${d.position.line}:${d.position.column}` : shown;
  return `${where} - ${head}`;
}

/** Turns 0-based offsets into 1-based line:column; built once per file. */
export class LineMap {
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
  }

  position(offset: number): SourcePosition {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }
}

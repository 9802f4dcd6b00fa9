// The SQL lexer of the mapping language: what is a statement, what is a placeholder, and what must be
// left alone (quotes, comments, dollar quoting), and how statements are handed to knex.
import { describe, expect, it } from 'vitest';
import { parseSql, sqlSourceText, toKnexRaw, resolveArgument, argumentReferences } from '../../mappings/sql.js';
import type { XmlText } from '../../mappings/xml.js';

/** Text at line 1, column = index + 1: enough to check positions in isolation. */
function text(sql: string): XmlText {
  return { text: sql, positionAt: (i) => ({ line: 1, column: i + 1 }) };
}

describe('parseSql', () => {
  it('turns arg[N] and arg[N].path into bound references, in order, with their columns', () => {
    const { statements, problems } = parseSql(text('UPDATE t SET a = arg[1], b = arg[0].spec.cpu WHERE id = arg[0]'));
    expect(problems).toEqual([]);
    expect(statements).toHaveLength(1);
    const refs = argumentReferences(statements[0]!);
    expect(refs.map((r) => [r.index, r.path, r.position.column])).toEqual([
      [1, [], 18],
      [0, ['spec', 'cpu'], 30],
      [0, [], 57],
    ]);
  });

  it('splits statements at semicolons outside quotes and comments, dropping empty ones', () => {
    const { statements } = parseSql(
      text(`
      CREATE TABLE a (x TEXT DEFAULT ';');
      -- a comment; with a semicolon
      INSERT INTO a VALUES ('it''s; fine') ; ;
      /* block; comment */`),
    );
    expect(statements.map(sqlSourceText)).toEqual(["CREATE TABLE a (x TEXT DEFAULT ';')", "-- a comment; with a semicolon\n      INSERT INTO a VALUES ('it''s; fine')"]);
  });

  it('leaves identifiers that merely contain arg alone', () => {
    const { statements, problems } = parseSql(text('SELECT target[1], "arg[0]", `arg`, margin FROM t'));
    expect(problems).toEqual([]);
    expect(argumentReferences(statements[0]!)).toEqual([]);
  });

  it('reports a placeholder inside a string literal or a dollar-quoted body', () => {
    const quoted = parseSql(text("SELECT 'arg[0]'"));
    expect(quoted.problems.map((p) => [p.kind, p.position.column])).toEqual([['placeholder-in-quotes', 9]]);
    const dollar = parseSql(text('DO $body$ BEGIN PERFORM arg[2]; END $body$'));
    expect(dollar.problems.map((p) => p.kind)).toEqual(['placeholder-in-quotes']);
    expect(dollar.statements).toHaveLength(1);
  });

  it.each(['arg[x]', 'arg[]', 'arg[0].', 'arg[0][1]', 'arg[-1]', 'arg [1'])('reports the malformed placeholder %s', (bad) => {
    const { problems } = parseSql(text(`UPDATE t SET a = ${bad} WHERE 1 = 1`));
    expect(problems.map((p) => [p.kind, p.position.column])).toEqual([['malformed-placeholder', 18]]);
  });
});

describe('toKnexRaw', () => {
  it('binds every reference and escapes literal question marks, so no value is ever spliced into SQL', () => {
    const [statement] = parseSql(text("UPDATE t SET note = 'why?', owner = arg[1].name WHERE id = arg[0]")).statements;
    const evil = '1; DROP TABLE t; --';
    expect(toKnexRaw(statement!, [evil, { name: "O'Brien" }])).toEqual({
      sql: "UPDATE t SET note = 'why\\?', owner = ? WHERE id = ?",
      bindings: ["O'Brien", evil],
    });
  });

  it('binds an undefined optional property as NULL but refuses a missing link on the path', () => {
    const [statement] = parseSql(text('INSERT INTO t VALUES (arg[0].a.b)')).statements;
    const [ref] = argumentReferences(statement!);
    expect(resolveArgument(ref!, [{ a: {} }])).toBeNull();
    expect(() => resolveArgument(ref!, [{}])).toThrow(/Cannot read 'b' of arg\[0\]\.a \(undefined\) for the SQL parameter arg\[0\]\.a\.b/);
  });
});

// What a client is told when the database refuses a request's statement: which rule it broke (the
// constraint, the table, the column, the SQLSTATE), never the statement's text or the values it bound
// (docs/SECURITY.md). The drivers' own messages quote values ("Duplicate entry 'alice@x' for key …",
// 'invalid input syntax for type integer: "12a"'), and knex prefixes the statement with its bindings
// written in; the node's log keeps the whole message.

/** Words before a quoted name that make it an identifier (a schema object), not a value. */
const IDENTIFIER_BEFORE = /\b(constraint|relation|column|table|key|index|type|schema|function|database|field|sequence|trigger|view)\s*$/i;

export function refusalForClients(error: unknown, bindings: readonly unknown[] = []): string {
  const e = (error ?? {}) as { message?: unknown; code?: unknown; sqlState?: unknown; errno?: unknown; constraint?: unknown; table?: unknown; column?: unknown };
  let message = typeof e.message === 'string' ? e.message : String(error);
  // knex: "<statement with its values written in> - <the driver's message>".
  const dash = message.lastIndexOf(' - ');
  if (dash >= 0 && /^\s*(insert|update|delete|select|with|replace|merge|call|values)\b/i.test(message)) message = message.slice(dash + 3);
  message = withoutQuotedValues(message);
  for (const value of bindings) {
    const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : undefined;
    // Short values (a 1, an 'a') would also match words of the message; the quotes are gone already.
    if (text && text.length >= 4) message = message.split(text).join('…');
  }
  const details = [
    typeof e.constraint === 'string' ? `constraint ${e.constraint}` : '',
    typeof e.table === 'string' ? `table ${e.table}` : '',
    typeof e.column === 'string' ? `column ${e.column}` : '',
  ].filter((d) => d && !message.includes(d.split(' ')[1]!));
  const state = typeof e.sqlState === 'string' ? e.sqlState : typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  if (state) details.push(`SQLSTATE ${state}`);
  return details.length > 0 ? `${message} (${details.join(', ')})` : message;
}

/** Replaces each quoted literal that is not a quoted identifier with an ellipsis. */
function withoutQuotedValues(message: string): string {
  return message.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, (quoted, offset: number) =>
    IDENTIFIER_BEFORE.test(message.slice(Math.max(0, offset - 20), offset)) ? quoted : `${quoted[0]}…${quoted[0]}`,
  );
}

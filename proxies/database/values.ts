// JavaScript values into SQL parameters and column values back into JavaScript, so that what recovery
// hands an `<apply>` method has the type the method declares: a boolean (not SQLite's or MySQL's 1), a
// Date (not epoch milliseconds), a bigint (not a string), an object (not its JSON text). The compiler
// records each `<apply>` parameter's type in the build's mapping (ColumnType); this file converts.
import type { ColumnType, Dialect } from '../../mappings/model.js';
import { DurabilityRefusal } from '../core/refusals.js';

/**
 * A value as the driver binds it. Dates go to SQLite as epoch milliseconds (exact). Booleans go as 1/0
 * everywhere: a BOOLEAN column takes them on every dialect (PostgreSQL reads the text '1' as true), and so
 * does an integer column, where PostgreSQL refuses the text 'true' that pg would send for `true`.
 */
export function toBindable(value: unknown, dialect: Dialect): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
      // better-sqlite3 binds a number as a REAL ('1.0' in a text column), a bigint as an INTEGER.
      if (dialect === 'sqlite') return value ? 1n : 0n;
      return value ? 1 : 0;
    case 'number':
    case 'string':
      return value;
    case 'bigint':
      return dialect === 'sqlite' && value >= -(2n ** 63n) && value < 2n ** 63n ? value : value.toString();
    case 'function':
    case 'symbol':
      throw new DurabilityRefusal('DUR3004', `a ${typeof value} cannot be stored in a column. Bind data: a string, number, boolean, bigint, Date, or plain JSON data.`);
  }
  if (value instanceof Date) return dialect === 'sqlite' ? value.getTime() : value;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof WeakMap || value instanceof WeakSet) {
    throw new DurabilityRefusal('DUR3004', `a ${value.constructor.name} cannot be stored in a column: its entries cannot be enumerated.`);
  }
  // A Set as the JSON array of its members, a Map as the JSON array of its entries (an <apply> parameter
  // typed Set or Map is given them back as one).
  if (value instanceof Set || value instanceof Map) return JSON.stringify([...value], json);
  return JSON.stringify(value, json);
}

function json(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Set || value instanceof Map) return [...value];
  return value;
}

/** A column's value as the `<apply>` parameter's type wants it. */
export function fromColumn(value: unknown, type: ColumnType | undefined, column: string, state: string): unknown {
  if (value === null || value === undefined) return type?.optional && !type.nullable ? undefined : value;
  if (!type || type.kind === 'unknown') {
    // Without a type, an integer is a number where a number holds it exactly, else its digits (as PostgreSQL's are).
    if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    return value;
  }
  try {
    switch (type.kind) {
      case 'boolean':
        if (typeof value === 'boolean') return value;
        if (typeof value === 'number') return value !== 0;
        if (typeof value === 'bigint') return value !== 0n;
        if (Buffer.isBuffer(value)) return value.some((b) => b !== 0);
        if (typeof value === 'string') {
          const text = value.trim().toLowerCase();
          return text !== '' && !Number.isNaN(Number(text)) ? Number(text) !== 0 : ['t', 'true', 'y', 'yes', 'on'].includes(text);
        }
        break;
      case 'number':
        if (typeof value === 'number') return value;
        if (typeof value === 'string' || typeof value === 'bigint') return Number(value);
        break;
      case 'bigint':
        if (typeof value === 'bigint') return value;
        if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
        if (typeof value === 'string') return BigInt(value.trim());
        break;
      case 'string':
        if (typeof value === 'string') return value;
        if (Buffer.isBuffer(value)) return value.toString('utf8');
        if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
        if (value instanceof Date) return value.toISOString();
        break;
      case 'date':
        if (value instanceof Date) return value;
        if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
        if (typeof value === 'string') return /^-?\d+$/.test(value.trim()) ? new Date(Number(value)) : new Date(value);
        break;
      case 'json':
        if (typeof value === 'string') return JSON.parse(value) as unknown;
        if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as unknown;
        return value;
      case 'set':
      case 'map': {
        const items = typeof value === 'string' ? (JSON.parse(value) as unknown) : Buffer.isBuffer(value) ? (JSON.parse(value.toString('utf8')) as unknown) : value;
        if (!Array.isArray(items)) break;
        return type.kind === 'set' ? new Set(items) : new Map(items as [unknown, unknown][]);
      }
      default:
        return value;
    }
  } catch (error) {
    throw new Error(`The recovery of database state '${state}' could not read column '${column}' (${JSON.stringify(String(value)).slice(0, 60)}) as ${type.kind}: ${(error as Error).message}`);
  }
  throw new Error(
    `The recovery of database state '${state}' got ${typeof value} ${JSON.stringify(String(value)).slice(0, 60)} in column '${column}', which cannot be read as the ${type.kind} its <apply> method takes. Check the column's type in <initialization>.`,
  );
}

/** Whether two bound values are the same parameter (a Date by its time, a Buffer by its bytes). */
export function sameBinding(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return Object.is(a, b);
}

// What a value bound to a database column is, from its TypeScript type: a scalar a column holds as it is
// (string, number, boolean, bigint, Date), plain JSON data (objects and arrays of such scalars, no Date
// inside), or something a column cannot give back as it was (a Map, a Set, a function, a class instance,
// a typed array, JSON data with a Date or a Map inside). The binding refuses the last (DUR2020); builds
// use the kind to convert column values back on recovery (a 1 to true, epoch milliseconds to a Date).
import { Node, TypeFlags, type Type } from 'ts-morph';
import { isCallableType, originOf } from './declarations.js';

export type ValueKind = 'string' | 'number' | 'boolean' | 'bigint' | 'date' | 'json' | 'set' | 'map' | 'unknown';

export interface ValueType {
  kind: ValueKind;
  /** Whether null or undefined are among its values. */
  nullable: boolean;
}

/** Why a column cannot hold a value of the type, and what to bind instead. */
interface StorageProblem {
  /** Completes "'arg[0]' (type 'Set<string>') …": "is a Set, which a column cannot give back (…)". */
  what: string;
  /** What it is, in a few words: 'a Set', "JSON data with a Date in 'due'". */
  noun: string;
  instead: string;
}

export interface ValueTypeDescription extends ValueType {
  problem?: StorageProblem;
}

export function valueTypeOf(type: Type, at: Node): ValueType {
  const { kind, nullable } = describeValueType(type, at);
  return { kind, nullable };
}

const COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'ReadonlyMap', 'ReadonlySet']);
const BINARY = /^(Int8|Uint8|Uint8Clamped|Int16|Uint16|Int32|Uint32|Float16|Float32|Float64|BigInt64|BigUint64)Array$|^(ArrayBuffer|SharedArrayBuffer|DataView|Buffer)$/;

export function describeValueType(type: Type, at: Node): ValueTypeDescription {
  const members = type.isUnion() ? type.getUnionTypes() : [type];
  const nullable = members.some((t) => (t.getFlags() & (TypeFlags.Null | TypeFlags.Undefined | TypeFlags.Void)) !== 0);
  const present = members.filter((t) => (t.getFlags() & (TypeFlags.Null | TypeFlags.Undefined | TypeFlags.Void)) === 0);
  if (present.length === 0) return { kind: 'unknown', nullable };
  const kinds = new Set<ValueKind>();
  for (const member of present) {
    const scalar = scalarKind(member);
    if (scalar) {
      kinds.add(scalar);
      continue;
    }
    const collection = collectionKind(member, at);
    if (collection) {
      kinds.add(collection);
      continue;
    }
    const problem = topLevelProblem(member);
    if (problem) return { kind: 'unknown', nullable, problem };
    if (member.isAny() || member.isUnknown() || member.isTypeParameter() || isOpaqueObject(member)) {
      kinds.add('unknown');
      continue;
    }
    const inside = jsonProblem(member, at, '', new Set());
    if (inside) return { kind: 'unknown', nullable, problem: inside };
    kinds.add('json');
  }
  return { kind: kinds.size === 1 ? [...kinds][0]! : 'unknown', nullable };
}

/**
 * A Set or a Map of JSON data (strings, numbers, booleans, plain objects and arrays of them): bound as the
 * JSON array of its members or entries, and rebuilt as a Set or a Map on recovery.
 */
function collectionKind(type: Type, at: Node): 'set' | 'map' | undefined {
  const library = libraryName(type);
  if (library !== 'Set' && library !== 'ReadonlySet' && library !== 'Map' && library !== 'ReadonlyMap') return undefined;
  const args = type.getTypeArguments();
  if (args.length === 0) return undefined;
  for (const arg of args) {
    const flags = arg.getFlags();
    if (flags & (TypeFlags.BigIntLike | TypeFlags.ESSymbolLike) || isLibraryType(arg, 'Date')) return undefined;
    if (jsonProblem(arg, at, '', new Set()) || unstorable(arg)) return undefined;
  }
  return library.endsWith('Set') ? 'set' : 'map';
}

/** The column type a build records for an `<apply>` parameter (see mappings/model.ts ColumnType). */
export function columnTypeOf(type: Type, at: Node): { kind: ValueKind; nullable?: boolean; optional?: boolean } {
  const members = type.isUnion() ? type.getUnionTypes() : [type];
  const nullable = members.some((t) => (t.getFlags() & TypeFlags.Null) !== 0);
  const optional = members.some((t) => (t.getFlags() & (TypeFlags.Undefined | TypeFlags.Void)) !== 0);
  const { kind } = describeValueType(type, at);
  return { kind, ...(nullable ? { nullable } : {}), ...(optional ? { optional } : {}) };
}

function scalarKind(type: Type): ValueKind | undefined {
  const flags = type.getFlags();
  if (flags & TypeFlags.BooleanLike) return 'boolean';
  if (flags & TypeFlags.StringLike) return 'string';
  if (flags & TypeFlags.NumberLike) return 'number';
  if (flags & TypeFlags.BigIntLike) return 'bigint';
  if (flags & TypeFlags.EnumLike) return type.isStringLiteral() ? 'string' : 'number';
  if (isLibraryType(type, 'Date')) return 'date';
  return undefined;
}

/** `object`, `{}` and `Object`: anything at all may be in it. */
function isOpaqueObject(type: Type): boolean {
  if (type.getFlags() & TypeFlags.NonPrimitive) return true;
  return (
    type.isObject() &&
    type.getProperties().length === 0 &&
    !type.isArray() &&
    type.getCallSignatures().length === 0 &&
    !type
      .getSymbol()
      ?.getDeclarations()
      .some((d) => Node.isClassDeclaration(d))
  );
}

function libraryName(type: Type): string | undefined {
  const symbol = type.getSymbol() ?? type.getAliasSymbol();
  const declaration = symbol?.getDeclarations()[0];
  if (!symbol || !declaration || originOf(declaration) === 'user' || originOf(declaration) === 'package') return undefined;
  if (!Node.isInterfaceDeclaration(declaration) && !Node.isClassDeclaration(declaration)) return undefined; // Record<…>, mapped and literal types are plain data
  return symbol.getName();
}

function isLibraryType(type: Type, name: string): boolean {
  return libraryName(type) === name;
}

function className(type: Type): string | undefined {
  const declaration = type
    .getSymbol()
    ?.getDeclarations()
    .find((d) => Node.isClassDeclaration(d) || Node.isClassExpression(d));
  if (!declaration || !(Node.isClassDeclaration(declaration) || Node.isClassExpression(declaration))) return undefined;
  return declaration.getName() ?? '(anonymous class)';
}

interface Unstorable {
  noun: string;
  why: string;
  instead: string;
}

/** What a column cannot hold, for a value bound on its own. */
function topLevelProblem(type: Type): StorageProblem | undefined {
  const found = unstorable(type);
  return found && { what: `is ${found.noun}, ${found.why}`, noun: found.noun, instead: found.instead };
}

function unstorable(type: Type): Unstorable | undefined {
  if (type.getFlags() & TypeFlags.ESSymbolLike) return { noun: 'a symbol', why: 'which no column can hold', instead: 'Bind a string instead (its description, or a name of your own)' };
  if (isCallableType(type)) return { noun: 'a function', why: 'which no column can hold', instead: 'Bind the data the function works with instead' };
  const library = libraryName(type);
  if (library && COLLECTIONS.has(library)) {
    const plain = library.replace(/^Readonly/, '');
    const map = plain.endsWith('Map');
    if (library.startsWith('Weak')) return { noun: `a ${plain}`, why: 'whose entries cannot be enumerated, so no column can hold them', instead: 'Keep a Map or a Set of plain data instead' };
    // A Set or a Map of JSON data is bound as the JSON array of its members or entries (collectionKind);
    // one whose members JSON would change (a Date, a bigint, an instance) is not.
    return {
      noun: `a ${plain} of values JSON would change`,
      why: `which a column cannot give back (it is stored as the JSON array of its ${map ? 'entries' : 'members'}, and JSON turns a Date or a bigint into a string, an instance into a plain object)`,
      instead: `Keep ${map ? 'entries' : 'members'} a column can hold (strings, numbers, booleans, plain data), or store one row per ${map ? 'entry' : 'element'}`,
    };
  }
  if (library && BINARY.test(library))
    return { noun: `a ${library}`, why: 'which JSON would store as an object of numbered keys', instead: 'Bind an array of numbers or a base64 string, and convert it in the method' };
  const cls = className(type);
  if (cls && originOf(type.getSymbol()!.getDeclarations()[0]!) !== 'lib') {
    return {
      noun: `an instance of class ${cls}`,
      why: 'which would come back from the column as a plain object without its class',
      instead: `Bind its fields (e.g. ${examplePath(type)}) and build the instance in the method`,
    };
  }
  if (library && !type.isArray() && !type.isTuple() && !['Array', 'ReadonlyArray', 'Object', 'Record', 'Date'].includes(library)) {
    return { noun: `a ${library}`, why: 'which JSON cannot store as it is', instead: 'Bind the plain data it holds (strings, numbers, booleans, or arrays and objects of them)' };
  }
  return undefined;
}

function examplePath(type: Type): string {
  const fields = type.getProperties().filter((p) => {
    const d = p.getValueDeclaration();
    return d && (Node.isPropertyDeclaration(d) || Node.isParameterDeclaration(d) || Node.isPropertySignature(d));
  });
  return (
    fields
      .slice(0, 2)
      .map((f) => `arg[N].${f.getName()}`)
      .join(', ') || 'arg[N].field'
  );
}

/** Inside JSON data: what JSON would not give back as it was, with where it is. */
function jsonProblem(type: Type, at: Node, path: string, seen: Set<object>): StorageProblem | undefined {
  if (seen.has(type.compilerType)) return undefined;
  seen.add(type.compilerType);
  const at_ = path ? ` in '${path}'` : '';
  const bindAlone = (what: string) => `Bind that ${what} on its own${path ? ` (arg[N].${path.replace(/\[\]|\[…\]/g, '[i]')})` : ''}`;
  for (const member of type.isUnion() ? type.getUnionTypes() : type.isIntersection() ? type.getIntersectionTypes() : [type]) {
    const flags = member.getFlags();
    if (flags & (TypeFlags.StringLike | TypeFlags.NumberLike | TypeFlags.BooleanLike | TypeFlags.EnumLike | TypeFlags.Null | TypeFlags.Undefined | TypeFlags.Void)) continue;
    if (member.isAny() || member.isUnknown() || member.isTypeParameter() || isOpaqueObject(member)) continue;
    if (flags & TypeFlags.BigIntLike)
      return { what: `holds a bigint${at_}, which JSON cannot write`, noun: `JSON data with a bigint${at_}`, instead: `${bindAlone('value')}, or keep it as a string in the data` };
    if (isLibraryType(member, 'Date'))
      return { what: `holds a Date${at_}, which JSON would turn into a string`, noun: `JSON data with a Date${at_}`, instead: `${bindAlone('Date')}, or keep it as a string or a number in the data` };
    const collection = libraryName(member);
    if (collection && COLLECTIONS.has(collection) && !collection.includes('Weak')) {
      // Inside JSON data a Set or a Map comes back as an array: only a whole parameter is rebuilt as one.
      const plain = collection.replace(/^Readonly/, '');
      return {
        what: `holds a ${plain}${at_}, which would come back from the column as an array`,
        noun: `data with a ${plain}${at_}`,
        instead: `${bindAlone(plain)} (a ${plain} of plain data is given back as one), or keep an array in the data`,
      };
    }
    const found = unstorable(member);
    if (found) return { what: `holds ${found.noun}${at_}, ${found.why}`, noun: `data with ${found.noun}${at_}`, instead: found.instead };
    const element = member.getArrayElementType();
    const inner: Array<[string, Type]> = element
      ? [[`${path}[]`, element]]
      : member.isTuple()
        ? member.getTupleElements().map((t, i) => [`${path}[${i}]`, t] as [string, Type])
        : member.getProperties().map((p) => {
            const d = p.getValueDeclaration() ?? p.getDeclarations()[0];
            return [`${path ? path + '.' : ''}${p.getName()}`, p.getTypeAtLocation(d ?? at)] as [string, Type];
          });
    const index = member.getStringIndexType() ?? member.getNumberIndexType();
    if (index && !element) inner.push([`${path}[…]`, index]);
    for (const [innerPath, innerType] of inner) {
      const problem = jsonProblem(innerType, at, innerPath, seen);
      if (problem) return problem;
    }
  }
  return undefined;
}

// valueTypeOf, which the builds use to convert database columns back on recovery and DUR2020 uses to
// refuse what a column cannot give back: each declared type below against the kind it must get.
import { Project } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { describeValueType, valueTypeOf, type ValueType } from '../../../compiler/analysis/value-types.js';

const SOURCE = `
export enum Color { Red = 'red', Blue = 'blue' }
export enum Level { Low, High }
export interface Address { city: string; zip?: string }
export interface Visit { at: Date; page: string }
export class Account { id = ''; balance = 0 }
type Tree = { name: string; children: Tree[] };

export type S = string;
export type SLiteral = 'a' | 'b';
export type STemplate = \`id-\${number}\`;
export type SEnum = Color;
export type N = number;
export type NEnum = Level;
export type NLiteral = 1 | 2 | 3;
export type B = boolean;
export type BLiteral = true;
export type Big = bigint;
export type D = Date;
export type NullableS = string | null;
export type OptionalN = number | undefined;
export type NullableD = Date | null | undefined;
export type JsonObject = Address;
export type JsonArray = string[];
export type JsonNested = { tags: string[]; address: Address; scores: Record<string, number> };
export type JsonTuple = [string, number];
export type JsonRecursive = Tree;
export type JsonNullable = Address | null;
export type Mixed = string | number;
export type Any = any;
export type Unknown = unknown;
export type Obj = object;

export type SetOf = Set<string>;
export type MapOf = Map<string, number>;
export type SetOfDates = Set<Date>;
export type MapOfBigints = Map<string, bigint>;
export type Weak = WeakMap<object, string>;
export type Fn = () => void;
export type Sym = symbol;
export type Instance = Account;
export type Bytes = Uint8Array;
export type DateInside = Visit;
export type BigInside = { n: bigint };
export type SetInside = { tags: Set<string> };
export type InstanceInside = { owner: Account }[];
export type FnInside = { run(): void };
export type Re = RegExp;
`;

const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { strict: true, target: 9 } });
const file = project.createSourceFile('/types.ts', SOURCE);

function kindOf(name: string): ValueType & { problem?: string } {
  const alias = file.getTypeAliasOrThrow(name);
  const described = describeValueType(alias.getType(), alias);
  expect(valueTypeOf(alias.getType(), alias)).toEqual({ kind: described.kind, nullable: described.nullable });
  return { kind: described.kind, nullable: described.nullable, ...(described.problem ? { problem: described.problem.what } : {}) };
}

describe('valueTypeOf', () => {
  it.each([
    ['S', 'string'],
    ['SLiteral', 'string'],
    ['STemplate', 'string'],
    ['SEnum', 'string'],
    ['N', 'number'],
    ['NEnum', 'number'],
    ['NLiteral', 'number'],
    ['B', 'boolean'],
    ['BLiteral', 'boolean'],
    ['Big', 'bigint'],
    ['D', 'date'],
    ['JsonObject', 'json'],
    ['JsonArray', 'json'],
    ['JsonNested', 'json'],
    ['JsonTuple', 'json'],
    ['JsonRecursive', 'json'],
    ['Mixed', 'unknown'],
    ['Any', 'unknown'],
    ['Unknown', 'unknown'],
    ['Obj', 'unknown'],
  ])('%s is %s, storable', (name, kind) => {
    expect(kindOf(name)).toEqual({ kind, nullable: false });
  });

  it('says when null or undefined are among the values', () => {
    expect(kindOf('NullableS')).toEqual({ kind: 'string', nullable: true });
    expect(kindOf('OptionalN')).toEqual({ kind: 'number', nullable: true });
    expect(kindOf('NullableD')).toEqual({ kind: 'date', nullable: true });
    expect(kindOf('JsonNullable')).toEqual({ kind: 'json', nullable: true });
  });

  it('takes a Set or a Map of JSON data (bound as the JSON array of its members or entries)', () => {
    expect(kindOf('SetOf')).toEqual({ kind: 'set', nullable: false });
    expect(kindOf('MapOf')).toEqual({ kind: 'map', nullable: false });
  });

  it.each([
    ['SetOfDates', /^is a Set of values JSON would change, which a column cannot give back/],
    ['MapOfBigints', /^is a Map of values JSON would change, /],
    ['Weak', /^is a WeakMap, /],
    ['Fn', /^is a function, /],
    ['Sym', /^is a symbol, /],
    ['Instance', /^is an instance of class Account, /],
    ['Bytes', /^is a Uint8Array, /],
    ['Re', /^is a RegExp, /],
    ['DateInside', /^holds a Date in 'at', which JSON would turn into a string$/],
    ['BigInside', /^holds a bigint in 'n', which JSON cannot write$/],
    ['SetInside', /^holds a Set in 'tags', /],
    ['InstanceInside', /^holds an instance of class Account in '\[\]\.owner', /],
    ['FnInside', /^holds a function in 'run', /],
  ])('%s cannot be stored in a column and read back', (name, problem) => {
    const found = kindOf(name);
    expect(found.kind).toBe('unknown');
    expect(found.problem).toMatch(problem);
  });
});

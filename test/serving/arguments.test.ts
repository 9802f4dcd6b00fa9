// A request's JSON arguments read as the method declares its parameters (the serving contract, docs/SERVING.md:
// a wrong or missing argument gets 400 BAD_ARGUMENTS naming the parameter and the type expected), and
// made what JSON cannot carry. The shapes come from the compiler (compiler/analysis/argument-shapes.ts);
// here they are checked through a compiled module's declarations.
import { Project } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { parameterShapes } from '../../compiler/analysis/argument-shapes.js';
import { readArguments, BadArgumentsError } from '../../proxies/serving/arguments.js';

const source = `
  interface Slot { at: Date; seats: number; tags?: string[] }
  enum Level { Low, High }
  class S {
    book(who: string, slot: Slot, count: bigint, extras: Set<string>, prices: Map<string, number>, level: Level, note?: string): void {}
    pick(kind: 'a' | 'b', n: number | null, ...rest: boolean[]): void {}
    any(x: unknown, y: Record<string, Date>): void {}
  }`;
const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { strict: true } });
const cls = project.createSourceFile('s.ts', source).getClassOrThrow('S');
const shapes = (method: string) => parameterShapes(cls.getMethodOrThrow(method).getParameters());

describe('reading JSON arguments as the parameters declare them', () => {
  it('makes Dates, bigints, Sets and Maps of what JSON carries, inside objects too', () => {
    const args = readArguments('book', shapes('book'), ['ann', { at: '2026-11-30T10:00:00.123Z', seats: 2 }, '9007199254740993', ['x'], [['p', 1]], 1]);
    expect(args).toEqual(['ann', { at: new Date('2026-11-30T10:00:00.123Z'), seats: 2 }, 9007199254740993n, new Set(['x']), new Map([['p', 1]]), 1]);
  });

  it('names the parameter, the type and what is wrong', () => {
    const bad = (method: string, args: unknown[]) => () => readArguments(method, shapes(method), args);
    expect(bad('book', [5])).toThrow(BadArgumentsError);
    expect(bad('book', [5])).toThrow('book: argument 0 (who: string) is the number 5, where a string is expected.');
    expect(bad('book', ['ann', { at: 'not a date', seats: 2 }, '1', [], [], 0])).toThrow(/argument 1 \(slot: Slot\) has slot\.at that is the string "not a date", where a Date/);
    expect(bad('book', ['ann', { seats: 2 }, '1', [], [], 0])).toThrow(/slot\.at that is missing/);
    expect(bad('book', ['ann'])).toThrow('book: argument 1 (slot: Slot) is missing.');
    expect(bad('pick', ['c', 1])).toThrow(/kind: "a" \| "b"\) is the string "c", where "a" or "b" is expected/);
    expect(bad('pick', ['a', 1, true, 'no'])).toThrow(/argument 3 \(rest: boolean\)/);
    expect(bad('any', [1, 2, 3])).toThrow('any takes 2 arguments, but the request gave 3.');
  });

  it('takes null for an optional parameter, rest parameters, unions with null, and anything where the type says unknown', () => {
    expect(readArguments('pick', shapes('pick'), ['b', null, true, false])).toEqual(['b', null, true, false]);
    expect(readArguments('book', shapes('book'), ['ann', { at: 0, seats: 1 }, 1, [], [], 0, null])).toEqual(['ann', { at: new Date(0), seats: 1 }, 1n, new Set(), new Map(), 0, undefined]);
    expect(readArguments('any', shapes('any'), [{ free: [1] }, { d: 0 }])).toEqual([{ free: [1] }, { d: new Date(0) }]);
  });
});

// One operation on a state object's graph, as data: what to do, to which reachable object (by kind and
// index, see reach.ts), with which values (values.ts). `runStep` does it the way ordinary code would,
// on the object it is given: the plain instance for the original, the durability proxy on the run-time.
// With a trace, it also writes the operation as one line of JavaScript, its targets resolved.
import util from 'node:util';
// What a build gives code that calls the global structuredClone (compiler/generate/import-builtins.ts):
// the same function, seeing through durability proxies. The original classes get it too (it is the
// global's behaviour on plain objects), as a compiled service's own source does.
import { structuredClone } from '../../../proxies/core/builtins.js';
import { childPath, show } from '../compare.js';
import type { Item } from './item.js';
import { pick, reach, type Reached, type TargetKind } from './reach.js';

/** What a property step may act on: any object, only those that keep data in properties, or those without arrays. */
export type PropertyTarget = 'any' | 'keyed' | 'record';
import { build, code, keyOf, REGISTERED, type ValueSpec } from './values.js';

export const DATE_SETTERS = ['setTime', 'setFullYear', 'setMonth', 'setDate', 'setHours', 'setMinutes', 'setSeconds', 'setMilliseconds', 'setUTCHours', 'setUTCMilliseconds'] as const;

export const READS = [
  'get',
  'clone',
  'dateCopy',
  'dateValue',
  'tag',
  'deepEqual',
  'deepEqualClone',
  'types',
  'keys',
  'descriptors',
  'integrity',
  'json',
  'entries',
  'spread',
  'inspect',
  'has',
] as const;
type ReadKind = (typeof READS)[number];

/** A key to delete: the n-th one the collection holds now, or a value. */
export type Choice = { existing: number } | { value: ValueSpec };

export type Step =
  | { op: 'set'; at: number; on: PropertyTarget; key: string; value: ValueSpec }
  | { op: 'define'; at: number; on: PropertyTarget; key: string; value: ValueSpec; enumerable: boolean; writable: boolean; configurable: boolean }
  | { op: 'delete'; at: number; on: PropertyTarget; key: string }
  | { op: 'push' | 'unshift'; at: number; values: ValueSpec[] }
  | { op: 'pop' | 'shift' | 'reverse'; at: number }
  | { op: 'splice'; at: number; args: number[]; values: ValueSpec[] }
  | { op: 'sort'; at: number; byType: boolean }
  | { op: 'fill'; at: number; value: ValueSpec; range: number[] }
  | { op: 'copyWithin'; at: number; range: number[] }
  | { op: 'length'; at: number; length: number }
  | { op: 'mapSet'; at: number; key: ValueSpec; value: ValueSpec }
  | { op: 'mapDelete' | 'setDelete'; at: number; key: Choice }
  | { op: 'setAdd'; at: number; value: ValueSpec }
  | { op: 'clear'; at: number }
  | { op: 'date'; at: number; setter: (typeof DATE_SETTERS)[number]; args: (number | 'NaN')[] }
  | { op: 'bump'; at: number }
  | { op: 'move'; at: number; on: PropertyTarget; key: string; to: number; toKey: string }
  | { op: 'integrity'; at: number; level: 'freeze' | 'seal' | 'preventExtensions' }
  | { op: 'read'; read: ReadKind; at: number; other: number };

export interface StepContext {
  /** The state object's name, where paths start. */
  name: string;
  /** Receives the step as a line of code. */
  trace?: string[];
}

const KIND_OF: Record<Step['op'], TargetKind> = {
  set: 'any',
  define: 'any',
  delete: 'any',
  push: 'array',
  unshift: 'array',
  pop: 'array',
  shift: 'array',
  reverse: 'array',
  splice: 'array',
  sort: 'array',
  fill: 'array',
  copyWithin: 'array',
  length: 'array',
  mapSet: 'map',
  mapDelete: 'map',
  setAdd: 'set',
  setDelete: 'set',
  clear: 'collection',
  date: 'date',
  bump: 'item',
  move: 'any',
  integrity: 'any',
  read: 'any',
};

const READ_KIND: Partial<Record<ReadKind, TargetKind>> = { dateCopy: 'date', dateValue: 'date', entries: 'collection' };

type Loose = Record<PropertyKey, unknown> & unknown[] & Map<unknown, unknown> & Set<unknown> & Date;

export function runStep(root: object, step: Step, context: StepContext): unknown {
  const reached = reach(root, context.name);
  // `keyed`: properties go on objects that keep their data in properties, not on a Map, a Set or a Date.
  const kind = step.op === 'read' ? (READ_KIND[step.read] ?? 'any') : 'on' in step ? step.on : KIND_OF[step.op];
  const target = pick(reached, kind, step.at);
  const note = (line: string) => context.trace?.push(line);
  if (!target) {
    note(`// ${step.op}: no ${kind} in ${context.name} to act on; nothing happens`);
    return undefined;
  }
  const t = target.value as Loose;
  const p = target.path;
  const value = (spec: ValueSpec) => build(spec, { reached });
  const text = (spec: ValueSpec) => code(spec, { reached });
  const at = (key: string) => childPath(p, keyOf(key), Array.isArray(t));
  switch (step.op) {
    case 'set':
      note(`${at(step.key)} = ${text(step.value)};`);
      t[keyOf(step.key)] = value(step.value);
      return undefined;
    case 'define': {
      const flags = `enumerable: ${step.enumerable}, writable: ${step.writable}, configurable: ${step.configurable}`;
      note(`Object.defineProperty(${p}, ${keyText(step.key)}, { value: ${text(step.value)}, ${flags} });`);
      Object.defineProperty(t, keyOf(step.key), { value: value(step.value), enumerable: step.enumerable, writable: step.writable, configurable: step.configurable });
      return undefined;
    }
    case 'delete':
      note(`return delete ${at(step.key)};`);
      return delete t[keyOf(step.key)];
    case 'push':
    case 'unshift':
      note(`return ${p}.${step.op}(${step.values.map(text).join(', ')});`);
      return t[step.op](...step.values.map(value));
    case 'pop':
    case 'shift':
      note(`return ${p}.${step.op}();`);
      return t[step.op]();
    case 'reverse':
      note(`${p}.reverse();`);
      t.reverse();
      return undefined;
    case 'splice': {
      const items = step.args.length >= 2 ? step.values : [];
      note(`return ${p}.splice(${[...step.args.map(String), ...items.map(text)].join(', ')});`);
      return (t.splice as (...a: unknown[]) => unknown[])(...step.args, ...items.map(value));
    }
    case 'sort':
      if (step.byType) {
        note(`${p}.sort((a, b) => typeRank(a) - typeRank(b));`);
        t.sort((a, b) => typeRank(a) - typeRank(b));
      } else {
        note(`${p}.sort();`);
        t.sort();
      }
      return undefined;
    case 'fill':
      note(`${p}.fill(${[text(step.value), ...step.range.map(String)].join(', ')});`);
      (t.fill as (...a: unknown[]) => unknown)(value(step.value), ...step.range);
      return undefined;
    case 'copyWithin':
      note(`${p}.copyWithin(${step.range.join(', ')});`);
      (t.copyWithin as (...a: number[]) => unknown)(...(step.range as [number, number]));
      return undefined;
    case 'length':
      note(`${p}.length = ${step.length};`);
      t.length = step.length;
      return undefined;
    case 'mapSet':
      note(`${p}.set(${text(step.key)}, ${text(step.value)});`);
      t.set(value(step.key), value(step.value));
      return undefined;
    case 'mapDelete':
    case 'setDelete': {
      const [key, keyCode] = chosen(t, p, step.key, reached);
      note(`return ${p}.delete(${keyCode});`);
      return t.delete(key);
    }
    case 'setAdd':
      note(`${p}.add(${text(step.value)});`);
      t.add(value(step.value));
      return undefined;
    case 'clear':
      note(`${p}.clear();`);
      t.clear();
      return undefined;
    case 'date': {
      const args = step.args.map((a) => (a === 'NaN' ? NaN : a));
      note(`return ${p}.${step.setter}(${args.join(', ')});`);
      return (t[step.setter] as (...a: number[]) => number)(...args);
    }
    case 'bump':
      note(`return ${p}.bump();`);
      return (t as unknown as Item).bump();
    case 'move':
      return move(target, reached, step, note);
    case 'integrity':
      // Freezing a Map, a Set, a Date or a typed array of state is not followed (the run-time watches
      // them in place, not behind a proxy: docs/RUNTIME.md, "Limits to know"); freezing other state is refused.
      if (util.types.isMap(t) || util.types.isSet(t) || util.types.isDate(t) || util.types.isTypedArray(t)) {
        note(`/* Object.${step.level}(${p}): not generated for a Map, Set, Date or typed array */`);
        return undefined;
      }
      note(`Object.${step.level}(${p});`);
      if (step.level === 'freeze') Object.freeze(t);
      else if (step.level === 'seal') Object.seal(t);
      else Object.preventExtensions(t);
      return undefined;
    case 'read':
      return read(step, target, pick(reached, 'any', step.other)!, note);
  }
}

/** Takes what is at `key` out of one object (splice from an array, delete elsewhere) and puts it at another. */
function move(from: Reached, reached: readonly Reached[], step: Extract<Step, { op: 'move' }>, note: (line: string) => void): unknown {
  const to = pick(reached, step.on, step.to)!;
  const source = from.value as Record<PropertyKey, unknown> & unknown[];
  const key = keyOf(step.key);
  const index = typeof key === 'string' && Array.isArray(source) && /^\d+$/.test(key) ? Number(key) : undefined;
  const destination = childPath(to.path, keyOf(step.toKey), Array.isArray(to.value));
  if (index !== undefined) {
    note(`${destination} = ${from.path}.splice(${index}, 1)[0]; // moved`);
    const [moved] = source.splice(index, 1);
    (to.value as Record<PropertyKey, unknown>)[keyOf(step.toKey)] = moved;
  } else {
    note(`{ const moved = ${childPath(from.path, key)}; delete ${childPath(from.path, key)}; ${destination} = moved; }`);
    const moved = source[key];
    delete source[key];
    (to.value as Record<PropertyKey, unknown>)[keyOf(step.toKey)] = moved;
  }
  return undefined;
}

function chosen(t: Map<unknown, unknown> | Set<unknown>, path: string, choice: Choice, reached: readonly Reached[]): [unknown, string] {
  if ('value' in choice) return [build(choice.value, { reached }), code(choice.value, { reached })];
  const keys = [...t.keys()];
  if (keys.length === 0) return [undefined, 'undefined /* it is empty */'];
  const i = choice.existing % keys.length;
  const key = keys[i];
  return [key, typeof key === 'object' && key !== null ? `[...${path}.keys()][${i}]` : show(key)];
}

/** Reads that return something built from state, through the APIs that must not see a proxy. */
function read(step: Extract<Step, { op: 'read' }>, target: Reached, other: Reached, note: (line: string) => void): unknown {
  const t = target.value as Loose;
  const p = target.path;
  const say = (expression: string) => note(`return ${expression};`);
  switch (step.read) {
    case 'get':
      say(p);
      return t;
    case 'clone':
      say(`structuredClone(${p})`);
      return structuredClone(t);
    case 'dateCopy':
      say(`new Date(${p})`);
      return new Date(t);
    case 'dateValue':
      say(`[${p}.getTime(), Number(${p}), JSON.stringify(${p})]`);
      return [t.getTime(), Number(t), JSON.stringify(t)];
    case 'tag':
      say(`Object.prototype.toString.call(${p})`);
      return Object.prototype.toString.call(t);
    case 'deepEqual':
      say(`util.isDeepStrictEqual(${p}, ${other.path})`);
      return util.isDeepStrictEqual(t, other.value);
    case 'deepEqualClone':
      say(`util.isDeepStrictEqual(${p}, structuredClone(${p}))`);
      return util.isDeepStrictEqual(t, structuredClone(t));
    case 'types':
      say(`[util.types.isDate(x), util.types.isMap(x), util.types.isSet(x), util.types.isTypedArray(x), Array.isArray(x), x instanceof Date, x instanceof Map, x instanceof Set] /* x = ${p} */`);
      return [util.types.isDate(t), util.types.isMap(t), util.types.isSet(t), util.types.isTypedArray(t), Array.isArray(t), t instanceof Date, t instanceof Map, t instanceof Set];
    case 'keys':
      // A Map, Set or Date of state carries the run-time's watch as non-enumerable own methods
      // (docs/RUNTIME.md, "Limits to know"): its own keys are read only where it has none of its own.
      if (util.types.isMap(t) || util.types.isSet(t) || util.types.isDate(t)) return [];
      say(`Reflect.ownKeys(${p}).map(String)`);
      return Reflect.ownKeys(t).map(String);
    case 'descriptors':
      if (util.types.isMap(t) || util.types.isSet(t) || util.types.isDate(t)) return [];
      say(`Reflect.ownKeys(${p}).map((k) => flagsOf(Object.getOwnPropertyDescriptor(${p}, k)))`);
      return Reflect.ownKeys(t).map((k) => {
        const d = Object.getOwnPropertyDescriptor(t, k)!;
        return [String(k), d.enumerable, 'value' in d ? d.writable : 'accessor', d.configurable];
      });
    case 'integrity':
      say(`[Object.isFrozen(${p}), Object.isSealed(${p}), Object.isExtensible(${p})]`);
      // V8 calls any non-extensible array without elements frozen, even with a writable length; behind a
      // proxy the language's own test runs (a documented limit, docs/RUNTIME.md): compare by the language.
      return [Object.isFrozen(t) && !(Array.isArray(t) && Reflect.getOwnPropertyDescriptor(t, 'length')?.writable), Object.isSealed(t), Object.isExtensible(t)];
    case 'json':
      say(`JSON.stringify(${p}, (k, v) => (typeof v === 'bigint' ? v + 'n' : v))`);
      return JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    case 'entries':
      say(`[...${p}].map(summary)`);
      return [...(t as Iterable<unknown>)].map(summary);
    case 'spread':
      say(Array.isArray(t) ? `[...${p}]` : `{ ...${p} }`);
      return Array.isArray(t) ? [...t] : { ...(t as object) };
    case 'inspect':
      say(`util.inspect(${p}, { depth: 4 })`);
      return util.inspect(t, { depth: 4 });
    case 'has':
      say(`['a' in x, 'isAdmin' in x, Object.hasOwn(x, '__proto__'), Symbol.for('difftest.registered') in x] /* x = ${p} */`);
      return ['a' in t, 'isAdmin' in t, Object.hasOwn(t, '__proto__'), REGISTERED in t];
  }
}

/** A total order on element types that ignores values, so a sort never calls toString on an object. */
function typeRank(v: unknown): number {
  return ['undefined', 'boolean', 'number', 'bigint', 'string', 'symbol', 'object', 'function'].indexOf(v === null ? 'undefined' : typeof v);
}

/** An element of a Map or Set as a reply can carry it: primitives as they are, objects by their tag. */
function summary(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(summary); // a Map entry [key, value]
  return typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : typeof v === 'symbol' ? String(v) : v;
}

function keyText(key: string): string {
  if (key === '@for') return 'Symbol.for("difftest.registered")';
  if (key === '@unique') return 'UNIQUE';
  return JSON.stringify(key);
}

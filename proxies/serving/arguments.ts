// A request's JSON arguments read as the method's parameters declare them (the shapes the build carries,
// see compiler/analysis/argument-shapes.ts): checked, so a wrong or missing argument is answered
// 400 BAD_ARGUMENTS naming the parameter and the type expected before anything runs, and made what JSON
// cannot carry: a Date from its ISO string (or epoch milliseconds), a bigint from its digits, a Set or a
// Map from an array. Where a shape says `any`, the value is taken as JSON gives it.
export type Shape =
  | { k: 'string' | 'number' | 'boolean' | 'bigint' | 'date' | 'null' | 'undefined' | 'any' }
  | { k: 'literal'; v: string | number | boolean }
  | { k: 'array'; of: Shape }
  | { k: 'tuple'; items: Shape[] }
  | { k: 'object'; props: Record<string, { s: Shape; optional?: true }>; rest?: Shape }
  | { k: 'set'; of: Shape }
  | { k: 'map'; key: Shape; value: Shape }
  | { k: 'union'; of: Shape[] };

export interface ParameterShape {
  name: string;
  /** The type as written, for messages. */
  type: string;
  shape: Shape;
  optional?: true;
  rest?: true;
}

export class BadArgumentsError extends Error {}

class Mismatch {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly got: unknown,
  ) {}
}

/** The method's arguments as it declares them; throws BadArgumentsError saying which one is wrong and why. */
export function readArguments(method: string, parameters: readonly ParameterShape[], args: readonly unknown[]): unknown[] {
  const fixed = parameters.filter((p) => !p.rest);
  const rest = parameters.find((p) => p.rest);
  if (!rest && args.length > fixed.length) {
    throw new BadArgumentsError(`${method} takes ${describeCount(fixed)}, but the request gave ${args.length}.`);
  }
  const out: unknown[] = [];
  args.forEach((arg, i) => {
    const parameter = i < fixed.length ? fixed[i]! : rest!;
    const optional = parameter.optional === true;
    try {
      out.push(arg === null && optional && !accepts(parameter.shape, 'null') ? undefined : read(arg, parameter.shape, parameter.name));
    } catch (error) {
      if (!(error instanceof Mismatch)) throw error;
      throw new BadArgumentsError(
        `${method}: argument ${i} (${parameter.name}: ${parameter.type}) ${error.path === parameter.name ? 'is' : `has ${error.path} that is`} ${describe(error.got)}, where ${error.expected} is expected.`,
      );
    }
  });
  for (let i = args.length; i < fixed.length; i++) {
    const parameter = fixed[i]!;
    if (!parameter.optional && !accepts(parameter.shape, 'undefined')) {
      throw new BadArgumentsError(`${method}: argument ${i} (${parameter.name}: ${parameter.type}) is missing.`);
    }
  }
  return out;
}

function read(value: unknown, shape: Shape, path: string): unknown {
  switch (shape.k) {
    case 'any':
      return value;
    case 'string':
      if (typeof value === 'string') return value;
      throw new Mismatch(path, 'a string', value);
    case 'number':
      if (typeof value === 'number') return value;
      throw new Mismatch(path, 'a number', value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw new Mismatch(path, 'a boolean', value);
    case 'bigint':
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      throw new Mismatch(path, 'a bigint (its digits as a string)', value);
    case 'date': {
      const date = typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
      if (date && !Number.isNaN(date.getTime())) return date;
      throw new Mismatch(path, 'a Date (an ISO 8601 string or epoch milliseconds)', value);
    }
    case 'null':
      if (value === null) return null;
      throw new Mismatch(path, 'null', value);
    case 'undefined':
      if (value === undefined || value === null) return undefined;
      throw new Mismatch(path, 'nothing (undefined)', value);
    case 'literal':
      if (value === shape.v) return value;
      throw new Mismatch(path, JSON.stringify(shape.v), value);
    case 'array':
      if (!Array.isArray(value)) throw new Mismatch(path, 'an array', value);
      return value.map((v, i) => read(v, shape.of, `${path}[${i}]`));
    case 'tuple':
      if (!Array.isArray(value) || value.length > shape.items.length) throw new Mismatch(path, `an array of ${shape.items.length}`, value);
      return shape.items.map((s, i) => read(value[i], s, `${path}[${i}]`));
    case 'set':
      if (!Array.isArray(value)) throw new Mismatch(path, 'a Set (an array of its members)', value);
      return new Set(value.map((v, i) => read(v, shape.of, `${path}[${i}]`)));
    case 'map':
      if (!Array.isArray(value) || !value.every((e) => Array.isArray(e) && e.length === 2)) throw new Mismatch(path, 'a Map (an array of [key, value] entries)', value);
      return new Map((value as [unknown, unknown][]).map(([k, v], i) => [read(k, shape.key, `${path}[${i}][0]`), read(v, shape.value, `${path}[${i}][1]`)]));
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Mismatch(path, 'an object', value);
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(record)) {
        const property = Object.hasOwn(shape.props, key) ? shape.props[key] : undefined;
        const s = property?.s ?? shape.rest ?? { k: 'any' as const };
        Object.defineProperty(out, key, { value: read(v, s, `${path}.${key}`), writable: true, enumerable: true, configurable: true });
      }
      for (const [key, property] of Object.entries(shape.props)) {
        if (!(key in record) && !property.optional && !accepts(property.s, 'undefined')) throw new Mismatch(`${path}.${key}`, describeShape(property.s), undefined);
      }
      return out;
    }
    case 'union': {
      for (const option of shape.of) {
        try {
          return read(value, option, path);
        } catch (error) {
          if (!(error instanceof Mismatch)) throw error;
        }
      }
      throw new Mismatch(path, shape.of.map(describeShape).join(' or '), value);
    }
  }
}

function accepts(shape: Shape, kind: 'null' | 'undefined'): boolean {
  return shape.k === kind || shape.k === 'any' || (shape.k === 'union' && shape.of.some((s) => accepts(s, kind)));
}

function describeShape(shape: Shape): string {
  switch (shape.k) {
    case 'literal':
      return JSON.stringify(shape.v);
    case 'union':
      return shape.of.map(describeShape).join(' or ');
    case 'array':
    case 'tuple':
      return 'an array';
    case 'object':
      return 'an object';
    case 'date':
      return 'a Date';
    case 'set':
    case 'map':
      return `a ${shape.k === 'set' ? 'Set' : 'Map'}`;
    case 'undefined':
      return 'nothing';
    case 'null':
      return 'null';
    case 'any':
      return 'any value';
    default:
      return `a ${shape.k}`;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value === 'string' ? 'the string' : `the ${typeof value}`} ${text.length > 40 ? text.slice(0, 37) + '...' : text}`;
}

function describeCount(parameters: readonly ParameterShape[]): string {
  const required = parameters.filter((p) => !p.optional).length;
  const n = parameters.length;
  const range = required === n ? `${n}` : `${required} to ${n}`;
  return `${range} argument${n === 1 && required === n ? '' : 's'}`;
}

/**
 * A request's JSON arguments, checked and made what the method declares, for each run of it: the first
 * run gets them as read now; a run after that (the request runs again when the database refused an
 * earlier request of its group) reads them afresh from a copy of the JSON as it arrived, whatever the
 * first run did to its own. Arguments that cannot be copied (a function, passed in-process) make the
 * request not repeatable.
 */
export function requestArguments(method: string, parameters: readonly ParameterShape[] | undefined, json: readonly unknown[]): { args: () => unknown[]; repeatable: boolean } | { problem: string } {
  let pristine: readonly unknown[] | undefined = json;
  if (json.some((value) => typeof value === 'object' && value !== null)) {
    try {
      pristine = structuredClone(json);
    } catch {
      pristine = undefined;
    }
  }
  const read = readRequestArguments(method, parameters, json);
  if ('problem' in read) return read;
  let runs = 0;
  return {
    repeatable: pristine !== undefined,
    args: () => {
      if (runs++ === 0 || pristine === undefined) return read.args;
      const again = readRequestArguments(method, parameters, structuredClone(pristine));
      if ('problem' in again) throw new Error(`The arguments of ${method} read differently the second time: ${again.problem}`);
      return again.args;
    },
  };
}

/** readArguments for a generated service's dispatch: the arguments, or what is wrong with them. */
function readRequestArguments(method: string, parameters: readonly ParameterShape[] | undefined, args: readonly unknown[]): { args: unknown[] } | { problem: string } {
  if (!parameters) return { args: [...args] };
  try {
    return { args: readArguments(method, parameters, args) };
  } catch (error) {
    if (error instanceof BadArgumentsError) return { problem: error.message };
    throw error;
  }
}

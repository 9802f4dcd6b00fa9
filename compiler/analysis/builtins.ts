// biome-ignore-all format: tables of built-in method names, grouped by kind, read best as written
// What the analysis knows of the standard library and Node, by qualified declaration name (see
// declarations.ts): which methods change their receiver, which call back with the receiver's elements,
// what they return, which functions write into an argument, which run a callback after the request has
// ended, and which read something a backup re-running the method could not see the same way.
import { moduleOf, qualifiedName } from './declarations.js';
import type { Node } from 'ts-morph';

/** Methods of built-in collections (arrays, Maps, Sets, typed arrays, Dates) that change their receiver. */
export const MUTATING_METHODS = new Set([
  'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin',
  'set', 'delete', 'clear', 'add',
  'setTime', 'setFullYear', 'setMonth', 'setDate', 'setHours', 'setMinutes', 'setSeconds', 'setMilliseconds',
  'setUTCFullYear', 'setUTCMonth', 'setUTCDate', 'setUTCHours', 'setUTCMinutes', 'setUTCSeconds', 'setUTCMilliseconds', 'setYear',
]);

/** The values a mutating method stores into its receiver, by argument index (others are keys or counts). */
export function storedArguments(name: string, count: number): number[] {
  switch (name) {
    case 'push': case 'unshift': case 'add': case 'fill':
      return name === 'fill' ? [0] : [...Array(count).keys()];
    case 'set':
      return [1];
    case 'splice':
      return [...Array(count).keys()].slice(2);
    default:
      return [];
  }
}

export type CallbackRole = 'element' | 'accumulator' | 'receiver' | 'none';

/** Methods that call a function argument, and what each of its parameters receives. */
const CALLBACK_PARAMETERS: Record<string, CallbackRole[]> = {
  forEach: ['element', 'element', 'receiver'],
  map: ['element', 'none', 'receiver'],
  flatMap: ['element', 'none', 'receiver'],
  filter: ['element', 'none', 'receiver'],
  find: ['element', 'none', 'receiver'],
  findIndex: ['element', 'none', 'receiver'],
  findLast: ['element', 'none', 'receiver'],
  findLastIndex: ['element', 'none', 'receiver'],
  some: ['element', 'none', 'receiver'],
  every: ['element', 'none', 'receiver'],
  sort: ['element', 'element'],
  toSorted: ['element', 'element'],
  reduce: ['accumulator', 'element', 'none', 'receiver'],
  reduceRight: ['accumulator', 'element', 'none', 'receiver'],
  // biome-ignore lint/suspicious/noThenProperty: a table of method names; Promise's then is one of them
  then: ['receiver'],
  catch: ['none'],
  finally: [],
};

export type ResultShape = 'element' | 'receiver' | 'fresh' | 'entries' | 'mapped' | 'reduced' | 'none';

const RESULT_SHAPES: Record<string, ResultShape> = {
  find: 'element', findLast: 'element', at: 'element', pop: 'element', shift: 'element', get: 'element', deref: 'element', next: 'element',
  sort: 'receiver', reverse: 'receiver', fill: 'receiver', copyWithin: 'receiver', set: 'receiver', add: 'receiver', subarray: 'receiver',
  filter: 'fresh', slice: 'fresh', concat: 'fresh', toSorted: 'fresh', toReversed: 'fresh', toSpliced: 'fresh', with: 'fresh', flat: 'fresh',
  splice: 'fresh', values: 'fresh', keys: 'fresh', toArray: 'fresh', take: 'fresh', drop: 'fresh',
  entries: 'entries',
  // biome-ignore lint/suspicious/noThenProperty: a table of method names; Promise's then is one of them
  map: 'mapped', flatMap: 'mapped', then: 'mapped', catch: 'mapped', finally: 'receiver',
  reduce: 'reduced', reduceRight: 'reduced',
  forEach: 'none', some: 'none', every: 'none', findIndex: 'none', findLastIndex: 'none', indexOf: 'none', includes: 'none', has: 'none', join: 'none',
};

export function resultShape(name: string): ResultShape {
  return Object.hasOwn(RESULT_SHAPES, name) ? RESULT_SHAPES[name]! : 'element';
}

/** What each parameter of a callback handed to the method receives, if the method calls one. */
export function callbackParameters(name: string): CallbackRole[] | undefined {
  return Object.hasOwn(CALLBACK_PARAMETERS, name) ? CALLBACK_PARAMETERS[name] : undefined;
}

/** Library functions that change the object given as their first argument. */
const WRITES_FIRST_ARGUMENT = new Set([
  'ObjectConstructor.assign', 'ObjectConstructor.defineProperty', 'ObjectConstructor.defineProperties', 'ObjectConstructor.setPrototypeOf',
  'ObjectConstructor.freeze', 'ObjectConstructor.seal', 'ObjectConstructor.preventExtensions',
  'Reflect.set', 'Reflect.deleteProperty', 'Reflect.defineProperty', 'Reflect.setPrototypeOf', 'Reflect.preventExtensions',
  'Crypto.getRandomValues', 'crypto.getRandomValues', 'crypto.randomFillSync', 'crypto.randomFill',
  'Atomics.store', 'Atomics.add', 'Atomics.sub', 'Atomics.and', 'Atomics.or', 'Atomics.xor', 'Atomics.exchange', 'Atomics.compareExchange',
]);

export function writesFirstArgument(qualified: string): boolean {
  return WRITES_FIRST_ARGUMENT.has(qualified);
}

/** The argument indexes whose values a first-argument writer stores (Object.assign's sources, Reflect.set's value). */
export function storedByWriter(qualified: string, count: number): number[] {
  if (qualified === 'ObjectConstructor.assign') return [...Array(count).keys()].slice(1);
  if (qualified === 'Reflect.set') return [2];
  if (qualified === 'ObjectConstructor.defineProperty' || qualified === 'Reflect.defineProperty' || qualified === 'ObjectConstructor.defineProperties') return [2, 1];
  return [];
}

/** Functions that run a callback later, after the request that registered it has ended. */
export function deferringApi(declaration: Node): string | undefined {
  const qualified = qualifiedName(declaration);
  const name = qualified.slice(qualified.lastIndexOf('.') + 1);
  if (['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask'].includes(name) && (qualified === name || qualified === `timers.${name}`)) return `${name}()`;
  if (qualified === 'Process.nextTick') return 'process.nextTick()';
  if (/^(EventEmitter|InternalEventEmitter|EventTarget|NodeEventTarget)\.(on|once|addListener|prependListener|prependOnceListener|addEventListener)$/.test(qualified)) return `${name}()`;
  if (name === 'addEventListener') return 'addEventListener()';
  return undefined;
}

export function isPromiseMethod(declaration: Node): boolean {
  return /^(Promise|PromiseLike)\.(then|catch|finally)$/.test(qualifiedName(declaration));
}

/** Members of `process` whose value differs between the primary and a backup, and which the run-time does not replay. */
const PROCESS_STATE = new Set([
  'env', 'argv', 'argv0', 'execArgv', 'execPath', 'pid', 'ppid', 'uptime', 'memoryUsage', 'cpuUsage', 'resourceUsage', 'cwd', 'title',
  'umask', 'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups', 'stdin', 'report', 'constrainedMemory', 'availableMemory', 'exitCode',
]);

/** Node modules whose functions read or write the world outside the process: files, the network, the host, other processes. */
const IO_MODULES = new Set([
  'fs', 'fs/promises', 'os', 'net', 'child_process', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'tls', 'cluster',
  'readline', 'readline/promises', 'worker_threads', 'inspector', 'v8', 'process',
]);

const GLOBAL_IO = new Set(['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource']);

/**
 * Why reading this library member (a property of `process`) gives a value a backup would not see the same
 * way, or undefined. Clock and randomness are not here: the run-time records and replays them.
 */
export function unreplayableRead(declaration: Node): string | undefined {
  const qualified = qualifiedName(declaration);
  const match = /^Process\.(\w+)$/.exec(qualified);
  if (match && PROCESS_STATE.has(match[1]!)) return `reads process.${match[1]}`;
  return undefined;
}

/** Why calling (or constructing) this library function is something the run-time cannot replay, or undefined. */
export function unreplayableCall(declaration: Node, spelled: string): string | undefined {
  const qualified = qualifiedName(declaration);
  const process = /^Process\.(\w+)$/.exec(qualified);
  if (process) return PROCESS_STATE.has(process[1]!) ? `calls process.${process[1]}()` : undefined;
  const module = moduleOf(declaration);
  if (module === 'crypto' && /\.(generate\w*|randomFill|createDiffieHellman\w*|createECDH)$/.test(qualified)) return `calls ${spelled}(), whose randomness is not replayed`;
  if (module && IO_MODULES.has(module)) return `calls ${spelled}() of node:${module}`;
  if (GLOBAL_IO.has(qualified)) return `calls ${spelled}()`;
  return undefined;
}

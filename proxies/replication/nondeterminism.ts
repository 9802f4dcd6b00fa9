// The standard sources of nondeterminism, recorded while an update="repeat" method runs on the primary
// and replayed, in the same order, when a backup re-runs it (Somersault's way, seed 002): Date.now(),
// new Date() and Date(), performance.now(), Math.random(), crypto.randomUUID/getRandomValues (global and
// node:crypto), node:crypto randomBytes/randomInt/randomFillSync, process.hrtime(.bigint). They are
// wrapped once per process, when the first service with a repeated method starts, and behave as the
// originals unless a repeated call is being recorded or replayed. Code that captured an original before
// that (a library's own alias) is not replayed: the backup's digest check catches what it changes.
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import type { Encoded } from '../core/encoding.js';

/** A backup's re-run asked for other values than the primary's run produced. */
export class ReplayDivergence extends Error {}

type Mode = { kind: 'off' } | { kind: 'record'; values: Encoded[] } | { kind: 'replay'; values: readonly Encoded[]; next: number };

let mode: Mode = { kind: 'off' };
let installed = false;

/** Runs `fn` (a repeated call on the primary) and returns what the sources gave it, in order. */
export function recordNondeterminism<R>(fn: () => R): { result?: R; error?: { thrown: unknown }; values: Encoded[] } {
  const previous = mode;
  const values: Encoded[] = [];
  mode = { kind: 'record', values };
  try {
    return { result: fn(), values };
  } catch (thrown) {
    return { error: { thrown }, values };
  } finally {
    mode = previous;
  }
}

/** Runs `fn` (the same call on a backup) giving it `values` in order; throws ReplayDivergence when they do not fit. */
export function replayNondeterminism<R>(values: readonly Encoded[], fn: () => R): R {
  const previous = mode;
  const replay = { kind: 'replay' as const, values, next: 0 };
  mode = replay;
  try {
    const result = fn();
    if (replay.next !== values.length) throw new ReplayDivergence(`the re-run used ${replay.next} of the ${values.length} clock and random values the primary's run used`);
    return result;
  } finally {
    mode = previous;
  }
}

/** A value from source `kind`: the original's, recorded; or the recorded one, replayed. */
function through<T>(kind: string, original: () => T, toWire: (v: T) => Encoded, fromWire: (e: Encoded) => T): T {
  if (mode.kind === 'off') return original();
  if (mode.kind === 'record') {
    const value = original();
    mode.values.push([kind, toWire(value)]);
    return value;
  }
  const entry = mode.values[mode.next] as [string, Encoded] | undefined;
  if (!entry || entry[0] !== kind) {
    throw new ReplayDivergence(`the re-run called ${kind} where the primary's run ${entry ? `called ${entry[0]}` : 'called no more clock or random sources'}`);
  }
  mode.next++;
  return fromWire(entry[1]);
}

const same = <T>(v: T) => v as unknown as Encoded;
const asNumber = (e: Encoded) => e as number;
const bytesOut = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const bytesIn = (e: Encoded) => Buffer.from(e as string, 'base64');

/** Installs the wrappers (idempotent). */
export function installNondeterminismSources(): void {
  if (installed) return;
  installed = true;

  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => through('Date.now', realNow, same, asNumber);
  // A constructor that returns real Dates: same prototype, same statics, `instanceof` either way.
  const DurableDate = function Date(this: unknown, ...args: unknown[]): unknown {
    if (!new.target) return mode.kind === 'off' ? RealDate() : new RealDate(now()).toString();
    if (args.length === 0 && mode.kind !== 'off') return Reflect.construct(RealDate, [now()], new.target);
    return Reflect.construct(RealDate, args, new.target);
  } as unknown as DateConstructor;
  Object.setPrototypeOf(DurableDate, RealDate);
  Object.defineProperty(DurableDate, 'prototype', { value: RealDate.prototype, writable: false });
  Object.defineProperty(DurableDate, 'length', { value: 7 });
  Object.defineProperty(DurableDate, 'now', { value: now, writable: true, configurable: true });
  Object.defineProperty(RealDate.prototype, 'constructor', { value: DurableDate, writable: true, configurable: true, enumerable: false });
  globalThis.Date = DurableDate;

  const realRandom = Math.random;
  Math.random = () => through('Math.random', realRandom, same, asNumber);

  if (typeof performance !== 'undefined') {
    const realPerformanceNow = performance.now.bind(performance);
    Object.defineProperty(performance, 'now', { value: () => through('performance.now', realPerformanceNow, same, asNumber), writable: true, configurable: true });
  }

  const realHrtime = process.hrtime;
  const realHrtimeBigint = process.hrtime.bigint.bind(process.hrtime);
  const hrtime = ((previous?: [number, number]) => {
    const [s, ns] = through(
      'process.hrtime',
      () => realHrtime(),
      (v) => v as unknown as Encoded,
      (e) => e as unknown as [number, number],
    );
    if (!previous) return [s, ns];
    let ds = s - previous[0];
    let dns = ns - previous[1];
    if (dns < 0) {
      ds--;
      dns += 1e9;
    }
    return [ds, dns];
  }) as typeof process.hrtime;
  hrtime.bigint = () =>
    through(
      'process.hrtime.bigint',
      realHrtimeBigint,
      (v) => v.toString(),
      (e) => BigInt(e as string),
    );
  process.hrtime = hrtime;

  const realUUID = crypto.randomUUID.bind(crypto);
  const randomUUID = ((options?: crypto.RandomUUIDOptions) =>
    through(
      'crypto.randomUUID',
      () => realUUID(options),
      same,
      (e) => e as `${string}-${string}-${string}-${string}-${string}`,
    )) as typeof crypto.randomUUID;
  const realGetRandomValues = crypto.getRandomValues.bind(crypto);
  const getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
    const view = array as unknown as ArrayBufferView;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const filled = through('crypto.getRandomValues', () => (realGetRandomValues(array as never), Buffer.from(bytes)), bytesOut, bytesIn);
    bytes.set(filled);
    return array;
  }) as typeof crypto.getRandomValues;
  const realRandomBytes = crypto.randomBytes;
  const randomBytes = ((size: number, callback?: unknown) => {
    if (typeof callback === 'function') return (realRandomBytes as (n: number, cb: unknown) => void)(size, callback);
    return through('crypto.randomBytes', () => realRandomBytes(size), bytesOut, bytesIn);
  }) as typeof crypto.randomBytes;
  const realRandomInt = crypto.randomInt as (...args: unknown[]) => number;
  const randomInt = ((...args: unknown[]) => {
    if (typeof args[args.length - 1] === 'function') return realRandomInt(...args);
    return through('crypto.randomInt', () => realRandomInt(...args), same, asNumber);
  }) as typeof crypto.randomInt;
  const realRandomFillSync = crypto.randomFillSync;
  const randomFillSync = (<T extends ArrayBufferView>(buffer: T, offset?: number, size?: number): T => {
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const filled = through('crypto.randomFillSync', () => (realRandomFillSync(buffer as never, offset, size), Buffer.from(bytes)), bytesOut, bytesIn);
    bytes.set(filled);
    return buffer;
  }) as typeof crypto.randomFillSync;

  const patch = (target: object | undefined, name: string, value: unknown) => {
    // node:crypto's getRandomValues is a fixed getter onto webcrypto's, which is wrapped below.
    if (target && Object.getOwnPropertyDescriptor(target, name)?.configurable !== false) {
      Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: true });
    }
  };
  patch(crypto, 'randomUUID', randomUUID);
  patch(crypto, 'getRandomValues', getRandomValues);
  patch(crypto, 'randomBytes', randomBytes);
  patch(crypto, 'randomInt', randomInt);
  patch(crypto, 'randomFillSync', randomFillSync);
  const web = (crypto as { webcrypto?: { getRandomValues?: unknown; randomUUID?: unknown } }).webcrypto;
  const webGetRandomValues = web?.getRandomValues as ((a: ArrayBufferView) => ArrayBufferView) | undefined;
  const webRandomUUID = web?.randomUUID as (() => string) | undefined;
  for (const target of new Set([web, (globalThis as { crypto?: object }).crypto])) {
    if (!target) continue;
    if (webGetRandomValues) {
      Object.defineProperty(target, 'getRandomValues', {
        value: (array: ArrayBufferView) => {
          const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
          const filled = through('crypto.getRandomValues', () => (webGetRandomValues.call(web, array), Buffer.from(bytes)), bytesOut, bytesIn);
          bytes.set(filled);
          return array;
        },
        writable: true,
        configurable: true,
      });
    }
    if (webRandomUUID)
      Object.defineProperty(target, 'randomUUID', {
        value: () =>
          through(
            'crypto.randomUUID',
            () => webRandomUUID.call(web),
            same,
            (e) => e as string,
          ),
        writable: true,
        configurable: true,
      });
  }
  // ES module imports of node:crypto (`import { randomUUID } from 'node:crypto'`) see the wrappers too.
  syncBuiltinESMExports();
}

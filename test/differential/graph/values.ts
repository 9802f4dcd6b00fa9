// The values steps store: plain JSON descriptions (so a repeated call carries them as ordinary
// arguments) of everything the universe holds: numbers with -0 and NaN, bigint, undefined, Dates, plain
// and null-prototype objects (with a "__proto__" own key, symbol keys, a non-enumerable key), sparse
// arrays, Maps with object keys, Sets, class instances, typed arrays, frozen and sealed objects,
// references to objects already in the state (sharing, cycles) and to the new value itself (a cycle).
// `build` makes the value inside the state object's method (or service code); `code` writes it as
// JavaScript for a reproduction.
import { show } from '../compare.js';
import { Item } from './item.js';
import type { Reached } from './reach.js';

export type ValueSpec =
  | { k: 'num'; v: number | '-0' | 'NaN' | 'Infinity' }
  | { k: 'str'; v: string }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'undef' }
  | { k: 'big'; v: string }
  | { k: 'date'; t: number | 'NaN' }
  | { k: 'obj'; bare: boolean; entries: [string, ValueSpec][]; hidden?: [string, ValueSpec] }
  | { k: 'arr'; items: (ValueSpec | 'hole')[] }
  | { k: 'map'; entries: [ValueSpec, ValueSpec][] }
  | { k: 'set'; items: ValueSpec[] }
  | { k: 'item'; label: string; count: number }
  | { k: 'typed'; type: 'Uint8Array' | 'Float64Array' | 'BigInt64Array'; items: number[] }
  | { k: 'ref'; n: number }
  | { k: 'self' }
  | { k: 'freeze' | 'seal'; of: ValueSpec };

/** A unique symbol, the same in every module that imports it (one process): keys that JSON cannot carry. */
const UNIQUE = Symbol('unique');
export const REGISTERED = Symbol.for('difftest.registered');

/** Property keys are written as strings in steps: `@for` and `@unique` stand for the two symbols. */
export function keyOf(code: string): PropertyKey {
  if (code === '@for') return REGISTERED;
  if (code === '@unique') return UNIQUE;
  return code;
}

export interface BuildContext {
  /** The objects of the state object as the step began: what `ref` points at. */
  reached: readonly Reached[];
}

function numberOf(v: number | '-0' | 'NaN' | 'Infinity'): number {
  return v === '-0' ? -0 : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v;
}

export function build(spec: ValueSpec, context: BuildContext): unknown {
  let top: object | undefined;
  const make = (s: ValueSpec): unknown => {
    const own = <T extends object>(o: T): T => {
      top ??= o;
      return o;
    };
    switch (s.k) {
      case 'num':
        return numberOf(s.v);
      case 'str':
        return s.v;
      case 'bool':
        return s.v;
      case 'null':
        return null;
      case 'undef':
        return undefined;
      case 'big':
        return BigInt(s.v);
      case 'date':
        return own(new Date(s.t === 'NaN' ? NaN : s.t));
      case 'obj': {
        const o = own((s.bare ? Object.create(null) : {}) as Record<PropertyKey, unknown>);
        // Own data properties, as JSON.parse makes them: "__proto__" is a key like any other.
        for (const [key, value] of s.entries) Object.defineProperty(o, keyOf(key), { value: make(value), enumerable: true, writable: true, configurable: true });
        if (s.hidden) Object.defineProperty(o, keyOf(s.hidden[0]), { value: make(s.hidden[1]), enumerable: false, writable: true, configurable: true });
        return o;
      }
      case 'arr': {
        const a = own([] as unknown[]);
        a.length = s.items.length;
        s.items.forEach((item, i) => {
          if (item !== 'hole') a[i] = make(item);
        });
        return a;
      }
      case 'map': {
        const m = own(new Map<unknown, unknown>());
        for (const [key, value] of s.entries) m.set(make(key), make(value));
        return m;
      }
      case 'set': {
        const set = own(new Set<unknown>());
        for (const item of s.items) set.add(make(item));
        return set;
      }
      case 'item': {
        const item = own(new Item());
        item.label = s.label;
        item.count = s.count;
        return item;
      }
      case 'typed':
        if (s.type === 'BigInt64Array') return own(BigInt64Array.from(s.items.map((n) => BigInt(n))));
        return own(s.type === 'Uint8Array' ? Uint8Array.from(s.items) : Float64Array.from(s.items));
      case 'ref': {
        const { reached } = context;
        return reached.length === 0 ? undefined : reached[s.n % reached.length]!.value;
      }
      case 'self':
        return top;
      case 'freeze':
        return Object.freeze(make(s.of));
      case 'seal':
        return Object.seal(make(s.of));
    }
  };
  return make(spec);
}

/** The value as JavaScript a person can read (refs as the path of what they point at). */
export function code(spec: ValueSpec, context: BuildContext): string {
  const write = (s: ValueSpec): string => {
    switch (s.k) {
      case 'num':
        return s.v === '-0' ? '-0' : String(numberOf(s.v));
      case 'str':
        return show(s.v);
      case 'bool':
        return String(s.v);
      case 'null':
        return 'null';
      case 'undef':
        return 'undefined';
      case 'big':
        return `${s.v}n`;
      case 'date':
        return `new Date(${s.t})`;
      case 'obj': {
        const fields = s.entries.map(([key, value]) => `${keyCode(key)}: ${write(value)}`).join(', ');
        const literal = fields ? `{ ${fields} }` : '{}';
        let text = s.bare ? `Object.assign(Object.create(null), ${literal})` : literal;
        if (s.entries.some(([key]) => key === '__proto__')) text += ' /* "__proto__" as an own key, as JSON.parse makes it */';
        if (s.hidden) text = `Object.defineProperty(${text}, ${keyCode(s.hidden[0], true)}, { value: ${write(s.hidden[1])}, enumerable: false, writable: true, configurable: true })`;
        return text;
      }
      case 'arr':
        return `[${s.items.map((item) => (item === 'hole' ? '' : write(item))).join(', ')}${s.items.at(-1) === 'hole' ? ',' : ''}]`;
      case 'map':
        return `new Map([${s.entries.map(([key, value]) => `[${write(key)}, ${write(value)}]`).join(', ')}])`;
      case 'set':
        return `new Set([${s.items.map(write).join(', ')}])`;
      case 'item':
        return `Object.assign(new Item(), { label: ${show(s.label)}, count: ${s.count} })`;
      case 'typed':
        return `${s.type}.from([${s.items.map((n) => (s.type === 'BigInt64Array' ? `${n}n` : String(n))).join(', ')}])`;
      case 'ref': {
        const { reached } = context;
        return reached.length === 0 ? 'undefined' : reached[s.n % reached.length]!.path;
      }
      case 'self':
        return '‹the new value itself›';
      case 'freeze':
        return `Object.freeze(${write(s.of)})`;
      case 'seal':
        return `Object.seal(${write(s.of)})`;
    }
  };
  return write(spec);
}

function keyCode(key: string, quoted = false): string {
  if (key === '@for') return '[Symbol.for("difftest.registered")]'.slice(quoted ? 1 : 0, quoted ? -1 : undefined);
  if (key === '@unique') return quoted ? 'UNIQUE' : '[UNIQUE]';
  return /^[A-Za-z_$][\w$]*$/.test(key) && key !== '__proto__' && !quoted ? key : JSON.stringify(key);
}

// The abstract values the analysis computes for expressions: which state a value may be part of, and how
// deep. A value "inside" a state object (depth 0) is state itself: writing to it changes the object. A
// fresh container built from state (`[...this.items]`, `Object.values(this.byId)`, `m.filter(…)`) is not
// state, but what it holds is: depth 1 for its elements, 2 for the elements of its elements
// (`Object.entries`). Values also carry the functions they may be, so that callbacks, method references
// and helpers held in variables are followed, and whether they are the service instance itself.
import type { Node } from 'ts-morph';
import type { FunctionLike } from './classes.js';

/** Where a value can lead: a state object of the service, the object a state class's `this` is, or memory that outlives a request. */
type RootKind = 'self' | 'field' | 'module' | 'holder';

export interface Root {
  key: string;
  kind: RootKind;
  /** The field, class or variable name, for messages. */
  name: string;
}

/** Something callable: code of the user's sources (with the frame a closure was created in), or a library function. */
export type Callable = { kind: 'code'; fn: FunctionLike; frameId?: number; frame?: unknown; thisValue?: Value; boundArgs?: Value[] } | { kind: 'library'; declaration: Node; thisValue?: Value };

export interface Value {
  /** Root key → the least depth at which the value may hold that root's state (0: it may be that state). */
  readonly refs: ReadonlyMap<string, number>;
  /** Roots whose object the value may be exactly (not something inside it): methods called on it are that object's own. */
  readonly top: ReadonlySet<string>;
  /** The service instance (whose state fields are the state objects). */
  readonly service: boolean;
  readonly callables: readonly Callable[];
}

const MAX_DEPTH = 4;

export const EMPTY: Value = Object.freeze({ refs: new Map<string, number>(), top: new Set<string>(), service: false, callables: [] });

function isEmpty(value: Value): boolean {
  return value.refs.size === 0 && !value.service && value.callables.length === 0;
}

export function rootValue(key: string): Value {
  return { refs: new Map([[key, 0]]), top: new Set([key]), service: false, callables: [] };
}

export const SERVICE: Value = Object.freeze({ refs: new Map<string, number>(), top: new Set<string>(), service: true, callables: [] });

export function callableValue(callable: Callable): Value {
  return { refs: new Map(), top: new Set(), service: false, callables: [callable] };
}

export function join(...values: readonly (Value | undefined)[]): Value {
  const present = values.filter((v): v is Value => v !== undefined && !isEmpty(v));
  if (present.length === 0) return EMPTY;
  if (present.length === 1) return present[0]!;
  const refs = new Map<string, number>();
  const top = new Set<string>();
  const callables: Callable[] = [];
  let service = false;
  for (const v of present) {
    for (const [k, d] of v.refs) refs.set(k, Math.min(d, refs.get(k) ?? Infinity));
    for (const t of v.top) top.add(t);
    for (const c of v.callables) if (!callables.some((o) => sameCallable(o, c))) callables.push(c);
    service ||= v.service;
  }
  return { refs, top, service, callables };
}

function mapDepths(value: Value, depth: (d: number) => number): Value {
  if (value.refs.size === 0 && value.callables.length === 0) return EMPTY;
  const refs = new Map<string, number>();
  for (const [k, d] of value.refs) refs.set(k, Math.min(MAX_DEPTH, Math.max(0, depth(d))));
  return { refs, top: new Set(), service: false, callables: value.callables };
}

/** What is inside the value (a property, an element, what iterating it yields). */
export function element(value: Value): Value {
  return mapDepths(value, (d) => d - 1);
}

/** A new container holding the value itself (`[x]`, `{ a: x }`). */
export function deepen(value: Value): Value {
  return mapDepths(value, (d) => d + 1);
}

/** A new container holding the value's elements (`[...x]`, `x.filter(…)`, `Object.values(x)`). */
export function freshOf(value: Value): Value {
  return mapDepths(value, (d) => Math.max(d, 1));
}

/** `Object.entries(x)`, `x.entries()`: a new container of new pairs holding the value's elements. */
export function entriesOf(value: Value): Value {
  return mapDepths(value, (d) => Math.max(d - 1, 0) + 2);
}

/** `Object.fromEntries(x)`, `new Map(x)`: a new container holding the second members of x's pairs. */
export function fromEntries(value: Value): Value {
  return mapDepths(value, (d) => Math.max(d - 2, 0) + 1);
}

export function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a.service !== b.service || a.refs.size !== b.refs.size || a.top.size !== b.top.size || a.callables.length !== b.callables.length) return false;
  for (const [k, d] of a.refs) if (b.refs.get(k) !== d) return false;
  for (const t of a.top) if (!b.top.has(t)) return false;
  return a.callables.every((c) => b.callables.some((o) => sameCallable(c, o)));
}

function sameCallable(a: Callable, b: Callable): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'library' && b.kind === 'library') return a.declaration === b.declaration;
  if (a.kind === 'code' && b.kind === 'code') {
    return a.fn === b.fn && a.frameId === b.frameId && (a.thisValue === b.thisValue || (!!a.thisValue && !!b.thisValue && sameValue(a.thisValue, b.thisValue)));
  }
  return false;
}

const nodeIds = new WeakMap<object, number>();
let nextNodeId = 1;

/** A stable number for a node, for cache keys. */
export function nodeId(node: Node): number {
  const key = node.compilerNode;
  let id = nodeIds.get(key);
  if (id === undefined) nodeIds.set(key, (id = nextNodeId++));
  return id;
}

/** A string that identifies the value, for cache keys. */
export function valueKey(value: Value): string {
  if (isEmpty(value)) return '-';
  const refs = [...value.refs].map(([k, d]) => `${k}${value.top.has(k) ? '!' : ''}:${d}`).sort();
  const callables = value.callables.map((c) => (c.kind === 'library' ? `L${nodeId(c.declaration)}` : `F${nodeId(c.fn)}@${c.frameId ?? ''}`)).sort();
  return `${value.service ? 'S' : ''}[${refs.join(',')}](${callables.join(',')})`;
}

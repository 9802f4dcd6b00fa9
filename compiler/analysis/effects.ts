// What running a function may do, as the analysis finds it: writes into state (and whether they happen
// inside a call of the state object's own method), state it reads, what it does that a backup could not
// repeat, state handed to code it cannot see into, state reached from callbacks that run after the
// request, state stored where it outlives the request, state fields replaced, functions stored into state.
import type { Node } from 'ts-morph';
import type { Evidence } from './model.js';
import { locate } from './locate.js';

interface Effect {
  evidence: Evidence;
  /** The function the evidence is in, for messages: 'QueueService.add'. */
  owner: string;
}

export interface RootEffect extends Effect {
  root: string;
}

export interface WriteEffect extends RootEffect {
  /** The root whose own method was running when the write happened (undefined: none). */
  inside?: string;
}

export interface DeferredEffect extends RootEffect {
  /** The call that registered the callback: 'setTimeout()' at file:line:col. */
  registration: Evidence;
}

export interface EscapeEffect extends RootEffect {
  /** Where the state went: "the module-level variable 'x'". */
  where: string;
}

interface StateCallEffect {
  root: string;
  method: string;
  write?: WriteEffect;
}

export interface Effects {
  writes: WriteEffect[];
  /** Roots read, with the first place each was reached. */
  reads: Map<string, Evidence>;
  nondeterminism: Evidence[];
  opaque: RootEffect[];
  deferred: DeferredEffect[];
  escapes: EscapeEffect[];
  replacements: RootEffect[];
  functionStores: RootEffect[];
  stateCalls: StateCallEffect[];
}

export function newEffects(): Effects {
  return { writes: [], reads: new Map(), nondeterminism: [], opaque: [], deferred: [], escapes: [], replacements: [], functionStores: [], stateCalls: [] };
}

const LIMIT = 64; // per kind: enough to report every place once, bounded for pathological code

function positionKey(e: Evidence): string {
  return `${e.file}:${e.position.line}:${e.position.column}`;
}

function pushUnique<T>(into: T[], items: readonly T[], key: (item: T) => string): void {
  if (items.length === 0) return;
  const seen = new Set(into.map(key));
  for (const item of items) {
    if (into.length >= LIMIT) return;
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    into.push(item);
  }
}

const rootKey = (e: RootEffect) => `${e.root}@${positionKey(e.evidence)}`;

export function mergeEffects(into: Effects, from: Effects): void {
  pushUnique(into.writes, from.writes, (w) => `${rootKey(w)}/${w.inside ?? ''}`);
  for (const [root, evidence] of from.reads) if (!into.reads.has(root)) into.reads.set(root, evidence);
  pushUnique(into.nondeterminism, from.nondeterminism, (e) => `${positionKey(e)}/${e.description}`);
  pushUnique(into.opaque, from.opaque, rootKey);
  pushUnique(into.deferred, from.deferred, rootKey);
  pushUnique(into.escapes, from.escapes, rootKey);
  pushUnique(into.replacements, from.replacements, rootKey);
  pushUnique(into.functionStores, from.functionStores, rootKey);
  pushUnique(into.stateCalls, from.stateCalls, (c) => `${c.root}.${c.method}/${c.write ? rootKey(c.write) : ''}`);
}

export function evidence(node: Node, description: string): Evidence {
  return { description, ...locate(node) };
}

export function addWrite(effects: Effects, write: WriteEffect): void {
  pushUnique(effects.writes, [write], (w) => `${rootKey(w)}/${w.inside ?? ''}`);
}

export function addNondeterminism(effects: Effects, found: Evidence): void {
  pushUnique(effects.nondeterminism, [found], (e) => `${positionKey(e)}/${e.description}`);
}

export function addRootEffect<T extends RootEffect>(list: T[], effect: T): void {
  pushUnique(list, [effect], rootKey);
}

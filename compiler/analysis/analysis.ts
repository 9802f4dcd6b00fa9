// One analysis of one service: the roots state can lead to (the service's state objects, a state class's
// own `this`, module-level memory), the service's member table, and every function summary computed, by
// context. Frames (engine.ts) ask it to analyse the functions they call.
import { Node } from 'ts-morph';
import type { ClassMembers } from './classes.js';
import { newEffects, type Effects } from './effects.js';
import { Frame, MAX_ITERATIONS } from './engine.js';
import { describeOwner } from './locate.js';
import { EMPTY, nodeId, valueKey, type Callable, type Root, type Value } from './values.js';

export interface Summary {
  effects: Effects;
  returns: Value;
}

export interface InvokeOptions {
  /** The root whose own method is running (writes to it are the object's own). */
  insideOf?: string;
  /** A constructor or field initialiser: runs before any request, replacing a state field is its job. */
  initializing?: boolean;
}

export interface RootInfo extends Root {
  /** The member table of the object's class, for a state object or a state class's `this`. */
  members?: ClassMembers;
}

const EMPTY_SUMMARY: Summary = { effects: newEffects(), returns: EMPTY };
const MAX_DEPTH = 48;

export class Analysis {
  readonly roots = new Map<string, RootInfo>();
  /** Names of the service's state fields → their root keys. */
  readonly stateFields = new Map<string, string>();
  serviceMembers?: ClassMembers;
  private readonly summaries = new Map<string, Summary>();
  private readonly inProgress = new Set<string>();
  private readonly active = new Map<object, number>();
  private depth = 0;
  private readonly moduleValues = new Map<object, Value>();
  private moduleFrame?: Frame;
  private frames = 0;

  addRoot(root: RootInfo): string {
    if (!this.roots.has(root.key)) this.roots.set(root.key, root);
    return root.key;
  }

  isStateRoot(key: string): boolean {
    const kind = this.roots.get(key)?.kind;
    return kind === 'self' || kind === 'field';
  }

  newFrameId(): number {
    return ++this.frames;
  }

  /**
   * Analyses a function of the user's sources in a context. Cached by the context, which for a closure
   * includes the version of the frames it reads from. Recursion and very deep call chains are cut: a
   * function already on the stack twice, or a chain deeper than MAX_DEPTH, contributes nothing more.
   */
  analyze(callable: Extract<Callable, { kind: 'code' }>, thisValue: Value, args: readonly Value[], options: InvokeOptions): Summary {
    const fn = callable.fn;
    if (!fn.getBody()) return EMPTY_SUMMARY;
    const parent = callable.frame as Frame | undefined;
    const lexicalThis = Node.isArrowFunction(fn) && parent !== undefined;
    const allArgs = [...(callable.boundArgs ?? []), ...args];
    const key = [nodeId(fn), parent?.versionKey() ?? '', lexicalThis ? '^' : valueKey(thisValue), allArgs.map(valueKey).join(','), options.insideOf ?? '', options.initializing ? 'i' : ''].join('|');
    const cached = this.summaries.get(key);
    if (cached) return cached;
    const active = this.active.get(fn.compilerNode) ?? 0;
    if (this.inProgress.has(key) || active >= 2 || this.depth >= MAX_DEPTH) return EMPTY_SUMMARY;
    this.inProgress.add(key);
    this.active.set(fn.compilerNode, active + 1);
    this.depth++;
    try {
      const frame = new Frame(this, fn, { parent, thisValue: lexicalThis ? undefined : thisValue, ...options });
      frame.bindParameters(fn, allArgs);
      frame.run();
      const summary = { effects: frame.effects, returns: frame.returns };
      this.summaries.set(key, summary);
      return summary;
    } finally {
      this.depth--;
      this.active.set(fn.compilerNode, active);
      this.inProgress.delete(key);
    }
  }

  /** Analyses a field initialiser, which runs when the object is created, outside any request. */
  analyzeInitializer(initializer: Node, thisValue: Value): Summary {
    const frame = new Frame(this, undefined, { thisValue, initializing: true }, describeOwner(initializer));
    for (let i = 0; i < MAX_ITERATIONS; i++) {
      frame.changed = false;
      frame.cache = new Map();
      frame.effects = newEffects();
      frame.walk(initializer);
      if (!frame.changed) break;
    }
    return { effects: frame.effects, returns: EMPTY };
  }

  /** What a module-level `const` holds when it is an alias of something callable (`const rand = Math.random`). */
  moduleConstantValue(initializer: Node): Value {
    let value = this.moduleValues.get(initializer.compilerNode);
    if (value) return value;
    this.moduleValues.set(initializer.compilerNode, EMPTY);
    this.moduleFrame ??= new Frame(this, undefined, {});
    value = this.moduleFrame.eval(initializer);
    this.moduleValues.set(initializer.compilerNode, value);
    return value;
  }
}

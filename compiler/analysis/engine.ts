// The abstract interpreter behind the analysis: one Frame is one function being analysed in one context
// (what `this` and each parameter may be). It walks the whole body, nested callbacks included,
// flow-insensitively: local variables are keyed by symbol (so a `p` in one arrow is not a `p` in another)
// and grow until nothing changes. Calls are analysed in their own frames through the Analysis
// (analysis.ts); expressions and calls are evaluated in expressions.ts and calls.ts; what a frame finds
// goes into Effects (effects.ts).
import { Node } from 'ts-morph';
import { SKIPPED_KINDS, classMembers, enclosingClass, returnedExpressions, type ClassLike, type ClassMembers, type FunctionLike } from './classes.js';
import { isConstVariable, isPrimitiveType, isCallableType, isUserCode, moduleLevelVariable, symbolOf } from './declarations.js';
import { unreplayableRead } from './builtins.js';
import { addNondeterminism, addRootEffect, evidence, newEffects, type Effects } from './effects.js';
import { computeExpression } from './expressions.js';
import type { Evidence } from './model.js';
import { describeOwner } from './locate.js';
import { chainBase, contains, enclosingFunction, EVALUATED, isValueReference, isWriteOnlyTarget } from './syntax.js';
import { isMutatedAnywhere } from './module-state.js';
import type { Analysis, InvokeOptions } from './analysis.js';
import { EMPTY, SERVICE, callableValue, deepen, element, freshOf, join, nodeId, rootValue, sameValue, type Value } from './values.js';

export const MAX_ITERATIONS = 8;

export interface FrameOptions extends InvokeOptions {
  parent?: Frame;
  /** Undefined for an arrow function: its `this` is its parent's. */
  thisValue?: Value;
}

/** One function being analysed in one context. */
export class Frame {
  readonly id: number;
  readonly owner: string;
  /** Symbol → what the variable or parameter may hold. */
  readonly vars = new Map<object, Value>();
  /** Local objects handed to state (stored into it, or given to its update method): position and roots. */
  readonly handed = new Map<object, { position: number; roots: Set<string> }>();
  /** Callbacks of this body that run after the request, with the call that registered them. */
  readonly deferredClosures = new Map<object, Evidence>();
  cache = new Map<object, Value>();
  effects: Effects = newEffects();
  returns: Value = EMPTY;
  changed = false;
  /** Bumped whenever what the frame's variables may hold grows: closures of it analysed before are stale. */
  version = 0;

  constructor(
    readonly analysis: Analysis,
    readonly fn: FunctionLike | undefined,
    readonly options: FrameOptions,
    owner?: string,
  ) {
    this.id = analysis.newFrameId();
    this.owner = owner ?? (fn ? describeOwner(fn) : '');
  }

  get parent(): Frame | undefined {
    return this.options.parent;
  }

  get thisValue(): Value {
    return this.options.thisValue ?? this.parent?.thisValue ?? EMPTY;
  }

  get insideOf(): string | undefined {
    return this.options.insideOf;
  }

  get initializing(): boolean {
    return this.options.initializing === true;
  }

  /** Identifies what closures of this frame (and of its enclosing frames) may read, for cache keys. */
  versionKey(): string {
    return `${this.id}v${this.version}${this.parent ? '/' + this.parent.versionKey() : ''}`;
  }

  run(): void {
    const body = this.fn?.getBody();
    for (let i = 0; i < MAX_ITERATIONS; i++) {
      this.changed = false;
      this.cache = new Map();
      this.effects = newEffects();
      this.returns = EMPTY;
      for (const parameter of this.fn?.getParameters() ?? []) {
        const init = parameter.getInitializer();
        if (init) {
          this.walk(init);
          this.bind(parameter.getNameNode(), this.eval(init));
        }
      }
      if (body) {
        this.walk(body);
        if (!Node.isBlock(body)) this.returns = this.eval(body);
      }
      if (!this.changed) break;
    }
  }

  /** Evaluates every expression of a body (nested callbacks included) once. */
  walk(root: Node): void {
    const visit = (node: Node): boolean => {
      if (Node.isTypeNode(node) || SKIPPED_KINDS.has(node.getKind()) || Node.isDecorator(node)) return false;
      if (Node.isVariableDeclaration(node)) {
        const init = node.getInitializer();
        if (init) this.bind(node.getNameNode(), this.eval(init));
      } else if (Node.isForOfStatement(node)) {
        const items = element(this.eval(node.getExpression()));
        const initializer = node.getInitializer();
        if (Node.isVariableDeclarationList(initializer)) for (const d of initializer.getDeclarations()) this.bind(d.getNameNode(), items);
      } else if (Node.isParameterDeclaration(node)) {
        const init = node.getInitializer();
        if (init) this.bind(node.getNameNode(), this.eval(init));
      } else if (Node.isReturnStatement(node)) {
        const expression = node.getExpression();
        if (expression && this.fn && enclosingFunction(node) === this.fn.compilerNode) this.returns = join(this.returns, this.eval(expression));
      } else if (Node.isYieldExpression(node)) {
        // A generator returns an iterator of what it yields (`yield*` hands on another iterable's elements).
        const expression = node.getExpression();
        if (expression && this.fn && enclosingFunction(node) === this.fn.compilerNode) this.returns = join(this.returns, this.yielded(node));
      } else if (Node.isIdentifier(node)) {
        if (isValueReference(node)) this.eval(node);
      } else if (EVALUATED.has(node.getKind()) && !isWriteOnlyTarget(node)) {
        this.eval(node);
      }
      return true;
    };
    root.forEachDescendant((node, traversal) => {
      if (!visit(node)) traversal.skip();
    });
    if (Node.isIdentifier(root) ? isValueReference(root) : EVALUATED.has(root.getKind())) this.eval(root);
  }

  eval(node: Node): Value {
    const key = node.compilerNode;
    const cached = this.cache.get(key);
    if (cached) return cached;
    this.cache.set(key, EMPTY); // a cycle through the same node reads nothing
    let value = computeExpression(this, node);
    if (value.refs.size > 0 && !value.service && value.callables.length === 0 && isPrimitiveType(node.getType())) value = EMPTY;
    this.cache.set(key, value);
    if (value.refs.size > 0) this.noteAccess(node, value);
    return value;
  }

  /** State reached at a node: a read of that state, and, inside a callback that runs after the request, a deferred access. */
  noteAccess(node: Node, value: Value): void {
    for (const root of value.refs.keys()) {
      if (!this.analysis.isStateRoot(root)) continue;
      if (!this.effects.reads.has(root)) this.effects.reads.set(root, evidence(node, ''));
      const registration = this.deferredAt(node);
      if (registration) addRootEffect(this.effects.deferred, { root, evidence: evidence(node, ''), owner: this.owner, registration });
    }
  }

  /** The registration of the after-the-request callback of this body that a node is in, if any. */
  deferredAt(node: Node): Evidence | undefined {
    if (this.deferredClosures.size === 0) return undefined;
    for (let current: Node | undefined = node; current && current !== this.fn; current = current.getParent()) {
      const found = this.deferredClosures.get(current.compilerNode);
      if (found) return found;
    }
    return undefined;
  }

  markDeferred(fn: FunctionLike, registration: Evidence): void {
    if (this.deferredClosures.has(fn.compilerNode)) return;
    this.deferredClosures.set(fn.compilerNode, registration);
    this.changed = true;
    this.version++;
  }

  nondeterministic(node: Node, description: string): void {
    addNondeterminism(this.effects, evidence(node, description));
  }

  /** What an identifier refers to: a variable of this frame or an enclosing one, a function, a module-level variable. */
  lookup(identifier: Node): Value {
    const symbol = symbolOf(identifier);
    if (!symbol) return EMPTY;
    const key = symbol.compilerSymbol;
    for (let frame: Frame | undefined = this; frame; frame = frame.parent) {
      const found = frame.vars.get(key);
      if (found) return found;
    }
    const declarations = symbol.getDeclarations();
    const declaration = declarations.find((d) => Node.isFunctionDeclaration(d) && d.getBody()) ?? symbol.getValueDeclaration() ?? declarations[0];
    if (!declaration) return EMPTY;
    if (Node.isFunctionDeclaration(declaration)) {
      if (!isUserCode(declaration)) return callableValue({ kind: 'library', declaration });
      if (!declaration.getBody()) return EMPTY;
      const owner = this.frameContaining(declaration);
      return callableValue({ kind: 'code', fn: declaration, frameId: owner?.id, frame: owner });
    }
    const variable = moduleLevelVariable(declaration);
    if (variable) return this.moduleVariable(identifier, variable);
    if (!isUserCode(declaration)) {
      const why = unreplayableRead(declaration); // `import { env } from 'node:process'`
      if (why) this.nondeterministic(identifier, why);
    }
    if (!isUserCode(declaration) && (Node.isMethodSignature(declaration) || Node.isMethodDeclaration(declaration))) {
      return callableValue({ kind: 'library', declaration }); // `const { assign } = Object` reaches here as a binding
    }
    return EMPTY;
  }

  private moduleVariable(reference: Node, variable: import('ts-morph').VariableDeclaration): Value {
    const name = variable.getName();
    const init = variable.getInitializer();
    if (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) {
      if (!isConstVariable(variable)) this.nondeterministic(reference, `reads the module-level variable '${name}'`);
      return callableValue({ kind: 'code', fn: init });
    }
    const type = variable.getType();
    const holdsObject = !isPrimitiveType(type) && !isCallableType(type);
    if (!isConstVariable(variable)) {
      this.nondeterministic(reference, `reads the module-level variable '${name}'`);
    } else if (holdsObject && isMutatedAnywhere(variable)) {
      this.nondeterministic(reference, `reads the module-level object '${name}' (other code changes it)`);
    }
    let value = isConstVariable(variable) && init ? this.analysis.moduleConstantValue(init) : EMPTY;
    if (holdsObject) {
      const key = this.analysis.addRoot({ key: `module:${nodeId(variable)}`, kind: 'module', name: `module-level ${isConstVariable(variable) ? 'object' : 'variable'} '${name}'` });
      value = join(value, rootValue(key));
    }
    return value;
  }

  /** The frame (this one or an enclosing one) whose function contains a node. */
  frameContaining(node: Node): Frame | undefined {
    for (let frame: Frame | undefined = this; frame; frame = frame.parent) {
      if (frame.fn && contains(frame.fn, node)) return frame;
    }
    return undefined;
  }

  /** Binds a declaration's name (or destructuring pattern) to a value. */
  bind(name: Node, value: Value): void {
    if (Node.isIdentifier(name)) return this.setVar(name, value);
    if (Node.isObjectBindingPattern(name)) {
      for (const el of name.getElements()) {
        const property = el.getPropertyNameNode();
        const key = property ? (Node.isIdentifier(property) || Node.isStringLiteral(property) ? property.getText().replace(/^['"]|['"]$/g, '') : undefined) : el.getName();
        let v: Value;
        if (el.getDotDotDotToken()) v = value.service ? deepen(this.serviceFields(el)) : freshOf(value);
        else v = value.service ? this.serviceMemberValue(el, key) : element(value);
        const init = el.getInitializer();
        this.bind(el.getNameNode(), init ? join(v, this.eval(init)) : v);
      }
    } else if (Node.isArrayBindingPattern(name)) {
      for (const el of name.getElements()) {
        if (!Node.isBindingElement(el)) continue;
        const v = el.getDotDotDotToken() ? freshOf(value) : element(value);
        const init = el.getInitializer();
        this.bind(el.getNameNode(), init ? join(v, this.eval(init)) : v);
      }
    }
  }

  setVar(name: Node, value: Value): void {
    const symbol = symbolOf(name) ?? name.getSymbol();
    if (!symbol) return;
    const declaration = symbol.getDeclarations()[0];
    const owner = (declaration && this.frameContaining(declaration)) ?? this;
    const key = symbol.compilerSymbol;
    const old = owner.vars.get(key) ?? EMPTY;
    const next = join(old, value);
    if (sameValue(old, next)) return;
    owner.vars.set(key, next);
    owner.changed = true;
    owner.version++;
    this.changed = true;
  }

  bindParameters(fn: FunctionLike, args: readonly Value[]): void {
    const parameters = fn.getParameters().filter((p) => p.getName() !== 'this');
    parameters.forEach((parameter, i) => {
      const value = parameter.isRestParameter() ? join(...args.slice(i).map(deepen)) : (args[i] ?? EMPTY);
      this.bind(parameter.getNameNode(), value);
    });
  }

  /** What a function of this body returns, evaluated here (for callbacks and nested functions run in place). */
  returnsOf(fn: FunctionLike): Value {
    return join(...returnedExpressions(fn).map((e) => (Node.isYieldExpression(e) ? this.yielded(e) : this.eval(e))));
  }

  /** A generator returns an iterator of what it yields (`yield*` hands on another iterable's elements). */
  private yielded(node: import('ts-morph').YieldExpression): Value {
    const expression = node.getExpression();
    if (!expression) return EMPTY;
    const value = this.eval(expression);
    return node.getAsteriskToken() ? freshOf(value) : deepen(value);
  }

  /** Records that a local object was handed to state at a node: later writes through it write that state. */
  hand(node: Node, at: Node, roots: readonly string[]): void {
    if (roots.length === 0 || !Node.isIdentifier(node)) return;
    const symbol = symbolOf(node);
    const declaration = symbol?.getDeclarations()[0];
    if (!symbol || !declaration || moduleLevelVariable(declaration)) return;
    const owner = this.frameContaining(declaration) ?? this;
    const entry = owner.handed.get(symbol.compilerSymbol) ?? { position: at.getStart(), roots: new Set<string>() };
    entry.position = Math.min(entry.position, at.getStart());
    const before = entry.roots.size;
    for (const r of roots) entry.roots.add(r);
    if (entry.roots.size !== before) {
      owner.handed.set(symbol.compilerSymbol, entry);
      owner.changed = true;
      owner.version++;
      this.changed = true;
    }
  }

  /** Roots a local object was handed to before a node, when the node's access chain starts at that object. */
  handedRoots(chain: Node, at: Node): string[] {
    const base = chainBase(chain);
    if (!Node.isIdentifier(base)) return [];
    const symbol = symbolOf(base);
    if (!symbol) return [];
    for (let frame: Frame | undefined = this; frame; frame = frame.parent) {
      const entry = frame.handed.get(symbol.compilerSymbol);
      if (entry && entry.position < at.getStart()) return [...entry.roots];
    }
    return [];
  }

  /** A local object (the base of an access chain) now holds a value: later reads through it see it. */
  storeIntoLocal(chain: Node, value: Value): void {
    if (value.refs.size === 0 && value.callables.length === 0) return;
    const base = chainBase(chain);
    if (!Node.isIdentifier(base)) return;
    const declaration = symbolOf(base)?.getDeclarations()[0];
    if (!declaration || moduleLevelVariable(declaration) || !this.frameContaining(declaration)) return;
    this.setVar(base, value);
  }

  /** The service's member `name` read on the service instance: a state object, a method, a getter's result, a plain field. */
  serviceMemberValue(at: Node, name: string | undefined): Value {
    if (name === undefined) return this.serviceFields(at);
    const field = this.analysis.stateFields.get(name);
    if (field) return rootValue(field);
    const members = this.analysis.serviceMembers;
    const method = members?.methods.get(name);
    if (method) return callableValue({ kind: 'code', fn: method.fn, thisValue: SERVICE });
    if (members?.fields.some((f) => f.getName() === name)) {
      return rootValue(this.analysis.addRoot({ key: `holder:${name}`, kind: 'holder', name: `service field '${name}'` }));
    }
    return EMPTY;
  }

  /** Every state object of the service (a computed `this[key]`, `Object.values(this)`). */
  serviceFields(_at: Node): Value {
    return join(...[...this.analysis.stateFields.values()].map(rootValue));
  }

  /** The member table `this` dispatches through here: a state object's or the service's, else the enclosing class's. */
  membersOf(value: Value, near: Node): ClassMembers | undefined {
    for (const key of value.top) {
      const members = this.analysis.roots.get(key)?.members;
      if (members) return members;
    }
    if (value.service) return this.analysis.serviceMembers;
    const cls: ClassLike | undefined = enclosingClass(near);
    return cls ? classMembers(cls) : undefined;
  }
}

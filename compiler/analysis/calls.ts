// Calls, as the analysis follows them: a method of a state object or of the service dispatches by name
// through the object's member table (so an override, a mixin's method or a `#private` helper is found);
// other code of the user's sources is analysed with what it is called with (a helper's parameter bound to
// state is state inside it); callbacks get the receiver's elements; the standard library is known by
// qualified name (what it changes, what it returns, what it runs later); anything else that receives
// state is code the analysis cannot see into.
import { Node, SyntaxKind, type CallExpression, type NewExpression, type TaggedTemplateExpression } from 'ts-morph';
import { callbackParameters, MUTATING_METHODS, deferringApi, isPromiseMethod, resultShape, storedArguments, storedByWriter, unreplayableCall, writesFirstArgument } from './builtins.js';
import { classMembers, enclosingClass, superMethod, unwrap, type ClassLike, type FunctionLike } from './classes.js';
import { declarationOf, isUserCode, mayHoldObjects, originOf, qualifiedName, symbolOf } from './declarations.js';
import { addRootEffect, evidence, mergeEffects, type Effects } from './effects.js';
import type { Summary } from './analysis.js';
import type { Frame } from './engine.js';
import { memberName, recordWrite, writeRoots } from './expressions.js';
import { short } from './locate.js';
import type { Evidence } from './model.js';
import { EMPTY, deepen, element, entriesOf, freshOf, fromEntries, join, type Callable, type Value } from './values.js';

type CodeCallable = Extract<Callable, { kind: 'code' }>;

export function evaluateCall(frame: Frame, call: CallExpression): Value {
  const callee = unwrap(call.getExpression());
  const argNodes = call.getArguments();
  const args = argumentValues(frame, argNodes);
  if (callee.getKind() === SyntaxKind.SuperKeyword || callee.getKind() === SyntaxKind.ImportKeyword) return EMPTY;
  if (Node.isPropertyAccessExpression(callee) || Node.isElementAccessExpression(callee)) return methodCall(frame, call, callee, args, argNodes);
  return callValue(frame, call, callee, frame.eval(callee), EMPTY, args, argNodes);
}

export function evaluateTaggedTemplate(frame: Frame, node: TaggedTemplateExpression): Value {
  const template = node.getTemplate();
  const spans = Node.isTemplateExpression(template) ? template.getTemplateSpans().map((s) => s.getExpression()) : [];
  const tag = unwrap(node.getTag());
  return callValue(frame, node, tag, frame.eval(tag), EMPTY, [EMPTY, ...spans.map((s) => frame.eval(s))], [node.getTemplate(), ...spans]);
}

function argumentValues(frame: Frame, nodes: Node[]): Value[] {
  return nodes.map((a) => (Node.isSpreadElement(a) ? element(frame.eval(a.getExpression())) : frame.eval(a)));
}

/** Calls a function value (closures, functions, library functions it may be); unknown functions receiving state are opaque. */
function callValue(frame: Frame, call: Node, callee: Node, fnValue: Value, thisValue: Value, args: Value[], argNodes: Node[], thisNode?: Node): Value {
  let result = EMPTY;
  for (const callable of fnValue.callables) {
    if (callable.kind === 'library') {
      // A library method called on an explicit receiver (`Array.prototype.push.call(this.items, x)`) acts on that receiver.
      const method = thisNode ? { node: thisNode, name: qualifiedName(callable.declaration).split('.').pop() } : undefined;
      result = join(result, libraryCall(frame, call, callee, callable.declaration, thisNode ? thisValue : (callable.thisValue ?? thisValue), method, args, argNodes));
    } else result = join(result, invoke(frame, call, callable, callable.thisValue ?? thisValue, args));
  }
  if (fnValue.callables.length > 0) return result;
  const declaration = declarationOf(callee);
  if (declaration && !isUserCode(declaration)) return libraryCall(frame, call, callee, declaration, thisValue, undefined, args, argNodes);
  heldFunctionCall(frame, call, callee, fnValue);
  return unknownCall(frame, call, callee, args, argNodes, thisValue);
}

/** Calling a function that state holds (a stored callback): what it does is out of sight. */
function heldFunctionCall(frame: Frame, call: Node, callee: Node, fnValue: Value): void {
  for (const root of fnValue.refs.keys()) {
    if (frame.analysis.isStateRoot(root)) addRootEffect(frame.effects.opaque, { root, evidence: evidence(call, `calls ${short(callee)}(), a function held in the object`), owner: frame.owner });
  }
}

function methodCall(frame: Frame, call: CallExpression, callee: import('ts-morph').PropertyAccessExpression | import('ts-morph').ElementAccessExpression, args: Value[], argNodes: Node[]): Value {
  const receiverNode = callee.getExpression();
  const name = memberName(callee);
  if (receiverNode.getKind() === SyntaxKind.SuperKeyword) {
    const cls = enclosingClass(call);
    const members = frame.membersOf(frame.thisValue, call);
    const target = members && cls && name ? superMethod(members, cls, name) : undefined;
    return target ? invoke(frame, call, { kind: 'code', fn: target }, frame.thisValue, args) : EMPTY;
  }
  const receiver = frame.eval(receiverNode);

  if (receiver.callables.length > 0 && (name === 'call' || name === 'apply' || name === 'bind')) {
    const functions: Value = { refs: new Map(), top: new Set(), service: false, callables: receiver.callables };
    if (name === 'call') return callValue(frame, call, receiverNode, functions, args[0] ?? EMPTY, args.slice(1), argNodes.slice(1), argNodes[0]);
    if (name === 'apply') return callValue(frame, call, receiverNode, functions, args[0] ?? EMPTY, Array(8).fill(element(args[1] ?? EMPTY)), [], argNodes[0]);
    return { ...functions, callables: receiver.callables.map((c) => ({ ...c, thisValue: args[0] ?? EMPTY, ...(c.kind === 'code' ? { boundArgs: args.slice(1) } : {}) })) };
  }

  // A method of a state object (or of the state class's own `this`), or of the service: dispatched by name.
  const dispatched = dispatch(frame, receiver, name);
  if (dispatched.length > 0) {
    let result = EMPTY;
    for (const target of dispatched) {
      const summary = invokeSummary(frame, call, { kind: 'code', fn: target.fn }, receiver, args, { insideOf: target.insideOf });
      result = join(result, summary.returns);
      if (target.root && name !== undefined) {
        const write = summary.effects.writes.find((w) => w.root === target.root);
        frame.effects.stateCalls.push({ root: target.root, method: name, write });
        if (write) argNodes.forEach((a) => frame.hand(unwrap(a), call, [target.root!]));
      }
    }
    return result;
  }

  const symbol = symbolOf(Node.isPropertyAccessExpression(callee) ? callee.getNameNode() : callee);
  const declarations = symbol?.getDeclarations() ?? [];
  const code = declarations.map(functionOf).find((fn): fn is FunctionLike => fn !== undefined && isUserCode(fn));
  if (code) return invoke(frame, call, { kind: 'code', fn: code }, receiver, args);
  // An abstract method or an interface's: each implementation in the user's sources may run.
  const implementations = declarations.filter((d) => isUserCode(d) && (Node.isMethodSignature(d) || (Node.isMethodDeclaration(d) && !d.getBody()))).flatMap(implementationsOf);
  if (implementations.length > 0) return join(...implementations.map((fn) => invoke(frame, call, { kind: 'code', fn }, receiver, args)));

  const memberValue = frame.eval(callee);
  const held = memberValue.callables.filter((c) => c.kind === 'code');
  if (held.length > 0) return callValue(frame, call, callee, { ...memberValue, callables: held }, receiver, args, argNodes);

  const declaration = declarations[0];
  if (!declaration || !isUserCode(declaration)) return libraryCall(frame, call, callee, declaration, receiver, { node: receiverNode, name }, args, argNodes);
  heldFunctionCall(frame, call, callee, memberValue);
  return unknownCall(frame, call, callee, args, argNodes, receiver);
}

const implementations = new WeakMap<object, FunctionLike[]>();

/** The methods of the user's sources that implement an abstract or interface method (the language service's "go to implementation"). */
function implementationsOf(declaration: Node): FunctionLike[] {
  let found = implementations.get(declaration.compilerNode);
  if (found) return found;
  found = [];
  implementations.set(declaration.compilerNode, found);
  const name = (declaration as Node & { getNameNode(): Node }).getNameNode();
  try {
    for (const location of declaration.getProject().getLanguageService().getImplementations(name)) {
      const node = location.getNode();
      const member = node.getParentOrThrow();
      const fn = functionOf(member) ?? functionOf(node);
      if (fn && isUserCode(fn) && !found.includes(fn)) found.push(fn);
    }
  } catch {
    // no language service answer: the call stays unseen
  }
  return found;
}

function functionOf(declaration: Node): FunctionLike | undefined {
  if ((Node.isMethodDeclaration(declaration) || Node.isFunctionDeclaration(declaration)) && declaration.getBody()) return declaration;
  if (Node.isPropertyDeclaration(declaration) || Node.isPropertyAssignment(declaration) || Node.isVariableDeclaration(declaration)) {
    const init = declaration.getInitializer();
    if (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) return init;
  }
  return undefined;
}

interface Dispatched {
  fn: FunctionLike;
  root?: string;
  insideOf?: string;
}

function dispatch(frame: Frame, receiver: Value, name: string | undefined): Dispatched[] {
  if (name === undefined) return [];
  const found: Dispatched[] = [];
  for (const key of receiver.top) {
    const root = frame.analysis.roots.get(key);
    const method = root?.members?.methods.get(name);
    if (method) found.push({ fn: method.fn, root: key, insideOf: root!.kind === 'self' || root!.kind === 'field' ? key : undefined });
  }
  if (receiver.service) {
    const method = frame.analysis.serviceMembers?.methods.get(name);
    if (method) found.push({ fn: method.fn });
  }
  return found;
}

/** Runs code of the user's sources; its effects become the caller's. Returns what it returns. */
export function invoke(frame: Frame, call: Node, callable: CodeCallable, thisValue: Value, args: readonly Value[]): Value {
  return invokeSummary(frame, call, callable, thisValue, args, {}).returns;
}

function invokeSummary(frame: Frame, call: Node, callable: CodeCallable, thisValue: Value, args: readonly Value[], options: { insideOf?: string }): Summary {
  if (isLocal(frame, callable)) {
    // A callback or nested function of this very body: its code is walked here; bind what it receives.
    frame.bindParameters(callable.fn, [...(callable.boundArgs ?? []), ...args]);
    return { effects: frame.effects, returns: frame.returnsOf(callable.fn) };
  }
  const summary = frame.analysis.analyze(callable, thisValue, args, { insideOf: options.insideOf ?? frame.insideOf, initializing: frame.initializing });
  mergeEffects(frame.effects, summary.effects);
  const registration = frame.deferredAt(call);
  if (registration) deferredReads(frame, summary.effects, call, registration);
  return summary;
}

function isLocal(frame: Frame, callable: CodeCallable): boolean {
  if (callable.frameId !== undefined) return callable.frameId === frame.id;
  return false;
}

function deferredReads(frame: Frame, effects: Effects, at: Node, registration: Evidence): void {
  for (const root of effects.reads.keys()) {
    if (frame.analysis.isStateRoot(root)) addRootEffect(frame.effects.deferred, { root, evidence: evidence(at, ''), owner: frame.owner, registration });
  }
}

/** Callbacks handed to something that runs them after the request: their state accesses are deferred. */
function deferCallbacks(frame: Frame, call: Node, api: string, args: Value[], argNodes: Node[]): void {
  const registration = evidence(call, api);
  args.forEach((value, i) => {
    for (const callable of value.callables) {
      if (callable.kind !== 'code') continue;
      if (isLocal(frame, callable)) frame.markDeferred(callable.fn, registration);
      else {
        const summary = frame.analysis.analyze(callable, callable.thisValue ?? EMPTY, [], { insideOf: frame.insideOf, initializing: frame.initializing });
        mergeEffects(frame.effects, summary.effects);
        deferredReads(frame, summary.effects, argNodes[i] ?? call, registration);
      }
    }
  });
}

/** `p.then(…)` as a statement or under `void`: nobody waits for it, so its callbacks run after the request. */
function isFloating(call: Node): boolean {
  let current: Node = call;
  for (;;) {
    const parent = current.getParent();
    if (!parent) return false;
    if (Node.isParenthesizedExpression(parent)) {
      current = parent;
      continue;
    }
    const grand = parent.getParent();
    if (Node.isPropertyAccessExpression(parent) && grand && Node.isCallExpression(grand) && ['then', 'catch', 'finally'].includes(parent.getName())) {
      current = grand;
      continue;
    }
    return Node.isExpressionStatement(parent) || Node.isVoidExpression(parent);
  }
}

/** Invokes the function values in `args` with parameters by role; returns what they return. */
function runCallbacks(frame: Frame, call: Node, roles: readonly string[], args: Value[], receiver: Value, initial: Value | undefined): Value {
  const elements = element(receiver);
  let returned = EMPTY;
  for (const value of args) {
    for (const callable of value.callables) {
      if (callable.kind !== 'code') continue;
      const parameters = (accumulator: Value) => roles.map((role) => (role === 'element' ? elements : role === 'receiver' ? receiver : role === 'accumulator' ? accumulator : EMPTY));
      const first = invoke(frame, call, callable, callable.thisValue ?? EMPTY, parameters(join(initial, initial === undefined ? elements : EMPTY)));
      returned = join(returned, first);
      if (roles[0] === 'accumulator') returned = join(returned, invoke(frame, call, callable, callable.thisValue ?? EMPTY, parameters(join(initial, first))));
    }
  }
  return returned;
}

/**
 * A call into the standard library, Node or another package. `method` is set for a method call on a
 * receiver (`this.items.push(x)`); a static or free function has none (`Object.assign(…)` comes with
 * `Object` as its receiver, but is known by its qualified name).
 */
function libraryCall(
  frame: Frame,
  call: Node,
  callee: Node,
  declaration: Node | undefined,
  receiver: Value,
  method: { node: Node; name: string | undefined } | undefined,
  args: Value[],
  argNodes: Node[],
): Value {
  const origin = declaration ? originOf(declaration) : undefined;
  if (declaration) {
    const why = unreplayableCall(declaration, short(callee));
    if (why) frame.nondeterministic(call, why);
    if (deferringApi(declaration)) {
      deferCallbacks(frame, call, `${short(callee)}()`, args, argNodes);
      return EMPTY;
    }
    if (isPromiseMethod(declaration) && isFloating(call)) deferCallbacks(frame, call, `${short(callee)}() on a promise that nobody awaits`, args, argNodes);
    const known = knownFunction(frame, call, callee, qualifiedName(declaration), args, argNodes);
    if (known) return known;
  }
  if (origin === 'package' || origin === 'user') {
    // Code the analysis cannot see into: whatever state it receives, it may change.
    return unknownCall(frame, call, callee, args, argNodes, method ? receiver : EMPTY);
  }

  const name = method?.name;
  const roles = name !== undefined && method ? callbackParameters(name) : undefined;
  const reduces = roles?.[0] === 'accumulator';
  const callbackReturns = roles ? runCallbacks(frame, call, roles, args.slice(0, 1), receiver, reduces && args.length > 1 ? args[1] : undefined) : EMPTY;
  if (!method || name === undefined) return EMPTY; // a library function only reads what it is given

  if (MUTATING_METHODS.has(name)) {
    const roots = writeRoots(frame, method.node, receiver, call);
    const storedIndexes = storedArguments(name, args.length);
    const stored = join(...storedIndexes.map((i) => args[i]));
    const storedNode = storedIndexes.length === 1 ? argNodes[storedIndexes[0]!] : undefined;
    for (const root of roots) recordWrite(frame, root, call, `calls ${short(method.node)}.${name}()`, stored, storedNode);
    if (roots.length > 0) for (const i of storedIndexes) if (argNodes[i]) frame.hand(unwrap(argNodes[i]!), call, roots);
    if (roots.length === 0) frame.storeIntoLocal(method.node, deepen(stored));
  }

  switch (resultShape(name)) {
    case 'element':
      return name === 'then' || name === 'catch' ? callbackReturns : element(receiver);
    case 'receiver':
      return receiver;
    case 'fresh':
      return join(freshOf(receiver), name === 'concat' ? freshOf(join(...args)) : EMPTY);
    case 'entries':
      return entriesOf(receiver);
    case 'mapped':
      return name === 'then' || name === 'catch' ? callbackReturns : deepen(callbackReturns);
    case 'reduced':
      // With an initial value the result is the accumulator the callback builds; without, it starts as the first element.
      return join(args.length > 1 ? args[1] : element(receiver), callbackReturns);
    case 'none':
      return EMPTY;
  }
}

/** Standard functions known by qualified name: those that write into an argument, and those whose result holds their arguments. */
function knownFunction(frame: Frame, call: Node, callee: Node, qualified: string, args: Value[], argNodes: Node[]): Value | undefined {
  if (writesFirstArgument(qualified)) {
    const target = argNodes[0];
    if (!target) return EMPTY;
    const storedIndexes = storedByWriter(qualified, args.length);
    const stored = join(...storedIndexes.map((i) => (qualified === 'ObjectConstructor.assign' ? element(args[i] ?? EMPTY) : args[i])));
    const roots = writeRoots(frame, target, args[0]!, call);
    const description = `calls ${short(callee)} on ${short(target)}`;
    for (const root of roots) recordWrite(frame, root, call, description, stored, storedIndexes.length === 1 ? argNodes[storedIndexes[0]!] : undefined);
    if (roots.length === 0) frame.storeIntoLocal(target, deepen(stored));
    return join(args[0], deepen(stored));
  }
  const [first = EMPTY, second = EMPTY] = args;
  switch (qualified) {
    case 'ObjectConstructor.values':
    case 'ObjectConstructor.getOwnPropertyDescriptors':
    case 'ObjectConstructor.getOwnPropertyDescriptor':
      return freshOf(first.service ? frame.serviceFields(call) : first);
    case 'ObjectConstructor.entries':
      return entriesOf(first.service ? deepen(frame.serviceFields(call)) : first);
    case 'ObjectConstructor.fromEntries':
      return fromEntries(first);
    case 'ObjectConstructor.groupBy':
    case 'MapConstructor.groupBy':
      runCallbacks(frame, call, ['element'], [second], first, undefined);
      return entriesOf(first);
    case 'ArrayConstructor.from':
      return args.length > 1 ? deepen(runCallbacks(frame, call, ['element'], [second], first, undefined)) : freshOf(first);
    case 'ArrayConstructor.of':
      return join(...args.map(deepen));
    case 'Reflect.get':
      return element(first);
    case 'Reflect.apply':
      return callValue(frame, call, argNodes[0] ?? callee, first, second, Array(8).fill(element(args[2] ?? EMPTY)), []);
    case 'PromiseConstructor.resolve':
      return first;
    case 'PromiseConstructor.all':
    case 'PromiseConstructor.allSettled':
    case 'PromiseConstructor.race':
    case 'PromiseConstructor.any':
      return element(first);
    default:
      return undefined;
  }
}

/** A call of code the analysis cannot see into: any state it receives (argument or receiver) may be changed. */
function unknownCall(frame: Frame, call: Node, callee: Node, args: Value[], argNodes: Node[], receiver: Value): Value {
  const receiverNode = Node.isPropertyAccessExpression(callee) || Node.isElementAccessExpression(callee) ? callee.getExpression() : undefined;
  const candidates: Array<[Value, Node, string]> = args.map((a, i) => [a, argNodes[i] ?? call, `passes ${short(argNodes[i] ?? call)} to ${short(callee)}()`]);
  if (receiverNode) candidates.push([receiver, receiverNode, `calls ${short(callee)}(), which the analysis cannot see into, on ${short(receiverNode)}`]);
  for (const [value, node, what] of candidates) {
    for (const [root, depth] of value.refs) {
      if (!frame.analysis.isStateRoot(root) || !mayHoldObjects(node.getType(), depth)) continue;
      addRootEffect(frame.effects.opaque, { root, evidence: evidence(call, what), owner: frame.owner });
      break;
    }
  }
  return freshOf(join(...args));
}

export function evaluateNew(frame: Frame, node: NewExpression): Value {
  const argNodes = node.getArguments() ?? [];
  const args = argumentValues(frame, argNodes);
  const expression = unwrap(node.getExpression());
  const symbol = symbolOf(Node.isPropertyAccessExpression(expression) ? expression.getNameNode() : expression);
  const declarations = symbol?.getDeclarations() ?? [];
  const cls = declarations.find((d): d is ClassLike => (Node.isClassDeclaration(d) || Node.isClassExpression(d)) && isUserCode(d));
  if (cls) {
    const constructor = classMembers(cls).constructorDeclaration;
    if (constructor) invoke(frame, node, { kind: 'code', fn: constructor }, EMPTY, args);
    return join(...args.map(deepen));
  }
  const declaration = symbol?.getValueDeclaration() ?? declarations[0];
  if (!declaration) return EMPTY;
  const origin = originOf(declaration);
  if (origin === 'package' || origin === 'user') return unknownCall(frame, node, expression, args, argNodes, EMPTY);
  const why = unreplayableCall(declaration, `new ${short(expression)}`);
  if (why) frame.nondeterministic(node, why);
  const [first = EMPTY] = args;
  switch (symbol!.getName()) {
    case 'Map':
    case 'WeakMap':
      return fromEntries(first);
    case 'Set':
    case 'WeakSet':
      return freshOf(first);
    case 'Array':
      return join(...args.map(deepen));
    case 'Proxy':
      return first;
    case 'WeakRef':
      return deepen(first);
    case 'Promise':
      runCallbacks(frame, node, [], args, EMPTY, undefined);
      return EMPTY;
    default:
      return EMPTY;
  }
}

// What an expression evaluates to, and the writes it makes: property reads (getters run), assignments,
// compound assignments, ++/--, delete and destructuring into state, into module-level variables or into
// the service's own fields. Calls are in calls.ts.
import { Node, SyntaxKind, type ElementAccessExpression, type PropertyAccessExpression } from 'ts-morph';
import { unreplayableRead } from './builtins.js';
import { evaluateCall, evaluateNew, evaluateTaggedTemplate, invoke } from './calls.js';
import { isCallableType, isUserCode, mayHoldObjects, moduleLevelVariable, originOf, symbolOf, typesInside } from './declarations.js';
import { addRootEffect, addWrite, evidence } from './effects.js';
import type { Frame } from './engine.js';
import { isIncrementOrDecrement } from './syntax.js';
import { short } from './locate.js';
import { isMutatedAnywhere } from './module-state.js';
import { EMPTY, callableValue, deepen, element, join, nodeId, rootValue, type Value } from './values.js';
import { unwrap } from './classes.js';

export function computeExpression(frame: Frame, node: Node): Value {
  if (
    Node.isParenthesizedExpression(node) ||
    Node.isAsExpression(node) ||
    Node.isNonNullExpression(node) ||
    Node.isTypeAssertion(node) ||
    Node.isSatisfiesExpression(node) ||
    Node.isAwaitExpression(node)
  ) {
    return frame.eval(node.getExpression());
  }
  if (node.getKind() === SyntaxKind.ThisKeyword) return frame.thisValue;
  if (Node.isIdentifier(node)) return frame.lookup(node);
  if (Node.isPropertyAccessExpression(node)) return readMember(frame, node, frame.eval(node.getExpression()));
  if (Node.isElementAccessExpression(node)) return readMember(frame, node, frame.eval(node.getExpression()));
  if (Node.isCallExpression(node)) return evaluateCall(frame, node);
  if (Node.isNewExpression(node)) return evaluateNew(frame, node);
  if (Node.isTaggedTemplateExpression(node)) return evaluateTaggedTemplate(frame, node);
  if (Node.isBinaryExpression(node)) return binary(frame, node);
  if (Node.isConditionalExpression(node)) {
    frame.eval(node.getCondition());
    return join(frame.eval(node.getWhenTrue()), frame.eval(node.getWhenFalse()));
  }
  if (Node.isPrefixUnaryExpression(node) || Node.isPostfixUnaryExpression(node)) {
    const operator = node.getOperatorToken();
    if (isIncrementOrDecrement(operator)) {
      assignTo(frame, node.getOperand(), EMPTY, node, `${operator === SyntaxKind.PlusPlusToken ? 'increments' : 'decrements'} ${short(node.getOperand())}`);
    } else frame.eval(node.getOperand());
    return EMPTY;
  }
  if (Node.isDeleteExpression(node)) {
    assignTo(frame, node.getExpression(), EMPTY, node, `deletes ${short(node.getExpression())}`);
    return EMPTY;
  }
  if (Node.isVoidExpression(node) || Node.isTypeOfExpression(node)) {
    frame.eval(node.getExpression());
    return EMPTY;
  }
  if (Node.isArrayLiteralExpression(node)) {
    return join(
      ...node
        .getElements()
        .map((e) => (Node.isSpreadElement(e) ? element(frame.eval(e.getExpression())) : frame.eval(e)))
        .map(deepen),
    );
  }
  if (Node.isObjectLiteralExpression(node)) {
    const parts: Value[] = [];
    for (const property of node.getProperties()) {
      if (Node.isPropertyAssignment(property)) parts.push(deepen(frame.eval(property.getInitializerOrThrow())));
      else if (Node.isShorthandPropertyAssignment(property)) parts.push(deepen(frame.eval(property.getNameNode())));
      else if (Node.isSpreadAssignment(property)) {
        const spread = frame.eval(property.getExpression());
        parts.push(deepen(spread.service ? frame.serviceFields(property) : element(spread)));
      } else if (Node.isMethodDeclaration(property)) parts.push(deepen(callableValue({ kind: 'code', fn: property, frameId: frame.id, frame })));
    }
    return join(...parts);
  }
  if (Node.isArrowFunction(node) || Node.isFunctionExpression(node)) return callableValue({ kind: 'code', fn: node, frameId: frame.id, frame });
  if (Node.isSpreadElement(node)) return frame.eval(node.getExpression());
  if (Node.isTemplateExpression(node)) {
    for (const span of node.getTemplateSpans()) frame.eval(span.getExpression());
    return EMPTY;
  }
  if (Node.isYieldExpression(node)) {
    // Its own value is what the consumer sends back (nothing known); as a returned expression (returnedExpressions), what it yields.
    const expression = node.getExpression();
    if (expression) frame.eval(expression);
    return EMPTY;
  }
  return EMPTY;
}

function binary(frame: Frame, node: import('ts-morph').BinaryExpression): Value {
  const operator = node.getOperatorToken().getKind();
  if (operator >= SyntaxKind.FirstAssignment && operator <= SyntaxKind.LastAssignment) {
    const value = frame.eval(node.getRight());
    const left = node.getLeft();
    const target = unwrap(left);
    if (operator === SyntaxKind.EqualsToken && (Node.isArrayLiteralExpression(target) || Node.isObjectLiteralExpression(target))) {
      destructure(frame, target, value, node, `assigns ${short(left)}`);
    } else {
      const logical = operator === SyntaxKind.QuestionQuestionEqualsToken || operator === SyntaxKind.BarBarEqualsToken || operator === SyntaxKind.AmpersandAmpersandEqualsToken;
      if (operator !== SyntaxKind.EqualsToken && !Node.isIdentifier(target)) frame.eval(left); // a compound assignment reads first
      assignTo(frame, left, operator === SyntaxKind.EqualsToken || logical ? value : EMPTY, node, `assigns ${short(left)}`, node.getRight());
    }
    return value;
  }
  const left = frame.eval(node.getLeft());
  const right = frame.eval(node.getRight());
  switch (operator) {
    case SyntaxKind.AmpersandAmpersandToken:
      return right; // a falsy left operand is never an object
    case SyntaxKind.BarBarToken:
    case SyntaxKind.QuestionQuestionToken:
      return join(left, right);
    case SyntaxKind.CommaToken:
      return right;
    default:
      return EMPTY;
  }
}

/** The name a property access uses, when known: `a.b`, `a.#b`, `a['b']`, `a[0]`. */
export function memberName(node: PropertyAccessExpression | ElementAccessExpression): string | undefined {
  if (Node.isPropertyAccessExpression(node)) return node.getName();
  const argument = node.getArgumentExpression();
  if (argument && (Node.isStringLiteral(argument) || Node.isNoSubstitutionTemplateLiteral(argument) || Node.isNumericLiteral(argument))) return argument.getLiteralText();
  return undefined;
}

/** The names a computed key may have, from its type: `this[key]` with `key: 'a' | 'b'`. */
function possibleNames(node: ElementAccessExpression): string[] | undefined {
  const argument = node.getArgumentExpression();
  if (!argument) return undefined;
  const type = argument.getType();
  const members = type.isUnion() ? type.getUnionTypes() : [type];
  if (!members.every((t) => t.isStringLiteral())) return undefined;
  return members.map((t) => String(t.getLiteralValue()));
}

/** Reading `object.name`: a state object of the service, a getter (which runs), a method as a value, or data inside the object. */
function readMember(frame: Frame, node: PropertyAccessExpression | ElementAccessExpression, object: Value): Value {
  const name = memberName(node);
  let result: Value = EMPTY;
  if (object.service) {
    const names = name !== undefined ? [name] : Node.isElementAccessExpression(node) ? possibleNames(node) : undefined;
    result = names ? join(...names.map((n) => frame.serviceMemberValue(node, n))) : frame.serviceFields(node);
  }
  const symbol = Node.isPropertyAccessExpression(node) ? symbolOf(node.getNameNode()) : symbolOfElement(node);
  const declarations = symbol?.getDeclarations() ?? [];

  const getters = gettersFor(frame, object, name, declarations);
  for (const getter of getters) result = join(result, invoke(frame, node, { kind: 'code', fn: getter }, object, []));

  const method = declarations.find((d) => Node.isMethodDeclaration(d) && d.getBody() && isUserCode(d));
  if (method && !object.service && Node.isMethodDeclaration(method)) {
    const dispatched = name !== undefined ? frame.membersOf(object, node)?.methods.get(name)?.fn : undefined;
    result = join(result, callableValue({ kind: 'code', fn: dispatched ?? method, thisValue: object }));
  } else if (declarations.length > 0 && !isUserCode(declarations[0]!) && declarations.some((d) => Node.isMethodSignature(d) || Node.isMethodDeclaration(d) || Node.isFunctionDeclaration(d))) {
    result = join(result, callableValue({ kind: 'library', declaration: declarations[0]!, thisValue: object }));
  }

  if (getters.length === 0 && (object.refs.size > 0 || object.callables.length > 0)) result = join(result, element(object));

  const declaration = declarations[0];
  if (declaration && originOf(declaration) !== 'user' && originOf(declaration) !== 'package') {
    const why = unreplayableRead(declaration);
    if (why && !isCalled(node)) frame.nondeterministic(node, why);
  }
  if (declaration && Node.isPropertyDeclaration(declaration) && declaration.isStatic() && isUserCode(declaration)) result = join(result, staticField(frame, node, declaration));
  return result;
}

/** The property `object['name']` reads, for a literal key. */
function symbolOfElement(node: ElementAccessExpression) {
  const argument = node.getArgumentExpression();
  if (!argument || !(Node.isStringLiteral(argument) || Node.isNoSubstitutionTemplateLiteral(argument))) return undefined;
  return node.getExpression().getType().getProperty(argument.getLiteralText());
}

function isCalled(node: Node): boolean {
  const parent = node.getParent();
  return !!parent && Node.isCallExpression(parent) && parent.getExpression() === node;
}

function gettersFor(frame: Frame, object: Value, name: string | undefined, declarations: Node[]) {
  if (name === undefined) return [];
  const found = new Set<import('ts-morph').GetAccessorDeclaration>();
  for (const key of object.top) {
    const getter = frame.analysis.roots.get(key)?.members?.getters.get(name);
    if (getter) found.add(getter);
  }
  if (object.service) {
    const getter = frame.analysis.serviceMembers?.getters.get(name);
    if (getter) found.add(getter);
  }
  if (found.size === 0) {
    for (const d of declarations) if (Node.isGetAccessorDeclaration(d) && d.getBody() && isUserCode(d)) found.add(d);
  }
  return [...found];
}

/** A static field of a class of the user's sources: memory shared by every request, like a module-level variable. */
function staticField(frame: Frame, node: Node, declaration: import('ts-morph').PropertyDeclaration): Value {
  const owner = declaration.getParent();
  const name = `${Node.isClassDeclaration(owner) ? owner.getName() : 'class'}.${declaration.getName()}`;
  const written = isMutatedAnywhere(declaration);
  if (written && !isWriteTarget(node)) frame.nondeterministic(node, `reads the static field ${name} (other code changes it)`);
  if (isCallableType(declaration.getType())) return EMPTY;
  return rootValue(frame.analysis.addRoot({ key: `module:${nodeId(declaration)}`, kind: 'module', name: `static field ${name}` }));
}

function isWriteTarget(node: Node): boolean {
  const parent = node.getParent();
  return (
    !!parent && ((Node.isBinaryExpression(parent) && parent.getLeft() === node) || Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent) || Node.isDeleteExpression(parent))
  );
}

/** `[a, this.b] = …` and `({ x: this.y } = …)`: each target gets its part of the value. */
function destructure(frame: Frame, pattern: Node, value: Value, at: Node, description: string): void {
  if (Node.isArrayLiteralExpression(pattern)) {
    for (const el of pattern.getElements()) {
      if (Node.isOmittedExpression(el)) continue;
      const target = Node.isSpreadElement(el) ? el.getExpression() : Node.isBinaryExpression(el) ? el.getLeft() : el;
      const part = Node.isSpreadElement(el) ? value : element(value);
      destructureTarget(frame, target, part, at, description);
    }
  } else if (Node.isObjectLiteralExpression(pattern)) {
    for (const property of pattern.getProperties()) {
      if (Node.isPropertyAssignment(property)) {
        const init = property.getInitializerOrThrow();
        const target = Node.isBinaryExpression(init) ? init.getLeft() : init;
        const key = property.getNameNode();
        const part = value.service ? frame.serviceMemberValue(key, Node.isIdentifier(key) || Node.isStringLiteral(key) ? key.getText().replace(/^['"]|['"]$/g, '') : undefined) : element(value);
        destructureTarget(frame, target, part, at, description);
      } else if (Node.isShorthandPropertyAssignment(property)) {
        const part = value.service ? frame.serviceMemberValue(property, property.getName()) : element(value);
        destructureTarget(frame, property.getNameNode(), part, at, description);
      } else if (Node.isSpreadAssignment(property)) {
        destructureTarget(frame, property.getExpression(), deepen(element(value)), at, description);
      }
    }
  }
}

function destructureTarget(frame: Frame, target: Node, value: Value, at: Node, description: string): void {
  const inner = unwrap(target);
  if (Node.isArrayLiteralExpression(inner) || Node.isObjectLiteralExpression(inner)) destructure(frame, inner, value, at, description);
  else assignTo(frame, target, value, at, description);
}

/**
 * A write of `value` into `target`: a local variable (which then holds it), a module-level variable, a
 * state field of the service (replacing it), a plain field of the service, or a property of something
 * (state, when the object is state or was handed to it).
 */
function assignTo(frame: Frame, targetNode: Node, value: Value, at: Node, description: string, valueNode?: Node): void {
  const target = unwrap(targetNode);
  if (Node.isIdentifier(target)) {
    const declaration = symbolOf(target)?.getDeclarations()[0];
    const variable = declaration && moduleLevelVariable(declaration);
    if (variable) {
      frame.nondeterministic(at, `changes the module-level variable '${variable.getName()}'`);
      escapeIfState(frame, value, valueNode, `the module-level variable '${variable.getName()}'`);
      return;
    }
    frame.setVar(target, value);
    return;
  }
  if (!Node.isPropertyAccessExpression(target) && !Node.isElementAccessExpression(target)) return;
  const objectNode = target.getExpression();
  const object = frame.eval(objectNode);
  const name = memberName(target);

  if (object.service) {
    const field = name !== undefined ? frame.analysis.stateFields.get(name) : undefined;
    if (field) {
      frame.noteAccess(target, rootValue(field));
      if (!frame.initializing) addRootEffect(frame.effects.replacements, { root: field, evidence: evidence(at, description), owner: frame.owner });
      return;
    }
    if (name !== undefined && !frame.analysis.serviceMembers?.setters.has(name)) escapeIfState(frame, value, valueNode, `the service field '${name}'`);
  }
  for (const setter of settersFor(frame, object, name, target)) invoke(frame, at, { kind: 'code', fn: setter }, object, [value]);
  const staticDeclaration = Node.isPropertyAccessExpression(target) ? symbolOf(target.getNameNode())?.getValueDeclaration() : undefined;
  if (staticDeclaration && Node.isPropertyDeclaration(staticDeclaration) && staticDeclaration.isStatic() && isUserCode(staticDeclaration)) {
    const owner = staticDeclaration.getParent();
    const name = `${Node.isClassDeclaration(owner) ? owner.getName() : 'class'}.${staticDeclaration.getName()}`;
    frame.nondeterministic(at, `changes the static field ${name}`);
    escapeIfState(frame, value, valueNode, `the static field ${name}`);
  }
  if (
    Node.isIdentifier(unwrap(objectNode)) &&
    unwrap(objectNode).getText() === 'globalThis' &&
    symbolOf(unwrap(objectNode))
      ?.getDeclarations()
      .every((d) => !isUserCode(d))
  ) {
    escapeIfState(frame, value, valueNode, `globalThis.${name ?? '[…]'}`);
  }
  const roots = writeRoots(frame, objectNode, object, at);
  for (const root of roots) recordWrite(frame, root, at, description, value, valueNode);
  if (roots.length === 0) frame.storeIntoLocal(objectNode, deepen(value));
}

function settersFor(frame: Frame, object: Value, name: string | undefined, target: PropertyAccessExpression | ElementAccessExpression) {
  if (name === undefined) return [];
  const found = new Set<import('ts-morph').SetAccessorDeclaration>();
  for (const key of object.top) {
    const setter = frame.analysis.roots.get(key)?.members?.setters.get(name);
    if (setter) found.add(setter);
  }
  if (object.service) {
    const setter = frame.analysis.serviceMembers?.setters.get(name);
    if (setter) found.add(setter);
  }
  if (found.size === 0 && Node.isPropertyAccessExpression(target)) {
    for (const d of symbolOf(target.getNameNode())?.getDeclarations() ?? []) if (Node.isSetAccessorDeclaration(d) && d.getBody() && isUserCode(d)) found.add(d);
  }
  return [...found];
}

/** The roots a write through `objectNode` changes: the state it may be (depth 0), or what it was handed to before. */
export function writeRoots(frame: Frame, objectNode: Node, object: Value, at: Node): string[] {
  const roots = [...object.refs].filter(([, depth]) => depth === 0).map(([key]) => key);
  return roots.length > 0 ? roots : frame.handedRoots(objectNode, at);
}

/** Records a write into a root: state (a write, maybe of a function), a module-level object (not replayable), a holder (an escape). */
export function recordWrite(frame: Frame, root: string, at: Node, description: string, stored: Value, storedNode: Node | undefined): void {
  const info = frame.analysis.roots.get(root);
  if (!info) return;
  if (info.kind === 'self' || info.kind === 'field') {
    addWrite(frame.effects, { root, evidence: evidence(at, description), owner: frame.owner, inside: frame.insideOf });
    const storesFunction = stored.callables.length > 0 || (storedNode !== undefined && isCallableType(storedNode.getType()));
    if (storesFunction && !declaredForFunctions(at))
      addRootEffect(frame.effects.functionStores, { root, evidence: evidence(storedNode ?? at, `stores ${storedNode ? short(storedNode) : 'a function'}`), owner: frame.owner });
    if (storedNode) frame.hand(unwrap(storedNode), at, [root]);
    return;
  }
  if (info.kind === 'module') frame.nondeterministic(at, `changes the ${info.name}`);
  escapeIfState(frame, stored, storedNode, `the ${info.name}`);
}

/**
 * Whether the slot a write stores into is declared to hold functions (`handlers: Handler[]`): then the
 * field's type already says the object holds functions, and that is where it is reported.
 */
function declaredForFunctions(at: Node): boolean {
  if (Node.isBinaryExpression(at)) return isCallableType(at.getLeft().getType());
  if (Node.isCallExpression(at)) {
    const callee = at.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return false;
    return (typesInside(callee.getExpression().getType(), 1) ?? []).some(isCallableType);
  }
  return false;
}

/** State stored where it outlives the request (an escape), when what is stored can hold an object of state. */
function escapeIfState(frame: Frame, value: Value, valueNode: Node | undefined, where: string): void {
  for (const [root, depth] of value.refs) {
    if (!frame.analysis.isStateRoot(root)) continue;
    if (valueNode && !mayHoldObjects(valueNode.getType(), depth)) continue;
    addRootEffect(frame.effects.escapes, { root, where, evidence: evidence(valueNode ?? frame.fn!, ''), owner: frame.owner });
  }
}

// A class with everything it inherits: its chain of base classes, mixins included (`class Doc extends
// Versioned(Base)` where `Versioned` returns a class expression), and the member table an instance
// dispatches through: for each name the most-derived method, getter or setter. `#private` members are
// members like any other; the build rewrites them into ones the durability proxy can see.
import {
  Node,
  Scope,
  SyntaxKind,
  type ArrowFunction,
  type ClassDeclaration,
  type ClassExpression,
  type ConstructorDeclaration,
  type ExpressionWithTypeArguments,
  type FunctionDeclaration,
  type FunctionExpression,
  type GetAccessorDeclaration,
  type MethodDeclaration,
  type PropertyDeclaration,
  type SetAccessorDeclaration,
} from 'ts-morph';
import { isUserCode, symbolOf } from './declarations.js';

export type ClassLike = ClassDeclaration | ClassExpression;
export type FunctionLike = MethodDeclaration | FunctionDeclaration | ArrowFunction | FunctionExpression | GetAccessorDeclaration | SetAccessorDeclaration | ConstructorDeclaration;

interface MethodMember {
  name: string;
  /** A method, or a field initialised with a function. */
  declaration: MethodDeclaration | PropertyDeclaration;
  fn: MethodDeclaration | ArrowFunction | FunctionExpression;
  owner: ClassLike;
  /** `private`, `protected` or `#private`: not callable from outside the object. */
  hidden: boolean;
}

export interface ClassMembers {
  /** The class first, then its bases (mixin class expressions included), most-derived first. */
  chain: ClassLike[];
  methods: Map<string, MethodMember>;
  getters: Map<string, GetAccessorDeclaration>;
  setters: Map<string, SetAccessorDeclaration>;
  /** Instance fields of the whole chain. */
  fields: PropertyDeclaration[];
  /** The first constructor up the chain that has a body. */
  constructorDeclaration?: ConstructorDeclaration;
  /** A base class that is not a class of the user's sources (a built-in collection, a library class). */
  outsideBase?: ExpressionWithTypeArguments;
}

interface Bindings {
  /** A mixin's class-valued parameter → the argument expression it was called with, and that expression's own bindings. */
  readonly map: ReadonlyMap<object, { expression: Node; bindings: Bindings }>;
}

const NO_BINDINGS: Bindings = { map: new Map() };
const cache = new WeakMap<object, ClassMembers>();

export function classMembers(cls: ClassLike): ClassMembers {
  let members = cache.get(cls.compilerNode);
  if (!members) cache.set(cls.compilerNode, (members = readMembers(cls)));
  return members;
}

function isHidden(member: Node & { getName(): string }): boolean {
  if (member.getName().startsWith('#')) return true;
  const scoped = member as Node & { getScope?: () => Scope };
  const scope = typeof scoped.getScope === 'function' ? scoped.getScope() : Scope.Public;
  return scope === Scope.Private || scope === Scope.Protected;
}

function readMembers(cls: ClassLike): ClassMembers {
  const chain: ClassLike[] = [cls];
  let outsideBase: ExpressionWithTypeArguments | undefined;
  let current: ClassLike = cls;
  let bindings = NO_BINDINGS;
  for (let guard = 0; guard < 32; guard++) {
    const heritage = current.getExtends();
    if (!heritage) break;
    const base = resolveClass(heritage.getExpression(), bindings, 0);
    if (!base || chain.includes(base.cls)) {
      if (!base) outsideBase = heritage;
      break;
    }
    chain.push(base.cls);
    current = base.cls;
    bindings = base.bindings;
  }

  const members: ClassMembers = { chain, methods: new Map(), getters: new Map(), setters: new Map(), fields: [], outsideBase };
  for (const owner of [...chain].reverse()) {
    for (const method of owner.getInstanceMethods()) {
      members.methods.set(method.getName(), { name: method.getName(), declaration: method, fn: method, owner, hidden: isHidden(method) });
    }
    for (const property of owner.getInstanceProperties()) {
      if (Node.isGetAccessorDeclaration(property)) members.getters.set(property.getName(), property);
      else if (Node.isSetAccessorDeclaration(property)) members.setters.set(property.getName(), property);
      else if (Node.isPropertyDeclaration(property)) {
        members.fields.push(property);
        const init = property.getInitializer();
        if (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) {
          members.methods.set(property.getName(), { name: property.getName(), declaration: property, fn: init, owner, hidden: isHidden(property) });
        } else members.methods.delete(property.getName());
      }
    }
  }
  for (const owner of chain) {
    const constructor = owner.getConstructors().find((c) => c.getBody() !== undefined);
    if (constructor) {
      members.constructorDeclaration = constructor;
      break;
    }
  }
  return members;
}

/** The class an `extends` expression denotes: a class of the user's sources, through aliases and mixin calls. */
function resolveClass(expression: Node, bindings: Bindings, depth: number): { cls: ClassLike; bindings: Bindings } | undefined {
  if (depth > 16) return undefined;
  const node = unwrap(expression);
  if (Node.isClassExpression(node) || Node.isClassDeclaration(node)) return isUserCode(node) ? { cls: node, bindings } : undefined;
  if (Node.isIdentifier(node) || Node.isPropertyAccessExpression(node)) {
    const symbol = symbolOf(Node.isPropertyAccessExpression(node) ? node.getNameNode() : node);
    const bound = symbol && bindings.map.get(symbol.compilerSymbol);
    if (bound) return resolveClass(bound.expression, bound.bindings, depth + 1);
    const declaration = symbol?.getValueDeclaration() ?? symbol?.getDeclarations()[0];
    if (!declaration || !isUserCode(declaration)) return undefined;
    if (Node.isClassDeclaration(declaration)) return { cls: declaration, bindings: NO_BINDINGS };
    if (Node.isVariableDeclaration(declaration)) {
      const init = declaration.getInitializer();
      return init ? resolveClass(init, NO_BINDINGS, depth + 1) : undefined;
    }
    return undefined;
  }
  if (Node.isCallExpression(node)) {
    const callee = unwrap(node.getExpression());
    const symbol = symbolOf(Node.isPropertyAccessExpression(callee) ? callee.getNameNode() : callee);
    const declaration = symbol?.getValueDeclaration() ?? symbol?.getDeclarations()[0];
    const fn = functionOf(declaration);
    if (!fn || !isUserCode(fn)) return undefined;
    const map = new Map(bindings.map);
    fn.getParameters().forEach((parameter, i) => {
      const argument = node.getArguments()[i];
      const parameterSymbol = parameter.getNameNode().getSymbol();
      if (argument && parameterSymbol) map.set(parameterSymbol.compilerSymbol, { expression: argument, bindings });
    });
    const inner: Bindings = { map };
    for (const returned of returnedExpressions(fn)) {
      const found = resolveClass(returned, inner, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function functionOf(declaration: Node | undefined): FunctionDeclaration | ArrowFunction | FunctionExpression | undefined {
  if (!declaration) return undefined;
  if (Node.isFunctionDeclaration(declaration) || Node.isArrowFunction(declaration) || Node.isFunctionExpression(declaration)) return declaration;
  if (Node.isVariableDeclaration(declaration)) {
    const init = declaration.getInitializer();
    if (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) return init;
  }
  return undefined;
}

/** What a function may return: its return statements' expressions (not those of nested functions), or an arrow's body. */
export function returnedExpressions(fn: FunctionLike): Node[] {
  const body = fn.getBody();
  if (!body) return [];
  if (!Node.isBlock(body)) return [body];
  const found: Node[] = [];
  body.forEachDescendant((node, traversal) => {
    if (Node.isFunctionLikeDeclaration(node) || Node.isClassLikeDeclarationBase(node)) return traversal.skip();
    if (Node.isReturnStatement(node)) {
      const expression = node.getExpression();
      if (expression) found.push(expression);
    }
    if (Node.isYieldExpression(node) && node.getExpression()) found.push(node); // evaluated as what the iterator yields
  });
  return found;
}

export function unwrap(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isNonNullExpression(current) || Node.isTypeAssertion(current) || Node.isSatisfiesExpression(current)) {
    current = current.getExpression();
  }
  return current;
}

/** The method a `super.name` reaches from code in `from`: the next class up the chain that declares it. */
export function superMethod(members: ClassMembers, from: ClassLike, name: string): FunctionLike | undefined {
  const index = members.chain.indexOf(from);
  for (const cls of members.chain.slice(index + 1)) {
    const method = cls.getInstanceMethod(name);
    if (method) return method;
    const property = cls.getInstanceProperty(name);
    if (property && Node.isGetAccessorDeclaration(property)) return property;
  }
  return undefined;
}

export function enclosingClass(node: Node): ClassLike | undefined {
  return node.getFirstAncestor((a): a is ClassLike => Node.isClassDeclaration(a) || Node.isClassExpression(a));
}

export const SKIPPED_KINDS = new Set([SyntaxKind.ClassDeclaration, SyntaxKind.ClassExpression, SyntaxKind.InterfaceDeclaration, SyntaxKind.TypeAliasDeclaration]);

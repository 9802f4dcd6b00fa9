// Reads a state class: its instance methods (inherited ones too), which of them update the object and
// which are not deterministic. A method updates the object when it writes something reached from
// `this` (assignment, destructuring assignment, ++/--, delete, a mutating call such as
// push/splice/set/clear, Object.assign), directly, through a local alias of such a thing (including what
// a call on state returns: `this.byId.get(k)`, `this.items.find(…)`), or through another method of the
// object that does. It also reports patterns the run-time's Proxy cannot see through.
import {
  Node,
  Scope,
  SyntaxKind,
  type ArrowFunction,
  type ClassDeclaration,
  type FunctionDeclaration,
  type FunctionExpression,
  type MethodDeclaration,
  type PropertyDeclaration,
} from 'ts-morph';
import { LineMap } from '../../mappings/index.js';
import type { Evidence, StateClassInfo, StateMethodInfo } from './model.js';

/** Methods of built-in collections that change their receiver. */
const MUTATING_METHODS = new Set([
  'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin',
  'set', 'delete', 'clear', 'add',
]);

/** Calls whose result differs from one run to the next: re-running them on a backup diverges. */
const NONDETERMINISTIC_CALLS = new Set([
  'Date', 'Date.now', 'Math.random', 'crypto.randomUUID', 'crypto.getRandomValues', 'crypto.randomBytes',
  'crypto.randomInt', 'globalThis.crypto.randomUUID', 'randomUUID', 'randomBytes', 'randomInt',
  'performance.now', 'process.hrtime', 'process.hrtime.bigint',
]);

/** Calls that return a new collection: changing that collection changes no state (its elements may be state). */
const FRESH_COLLECTION = new Set(['slice', 'map', 'filter', 'concat', 'flat', 'flatMap', 'toSorted', 'toReversed', 'toSpliced', 'with', 'keys']);

/** Array methods whose callback's element parameter is not the first (reduce's is the second). */
const ELEMENT_PARAMETER: Record<string, number> = { reduce: 1, reduceRight: 1 };

type FunctionLike = MethodDeclaration | ArrowFunction | FunctionExpression | FunctionDeclaration;

interface Member {
  declaration: MethodDeclaration | PropertyDeclaration;
  fn: FunctionLike;
}

/** Calls that read their arguments and never change them: passing state to them is not a possible write. */
const READ_ONLY_CALLS = /^(JSON\.stringify|String|Number|Boolean|BigInt|Math\.\w+|console\.\w+|Array\.from|Array\.isArray|Object\.(keys|values|entries|freeze|isFrozen)|structuredClone|Number\.\w+|Date|isNaN|isFinite|parseInt|parseFloat|encodeURIComponent|decodeURIComponent)$/;

interface DirectEffects {
  writes: Evidence[];
  nondeterminism: Evidence[];
  /** State handed to a function the analysis cannot see into: it may change it. */
  opaque: Evidence[];
  /** Functions the body calls whose effects count as its own: `this.x()`, `super.x()`, module helpers. */
  calls: Array<{ name: string } | { fn: FunctionLike; nondeterminismOnly: boolean }>;
}

export function readStateClass(declaration: ClassDeclaration): StateClassInfo {
  const chain: ClassDeclaration[] = [];
  for (let c: ClassDeclaration | undefined = declaration; c; c = c.getBaseClass()) chain.push(c);
  const unsupported: Evidence[] = [];
  const byName = new Map<string, Member>();
  for (const cls of [...chain].reverse()) {
    for (const method of cls.getInstanceMethods()) byName.set(method.getName(), { declaration: method, fn: method });
    for (const property of cls.getInstanceProperties()) {
      if (Node.isPropertyDeclaration(property) && property.getName().startsWith('#')) {
        unsupported.push({ description: `the #private field ${property.getName()} (a Proxy cannot reach #private members: use \`private\` instead)`, ...locate(property) });
      }
      const init = Node.isPropertyDeclaration(property) ? property.getInitializer() : undefined;
      if (Node.isPropertyDeclaration(property) && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) {
        byName.set(property.getName(), { declaration: property, fn: init });
        if (Node.isArrowFunction(init)) {
          unsupported.push({ description: `the arrow-function property ${property.getName()} (its \`this\` is the object itself, not the proxy, so its changes would go unrecorded: write it as a method)`, ...locate(property) });
        }
      }
    }
    for (const method of cls.getInstanceMethods()) {
      if (method.getName().startsWith('#')) unsupported.push({ description: `the #private method ${method.getName()} (use \`private\` instead)`, ...locate(method) });
    }
  }
  const outsideBase = chain[chain.length - 1]!.getExtends();
  if (outsideBase) {
    unsupported.push({ description: `its base class ${outsideBase.getExpression().getText()}, which is not a class of your sources (wrap a Map, Set or array in a field instead of extending it)`, ...locate(outsideBase) });
  }

  const effects = new Map<FunctionLike, DirectEffects>();
  const direct = (fn: FunctionLike) => {
    let found = effects.get(fn);
    if (!found) effects.set(fn, (found = directEffects(fn)));
    return found;
  };
  // Transitive closure over the calls; `visiting` breaks recursion.
  const closure = (fn: FunctionLike, visiting: Set<FunctionLike>, nondeterminismOnly: boolean) => {
    const own = direct(fn);
    const writes = nondeterminismOnly ? [] : [...own.writes];
    const opaque = nondeterminismOnly ? [] : [...own.opaque];
    const nondeterminism = [...own.nondeterminism];
    visiting.add(fn);
    for (const call of own.calls) {
      const target = 'name' in call ? byName.get(call.name)?.fn : call.fn;
      if (!target || visiting.has(target)) continue;
      const inner = closure(target, visiting, nondeterminismOnly || ('nondeterminismOnly' in call && call.nondeterminismOnly));
      writes.push(...inner.writes);
      opaque.push(...inner.opaque);
      nondeterminism.push(...inner.nondeterminism);
    }
    visiting.delete(fn);
    return { writes, opaque, nondeterminism };
  };

  const methods = new Map<string, StateMethodInfo>();
  for (const [name, member] of byName) {
    const { writes, opaque, nondeterminism } = closure(member.fn, new Set(), false);
    const isPrivate = (Node.isMethodDeclaration(member.declaration) || Node.isPropertyDeclaration(member.declaration)) && member.declaration.getScope() === Scope.Private;
    methods.set(name, {
      name,
      declaration: member.declaration,
      declaringClass: (member.declaration.getParent() as ClassDeclaration).getName() ?? '(anonymous class)',
      ...locate(member.declaration),
      parameters: member.fn.getParameters().map((p) => ({
        name: p.getName(),
        optional: p.isOptional() || p.hasInitializer(),
        rest: p.isRestParameter(),
        type: p.getType(),
      })),
      isAsync: member.fn.isAsync(),
      isPrivate: isPrivate || name.startsWith('#'),
      updates: writes[0],
      unsure: writes.length === 0 ? opaque[0] : undefined,
      nondeterminism: dedupe(nondeterminism),
    });
  }
  return { name: declaration.getName() ?? '(anonymous class)', declaration, ...locate(declaration), methods, unsupported };
}

function directEffects(fn: FunctionLike): DirectEffects {
  const result: DirectEffects = { writes: [], nondeterminism: [], opaque: [], calls: [] };
  const body = fn.getBody();
  if (!body) return result;
  const aliases = collectAliases(body);
  const isWriteTarget = (node: Node): boolean => rootedInThis(node, aliases, false);
  const write = (node: Node, description: string) => result.writes.push({ description, ...locate(node) });

  body.forEachDescendant((node) => {
    if (Node.isBinaryExpression(node) && isAssignmentOperator(node.getOperatorToken().getKind())) {
      const target = node.getLeft();
      if (isWriteTarget(target) || destructuresIntoState(target, aliases)) write(node, `assigns ${short(target)}`);
    } else if ((Node.isPrefixUnaryExpression(node) || Node.isPostfixUnaryExpression(node)) && isIncrementOrDecrement(node.getOperatorToken())) {
      if (isWriteTarget(node.getOperand())) write(node, `${node.getOperatorToken() === SyntaxKind.PlusPlusToken ? 'increments' : 'decrements'} ${short(node.getOperand())}`);
    } else if (Node.isDeleteExpression(node)) {
      if (isWriteTarget(node.getExpression())) write(node, `deletes ${short(node.getExpression())}`);
    } else if (Node.isCallExpression(node)) {
      const callee = unwrapExpression(node.getExpression());
      const calleeText = callee.getText().replace(/\s+/g, '').replace(/\?\./g, '.');
      if (NONDETERMINISTIC_CALLS.has(calleeText)) result.nondeterminism.push({ description: `${calleeText}()`, ...locate(node) });
      // Only objects can be changed by whoever receives them: a number or a string read from state cannot.
      const handsOutState = node
        .getArguments()
        .find((a) => (Node.isThisExpression(unwrapExpression(a)) || rootedInThis(a, aliases, true)) && isMutableType(a));
      const ownMethod = Node.isPropertyAccessExpression(callee) && (Node.isThisExpression(unwrapExpression(callee.getExpression())) || Node.isSuperExpression(callee.getExpression()));
      const onState = Node.isPropertyAccessExpression(callee) && rootedInThis(callee.getExpression(), aliases, true);
      if (handsOutState && !ownMethod && !onState && !READ_ONLY_CALLS.test(calleeText)) {
        result.opaque.push({ description: `passes ${short(handsOutState)} to ${short(callee)}()`, ...locate(node) });
      }
      if (Node.isPropertyAccessExpression(callee)) {
        const receiver = unwrapExpression(callee.getExpression());
        const name = callee.getName();
        const firstArgument = node.getArguments()[0];
        if (Node.isThisExpression(receiver)) result.calls.push({ name });
        else if (Node.isSuperExpression(receiver)) {
          const base = (fn.getFirstAncestorByKind(SyntaxKind.ClassDeclaration) ?? undefined)?.getBaseClass();
          const target = base && findInstanceMethod(base, name);
          if (target) result.calls.push({ fn: target, nondeterminismOnly: false });
        } else if (MUTATING_METHODS.has(name) && rootedInThis(receiver, aliases, true)) write(node, `calls ${short(receiver)}.${name}()`);
        else if (calleeText === 'Object.assign' && firstArgument && (Node.isThisExpression(unwrapExpression(firstArgument)) || isWriteTarget(firstArgument) || rootedInThis(firstArgument, aliases, true))) {
          write(node, `calls Object.assign on ${short(firstArgument)}`);
        }
      } else if (Node.isIdentifier(callee)) {
        // A module-level helper: its clock or randomness is the method's too.
        const helper = callee.getSymbol()?.getDeclarations().find((d): d is FunctionDeclaration => Node.isFunctionDeclaration(d));
        if (helper && !helper.getSourceFile().isInNodeModules() && !helper.getSourceFile().isDeclarationFile()) result.calls.push({ fn: helper, nondeterminismOnly: true });
      }
    } else if (Node.isNewExpression(node) && node.getExpression().getText() === 'Date' && (node.getArguments()?.length ?? 0) === 0) {
      result.nondeterminism.push({ description: 'new Date()', ...locate(node) });
    }
  });
  return result;
}

function findInstanceMethod(cls: ClassDeclaration, name: string): MethodDeclaration | undefined {
  for (let c: ClassDeclaration | undefined = cls; c; c = c.getBaseClass()) {
    const found = c.getInstanceMethod(name);
    if (found && Node.isMethodDeclaration(found)) return found;
  }
  return undefined;
}

/**
 * Local names that refer into the object's state: `const q = this.queue`, `const { queue } = this`,
 * `const m = this.byId.get(k)`, `for (const m of this.machines)`, and the element parameter of callbacks
 * handed to a state collection (`this.machines.forEach(m => …)`). Collected to a fixpoint, so aliases of
 * aliases count too.
 */
function collectAliases(body: Node): Set<string> {
  const aliases = new Set<string>();
  let grew = true;
  while (grew) {
    const before = aliases.size;
    body.forEachDescendant((node) => {
      if (Node.isVariableDeclaration(node)) {
        const init = node.getInitializer();
        if (init && (Node.isThisExpression(unwrapExpression(init)) || rootedInThis(init, aliases, true))) addBindingNames(node.getNameNode(), aliases);
      } else if (Node.isForOfStatement(node)) {
        if (rootedInThis(node.getExpression(), aliases, true)) {
          const init = node.getInitializer();
          if (Node.isVariableDeclarationList(init)) for (const d of init.getDeclarations()) addBindingNames(d.getNameNode(), aliases);
        }
      } else if (Node.isCallExpression(node)) {
        const callee = node.getExpression();
        if (Node.isPropertyAccessExpression(callee) && rootedInThis(callee.getExpression(), aliases, true)) {
          const element = ELEMENT_PARAMETER[callee.getName()] ?? 0;
          for (const arg of node.getArguments()) {
            if (Node.isArrowFunction(arg) || Node.isFunctionExpression(arg)) {
              const parameter = arg.getParameters()[element];
              if (parameter) addBindingNames(parameter.getNameNode(), aliases);
            }
          }
        }
      }
    });
    grew = aliases.size > before;
  }
  return aliases;
}

function addBindingNames(name: Node, into: Set<string>): void {
  if (Node.isIdentifier(name)) into.add(name.getText());
  else name.forEachDescendant((n) => {
    if (Node.isBindingElement(n) && Node.isIdentifier(n.getNameNode())) into.add(n.getNameNode().getText());
  });
}

/**
 * `this.a`, `this.a[b].c`, `(this.a as X)!.b`, `this.a.get(k)!.b` (what a call on state returns may be
 * state), or the same below an alias. A bare alias counts only where `bare` allows it (an alias of an
 * alias), never as a write target: `best = m` rebinds a local, it changes nothing in the object.
 */
function rootedInThis(node: Node, aliases: ReadonlySet<string>, bare: boolean): boolean {
  let current = node;
  let accessed = false;
  for (;;) {
    if (Node.isPropertyAccessExpression(current) || Node.isElementAccessExpression(current)) {
      current = current.getExpression();
      accessed = true;
    } else if (Node.isCallExpression(current) && Node.isPropertyAccessExpression(unwrapExpression(current.getExpression()))) {
      const callee = unwrapExpression(current.getExpression()) as Node & { getExpression(): Node; getName(): string };
      if (!accessed && FRESH_COLLECTION.has(callee.getName())) return false; // `this.items.slice()` is a copy
      current = callee.getExpression();
      accessed = true;
    } else if (Node.isNonNullExpression(current) || Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isTypeAssertion(current)) {
      current = current.getExpression();
    } else if (Node.isThisExpression(current)) {
      return accessed;
    } else if (Node.isIdentifier(current)) {
      return aliases.has(current.getText()) && (accessed || bare);
    } else {
      return false;
    }
  }
}

/** `[this.a, this.b] = …` and `({ a: this.a } = …)`: a destructuring assignment into state. */
function destructuresIntoState(target: Node, aliases: ReadonlySet<string>): boolean {
  if (!Node.isArrayLiteralExpression(target) && !Node.isObjectLiteralExpression(target)) return false;
  let found = false;
  target.forEachDescendant((n, traversal) => {
    if ((Node.isPropertyAccessExpression(n) || Node.isElementAccessExpression(n)) && rootedInThis(n, aliases, false)) {
      found = true;
      traversal.stop();
    }
  });
  return found;
}

function isMutableType(node: Node): boolean {
  const type = node.getType();
  return type.isObject() || type.isAny() || type.isUnknown() || type.getUnionTypes().some((t) => t.isObject());
}

function unwrapExpression(node: Node): Node {
  let current = node;
  while (Node.isNonNullExpression(current) || Node.isParenthesizedExpression(current)) current = current.getExpression();
  return current;
}

function isAssignmentOperator(kind: SyntaxKind): boolean {
  return kind >= SyntaxKind.FirstAssignment && kind <= SyntaxKind.LastAssignment;
}

function isIncrementOrDecrement(kind: SyntaxKind): boolean {
  return kind === SyntaxKind.PlusPlusToken || kind === SyntaxKind.MinusMinusToken;
}

function short(node: Node): string {
  const text = node.getText().replace(/\s+/g, ' ');
  return text.length > 40 ? text.slice(0, 37) + '...' : text;
}

const lineMaps = new WeakMap<object, LineMap>();

export function locate(node: Node): { file: string; position: { line: number; column: number } } {
  const sourceFile = node.getSourceFile();
  let lines = lineMaps.get(sourceFile);
  if (!lines) lineMaps.set(sourceFile, (lines = new LineMap(sourceFile.getFullText())));
  return { file: sourceFile.getFilePath(), position: lines.position(node.getStart()) };
}

function dedupe(evidence: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return evidence.filter((e) => {
    const key = `${e.file}:${e.position.line}:${e.position.column}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Reads a state class: its instance methods (inherited ones too), which of them update the object and
// which are not deterministic. A method updates the object when it writes a field reached from `this`
// (assignment, ++/--, delete, a mutating call such as push/splice/set/clear, Object.assign), directly,
// through a local alias of such a field, or through another method of the object that does.
import { Node, Scope, SyntaxKind, type ClassDeclaration, type MethodDeclaration } from 'ts-morph';
import { LineMap } from '../../mappings/index.js';
import type { Evidence, StateClassInfo, StateMethodInfo } from './model.js';

/** Methods of built-in collections that change their receiver. */
const MUTATING_METHODS = new Set([
  'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin',
  'set', 'delete', 'clear', 'add',
]);

/** Calls whose result differs from one run to the next: re-running them on a backup diverges. */
const NONDETERMINISTIC_CALLS = new Set([
  'Date.now', 'Math.random', 'crypto.randomUUID', 'crypto.getRandomValues', 'crypto.randomBytes',
  'crypto.randomInt', 'globalThis.crypto.randomUUID', 'randomUUID', 'randomBytes', 'randomInt',
  'performance.now', 'process.hrtime', 'process.hrtime.bigint',
]);

interface DirectEffects {
  writes: Evidence[];
  nondeterminism: Evidence[];
  /** Methods of this object the body calls: `this.x()` by name, `super.x()` by declaration. */
  calls: Array<{ name: string } | { declaration: MethodDeclaration }>;
}

export function readStateClass(declaration: ClassDeclaration): StateClassInfo {
  const chain: ClassDeclaration[] = [];
  for (let c: ClassDeclaration | undefined = declaration; c; c = c.getBaseClass()) chain.push(c);
  const byName = new Map<string, MethodDeclaration>();
  for (const cls of [...chain].reverse()) {
    for (const method of cls.getInstanceMethods()) byName.set(method.getName(), method);
  }

  const effects = new Map<MethodDeclaration, DirectEffects>();
  const direct = (m: MethodDeclaration) => {
    let found = effects.get(m);
    if (!found) effects.set(m, (found = directEffects(m)));
    return found;
  };
  // Transitive closure over the object's own method calls; `visiting` breaks recursion.
  const closure = (m: MethodDeclaration, visiting: Set<MethodDeclaration>): { writes: Evidence[]; nondeterminism: Evidence[] } => {
    const own = direct(m);
    const writes = [...own.writes];
    const nondeterminism = [...own.nondeterminism];
    visiting.add(m);
    for (const call of own.calls) {
      const target = 'name' in call ? byName.get(call.name) : call.declaration;
      if (!target || visiting.has(target)) continue;
      const inner = closure(target, visiting);
      writes.push(...inner.writes);
      nondeterminism.push(...inner.nondeterminism);
    }
    visiting.delete(m);
    return { writes, nondeterminism };
  };

  const methods = new Map<string, StateMethodInfo>();
  for (const [name, method] of byName) {
    const { writes, nondeterminism } = closure(method, new Set());
    methods.set(name, {
      name,
      declaration: method,
      declaringClass: (method.getParent() as ClassDeclaration).getName() ?? '(anonymous class)',
      ...locate(method),
      parameters: method.getParameters().map((p) => ({
        name: p.getName(),
        optional: p.isOptional() || p.hasInitializer(),
        rest: p.isRestParameter(),
        type: p.getType(),
      })),
      isAsync: method.isAsync(),
      isPrivate: method.getScope() === Scope.Private || method.getName().startsWith('#'),
      updates: writes[0],
      nondeterminism: dedupe(nondeterminism),
    });
  }
  return { name: declaration.getName() ?? '(anonymous class)', declaration, ...locate(declaration), methods };
}

function directEffects(method: MethodDeclaration): DirectEffects {
  const result: DirectEffects = { writes: [], nondeterminism: [] , calls: [] };
  const body = method.getBody();
  if (!body) return result;
  const aliases = collectAliases(body);
  const isStateReference = (node: Node): boolean => rootedInThis(node, aliases);
  const write = (node: Node, description: string) => result.writes.push({ description, ...locate(node) });

  body.forEachDescendant((node) => {
    if (Node.isBinaryExpression(node) && isAssignmentOperator(node.getOperatorToken().getKind())) {
      const target = node.getLeft();
      if (isStateReference(target)) write(node, `assigns ${short(target)}`);
    } else if ((Node.isPrefixUnaryExpression(node) || Node.isPostfixUnaryExpression(node)) && isIncrementOrDecrement(node.getOperatorToken())) {
      if (isStateReference(node.getOperand())) write(node, `${node.getOperatorToken() === SyntaxKind.PlusPlusToken ? 'increments' : 'decrements'} ${short(node.getOperand())}`);
    } else if (Node.isDeleteExpression(node)) {
      if (isStateReference(node.getExpression())) write(node, `deletes ${short(node.getExpression())}`);
    } else if (Node.isCallExpression(node)) {
      const callee = node.getExpression();
      const calleeText = callee.getText().replace(/\s+/g, '').replace(/\?\./g, '.');
      if (NONDETERMINISTIC_CALLS.has(calleeText)) result.nondeterminism.push({ description: `${calleeText}()`, ...locate(node) });
      if (Node.isPropertyAccessExpression(callee)) {
        const receiver = callee.getExpression();
        const name = callee.getName();
        if (Node.isThisExpression(receiver)) result.calls.push({ name });
        else if (Node.isSuperExpression(receiver)) {
          const base = (method.getParent() as ClassDeclaration).getBaseClass();
          const target = base && findInstanceMethod(base, name);
          if (target) result.calls.push({ declaration: target });
        } else if (MUTATING_METHODS.has(name) && isStateReference(receiver)) write(node, `calls ${short(receiver)}.${name}()`);
        else if (calleeText === 'Object.assign' && node.getArguments()[0] && isStateReference(node.getArguments()[0]!)) {
          write(node, `calls Object.assign on ${short(node.getArguments()[0]!)}`);
        }
      }
    } else if (Node.isNewExpression(node) && node.getExpression().getText() === 'Date' && node.getArguments().length === 0) {
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
 * `for (const m of this.machines)`, and the parameters of callbacks handed to a state collection
 * (`this.machines.forEach(m => …)`). Collected to a fixpoint, so aliases of aliases count too.
 */
function collectAliases(body: Node): Set<string> {
  const aliases = new Set<string>();
  let grew = true;
  while (grew) {
    const before = aliases.size;
    body.forEachDescendant((node) => {
      if (Node.isVariableDeclaration(node)) {
        const init = node.getInitializer();
        if (init && (Node.isThisExpression(init) || rootedInThis(init, aliases))) addBindingNames(node.getNameNode(), aliases);
      } else if (Node.isForOfStatement(node) || Node.isForInStatement(node)) {
        if (Node.isForOfStatement(node) && rootedInThis(node.getExpression(), aliases)) {
          const init = node.getInitializer();
          if (Node.isVariableDeclarationList(init)) for (const d of init.getDeclarations()) addBindingNames(d.getNameNode(), aliases);
        }
      } else if (Node.isCallExpression(node)) {
        const callee = node.getExpression();
        if (Node.isPropertyAccessExpression(callee) && rootedInThis(callee.getExpression(), aliases)) {
          for (const arg of node.getArguments()) {
            if (Node.isArrowFunction(arg) || Node.isFunctionExpression(arg)) {
              for (const p of arg.getParameters()) addBindingNames(p.getNameNode(), aliases);
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

/** `this.a`, `this.a[b].c`, `(this.a as X)!.b`, or the same below an alias; bare `this` does not count. */
function rootedInThis(node: Node, aliases: ReadonlySet<string>): boolean {
  let current = node;
  let accessed = false;
  for (;;) {
    if (Node.isPropertyAccessExpression(current) || Node.isElementAccessExpression(current)) {
      current = current.getExpression();
      accessed = true;
    } else if (Node.isNonNullExpression(current) || Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isTypeAssertion(current)) {
      current = current.getExpression();
    } else if (Node.isThisExpression(current)) {
      return accessed;
    } else if (Node.isIdentifier(current)) {
      return aliases.has(current.getText());
    } else {
      return false;
    }
  }
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

// Whether a module-level object (or a static field) is changed anywhere in the program: then reading it
// gives whatever the requests before left there, which a backup re-running a method cannot reproduce
// unless it ran exactly the same code before. Found from the references the language service knows.
import { Node, SyntaxKind, type PropertyDeclaration, type VariableDeclaration } from 'ts-morph';
import { MUTATING_METHODS, writesFirstArgument } from './builtins.js';
import { Analysis } from './analysis.js';
import { declarationOf, originOf, qualifiedName } from './declarations.js';
import { rootValue } from './values.js';

const cache = new WeakMap<object, boolean>();

export function isMutatedAnywhere(declaration: VariableDeclaration | PropertyDeclaration): boolean {
  let found = cache.get(declaration.compilerNode);
  if (found === undefined) {
    found = false;
    cache.set(declaration.compilerNode, found);
    const name = declaration.getNameNode();
    try {
      found = (Node.isIdentifier(name) || Node.isPrivateIdentifier(name)) && name.findReferencesAsNodes().some((reference) => reference !== name && isWrittenThrough(reference));
    } catch {
      found = true; // the references cannot be listed: assume the worst
    }
    cache.set(declaration.compilerNode, found);
  }
  return found;
}

const writers = new WeakMap<object, boolean>();

/** Whether a method of the user's sources changes the object it is called on (`registry.register(x)`). */
function methodWritesItsObject(declaration: Node): boolean {
  if (!Node.isMethodDeclaration(declaration) || !declaration.getBody()) return false;
  let found = writers.get(declaration.compilerNode);
  if (found === undefined) {
    writers.set(declaration.compilerNode, false);
    const analysis = new Analysis();
    const probe = analysis.addRoot({ key: 'probe', kind: 'self', name: 'probe' });
    const summary = analysis.analyze({ kind: 'code', fn: declaration }, rootValue(probe), [], { insideOf: probe });
    found = summary.effects.writes.some((w) => w.root === probe);
    writers.set(declaration.compilerNode, found);
  }
  return found;
}

/** Whether the access chain a reference starts (`ref.a[b].c`) is written: assigned, incremented, deleted, mutated by a method. */
function isWrittenThrough(reference: Node): boolean {
  let current: Node = reference;
  const named = reference.getParent();
  if (named && Node.isPropertyAccessExpression(named) && named.getNameNode() === reference) current = named; // `Class.field`
  for (;;) {
    const parent = current.getParent();
    if (!parent) return false;
    if (Node.isBinaryExpression(parent) && parent.getLeft() === current) {
      const kind = parent.getOperatorToken().getKind();
      return kind >= SyntaxKind.FirstAssignment && kind <= SyntaxKind.LastAssignment;
    }
    if (Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent)) {
      const operator = parent.getOperatorToken();
      return operator === SyntaxKind.PlusPlusToken || operator === SyntaxKind.MinusMinusToken;
    }
    if (Node.isDeleteExpression(parent)) return true;
    if (Node.isCallExpression(parent) && parent.getArguments()[0] === current) {
      const declaration = declarationOf(
        Node.isPropertyAccessExpression(parent.getExpression()) ? (parent.getExpression() as import('ts-morph').PropertyAccessExpression).getNameNode() : parent.getExpression(),
      );
      return !!declaration && originOf(declaration) !== 'user' && writesFirstArgument(qualifiedName(declaration));
    }
    if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === current) {
      const call = parent.getParent();
      if (call && Node.isCallExpression(call) && call.getExpression() === parent) {
        const declaration = declarationOf(parent.getNameNode());
        if (declaration && originOf(declaration) === 'user') {
          if (methodWritesItsObject(declaration)) return true;
        } else if (MUTATING_METHODS.has(parent.getName())) return true;
      }
      current = parent;
      continue;
    }
    if (Node.isElementAccessExpression(parent) && parent.getExpression() === current) {
      current = parent;
      continue;
    }
    if (Node.isNonNullExpression(parent) || Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent)) {
      current = parent;
      continue;
    }
    return false;
  }
}

// Syntax questions the analysis asks of a node, answered without the type checker: whether an identifier
// reads a value, whether an access is only written, where an access chain starts, which function a node
// is directly in.
import { Node, SyntaxKind, type Identifier } from 'ts-morph';

/** Kinds evaluated where they stand; the others are evaluated as parts of these. */
export const EVALUATED = new Set([
  SyntaxKind.CallExpression,
  SyntaxKind.NewExpression,
  SyntaxKind.TaggedTemplateExpression,
  SyntaxKind.BinaryExpression,
  SyntaxKind.PrefixUnaryExpression,
  SyntaxKind.PostfixUnaryExpression,
  SyntaxKind.DeleteExpression,
  SyntaxKind.PropertyAccessExpression,
  SyntaxKind.ElementAccessExpression,
  SyntaxKind.ThisKeyword,
]);

export function enclosingFunction(node: Node): object | undefined {
  for (let current = node.getParent(); current; current = current.getParent()) {
    if (Node.isFunctionLikeDeclaration(current) || Node.isArrowFunction(current) || Node.isFunctionExpression(current)) return current.compilerNode;
  }
  return undefined;
}

export function contains(outer: Node, inner: Node): boolean {
  return outer.getSourceFile() === inner.getSourceFile() && outer.getPos() <= inner.getPos() && inner.getEnd() <= outer.getEnd();
}

/** The object an access chain starts from: `o` in `o.a[b].c`, `o!.items`, `(o as X).f()`. */
export function chainBase(node: Node): Node {
  let current = node;
  for (;;) {
    if (
      Node.isPropertyAccessExpression(current) ||
      Node.isElementAccessExpression(current) ||
      Node.isNonNullExpression(current) ||
      Node.isParenthesizedExpression(current) ||
      Node.isAsExpression(current) ||
      Node.isSatisfiesExpression(current) ||
      Node.isTypeAssertion(current)
    ) {
      current = current.getExpression();
    } else if (Node.isCallExpression(current)) {
      const callee = current.getExpression();
      if (!Node.isPropertyAccessExpression(callee) && !Node.isElementAccessExpression(callee)) return current;
      current = callee.getExpression();
    } else return current;
  }
}

function isAssignmentOperator(kind: SyntaxKind): boolean {
  return kind >= SyntaxKind.FirstAssignment && kind <= SyntaxKind.LastAssignment;
}

/** An identifier that reads a value (not a declaration's name, a property name, or the target of a write). */
export function isValueReference(id: Identifier | Node): boolean {
  const parent = id.getParent();
  if (!parent) return false;
  if (Node.isShorthandPropertyAssignment(parent)) return true;
  if (Node.isPropertyAccessExpression(parent)) return parent.getExpression() === id;
  if (Node.isQualifiedName(parent) || Node.isLabeledStatement(parent) || Node.isBreakStatement(parent) || Node.isContinueStatement(parent)) return false;
  if (Node.isBindingElement(parent) && parent.getPropertyNameNode() === id) return false;
  const named = parent as Node & { getNameNode?: () => Node | undefined };
  if (typeof named.getNameNode === 'function' && !Node.isElementAccessExpression(parent)) {
    try {
      if (named.getNameNode() === id) return false;
    } catch {
      // a node kind whose name is optional and absent
    }
  }
  if (Node.isImportSpecifier(parent) || Node.isExportSpecifier(parent) || Node.isImportClause(parent) || Node.isNamespaceImport(parent)) return false;
  if (Node.isBinaryExpression(parent) && parent.getLeft() === id && isAssignmentOperator(parent.getOperatorToken().getKind())) return false;
  if ((Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent)) && isIncrementOrDecrement(parent.getOperatorToken())) return false;
  return true;
}

export function isIncrementOrDecrement(kind: SyntaxKind): boolean {
  return kind === SyntaxKind.PlusPlusToken || kind === SyntaxKind.MinusMinusToken;
}

/** An access that is only written (`this.x = …`, `delete this.x`), never read: evaluated by the write itself. */
export function isWriteOnlyTarget(node: Node): boolean {
  const parent = node.getParent();
  if (!parent) return false;
  if (Node.isBinaryExpression(parent) && parent.getLeft() === node && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken) return true;
  if (Node.isDeleteExpression(parent)) return true;
  if ((Node.isArrayLiteralExpression(parent) || Node.isPropertyAssignment(parent) || Node.isShorthandPropertyAssignment(parent)) && isInDestructuringTarget(parent)) return true;
  return false;
}

function isInDestructuringTarget(node: Node): boolean {
  let current: Node = node;
  for (let parent = current.getParent(); parent; current = parent, parent = parent.getParent()) {
    if (Node.isBinaryExpression(parent)) return parent.getLeft() === current && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken;
    if (
      !(
        Node.isArrayLiteralExpression(parent) ||
        Node.isObjectLiteralExpression(parent) ||
        Node.isPropertyAssignment(parent) ||
        Node.isShorthandPropertyAssignment(parent) ||
        Node.isSpreadElement(parent) ||
        Node.isSpreadAssignment(parent)
      )
    )
      return false;
  }
  return false;
}

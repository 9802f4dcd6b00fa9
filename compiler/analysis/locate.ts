// Where a node is (file and 1-based line:column, as diagnostics print it), how to quote it in a message,
// and how to name the function it is in ('QueueService.add').
import { Node } from 'ts-morph';
import { LineMap } from '../../mappings/index.js';

const lineMaps = new WeakMap<object, LineMap>();

export function locate(node: Node): { file: string; position: { line: number; column: number } } {
  const sourceFile = node.getSourceFile();
  let lines = lineMaps.get(sourceFile.compilerNode);
  if (!lines) lineMaps.set(sourceFile.compilerNode, (lines = new LineMap(sourceFile.getFullText())));
  return { file: sourceFile.getFilePath(), position: lines.position(node.getStart()) };
}

/** Source text for a message: one line, at most 40 characters. */
export function short(node: Node): string {
  const text = node.getText().replace(/\s+/g, ' ');
  return text.length > 40 ? text.slice(0, 37) + '...' : text;
}

/** The named function or member a node is in: 'Queue.add', 'Queue.size' (a getter), 'normalize'. */
export function describeOwner(node: Node): string {
  for (let current: Node | undefined = node; current; current = current.getParent()) {
    if (Node.isMethodDeclaration(current) || Node.isGetAccessorDeclaration(current) || Node.isSetAccessorDeclaration(current) || Node.isPropertyDeclaration(current)) {
      const cls = current.getParent();
      if (Node.isObjectLiteralExpression(cls)) continue;
      return `${className(cls)}.${current.getName()}`;
    }
    if (Node.isConstructorDeclaration(current)) return `the constructor of ${className(current.getParent())}`;
    if (Node.isFunctionDeclaration(current) && current.getName()) return current.getName()!;
    if (Node.isVariableDeclaration(current) && (Node.isArrowFunction(current.getInitializer()) || Node.isFunctionExpression(current.getInitializer()))) return current.getName();
  }
  return node.getSourceFile().getBaseName();
}

function className(node: Node | undefined): string {
  if (node && (Node.isClassDeclaration(node) || Node.isClassExpression(node))) {
    const name = node.getName();
    if (name) return name;
    const holder = node.getFirstAncestor((a) => Node.isVariableDeclaration(a) || Node.isFunctionDeclaration(a));
    if (holder && (Node.isVariableDeclaration(holder) || Node.isFunctionDeclaration(holder))) return `${holder.getName() ?? '(anonymous)'}(…)`;
  }
  return '(anonymous class)';
}

// Built-ins that a Proxy blinds (proxies/core/builtins.ts) are imported into the build's copy of every
// source file that uses the global one, so that `structuredClone(this.items)` clones the state behind the
// proxies as the original clones the state itself. A file's own `structuredClone` (a local function, an
// import) is the user's and left alone: only references that resolve to the global are counted.
import { ts, type SourceFile } from 'ts-morph';
import { quote } from './names.js';
import { applyEdits, openingEnd, type TextEdit } from './text-edits.js';

const SEEING_BUILTINS = ['structuredClone'];

/** Imports the run-time's version of each such built-in the file uses; returns the names imported. */
export function importSeeingBuiltins(file: SourceFile, runtimeImport: string): string[] {
  const source = file.compilerNode;
  const checker = file.getProject().getTypeChecker().compilerObject;
  const used = new Set<string>();
  const edits: TextEdit[] = [];
  for (const name of SEEING_BUILTINS) {
    const global = checker.resolveName(name, undefined, ts.SymbolFlags.Value, false);
    if (!global) continue;
    const isGlobal = (node: ts.Identifier) => {
      const symbol = ts.isShorthandPropertyAssignment(node.parent) ? checker.getShorthandAssignmentValueSymbol(node.parent) : checker.getSymbolAtLocation(node);
      return symbol !== undefined && symbol === global;
    };
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && node.text === name && !isPropertyName(node) && isGlobal(node)) used.add(name);
      // `globalThis.structuredClone`, where the imported name is not shadowed there.
      if (ts.isPropertyAccessExpression(node) && node.name.text === name && ts.isIdentifier(node.expression) && node.expression.text === 'globalThis') {
        const there = checker.resolveName(name, node, ts.SymbolFlags.Value, false);
        if (there === global) {
          used.add(name);
          edits.push({ start: node.getStart(source), end: node.end, text: name });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  if (used.size === 0) return [];
  const names = [...used].sort();
  const at = openingEnd(source);
  const line = `import { ${names.join(', ')} } from ${quote(runtimeImport)};`;
  edits.push({ start: at, end: at, text: at > 0 ? `\n${line}` : `${line}\n` });
  file.replaceWithText(applyEdits(source.text, edits));
  return names;
}

/** `x.name`, `{ name: v }`, a declaration's name: a name that is not a reference. */
function isPropertyName(node: ts.Identifier): boolean {
  const parent = node.parent;
  return (
    (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
    (ts.isPropertyAssignment(parent) && parent.name === node) ||
    (ts.isQualifiedName(parent) && parent.right === node) ||
    ((ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertySignature(parent) || ts.isMethodSignature(parent)) && parent.name === node)
  );
}

// What a name refers to, asked of the type checker: the declaration behind an identifier or a property
// (through import aliases, renamed and namespace imports alike), where that declaration lives (the user's
// sources, TypeScript's standard library, Node's types, another package), and the qualified name a
// library member goes by ('ObjectConstructor.assign', 'Process.env', 'fs.readFileSync'), so that the
// analysis decides by what is called, never by how the call is spelled.
import { Node, SyntaxKind, TypeFlags, type SourceFile, type Symbol as MorphSymbol, type Type, type VariableDeclaration } from 'ts-morph';

export type Origin = 'user' | 'lib' | 'node' | 'package';

/** The symbol a reference resolves to, import aliases followed. */
export function symbolOf(node: Node): MorphSymbol | undefined {
  const parent = node.getParent();
  let symbol = parent && Node.isShorthandPropertyAssignment(parent) && parent.getNameNode() === node ? node.getProject().getTypeChecker().getShorthandAssignmentValueSymbol(parent) : node.getSymbol();
  for (let i = 0; symbol?.isAlias() && i < 8; i++) symbol = symbol.getAliasedSymbol() ?? undefined;
  return symbol;
}

/** The declaration a reference resolves to (its value declaration first). */
export function declarationOf(node: Node): Node | undefined {
  const symbol = symbolOf(node);
  return symbol?.getValueDeclaration() ?? symbol?.getDeclarations()[0];
}

const origins = new WeakMap<object, Origin>();

export function originOf(node: Node): Origin {
  const file: SourceFile = node.getSourceFile();
  let origin = origins.get(file.compilerNode);
  if (origin) return origin;
  const path = file.getFilePath();
  if (file.getProject().getProgram().compilerObject.isSourceFileDefaultLibrary(file.compilerNode) || /\/typescript\/lib\/lib\.[^/]*\.d\.ts$/.test(path)) origin = 'lib';
  else if (/\/node_modules\/@types\/node\//.test(path)) origin = 'node';
  else if (file.isDeclarationFile() || file.isInNodeModules() || file.isFromExternalLibrary()) origin = 'package';
  else origin = 'user';
  origins.set(file.compilerNode, origin);
  return origin;
}

export function isUserCode(node: Node): boolean {
  return originOf(node) === 'user';
}

/** The Node module a library declaration belongs to ('fs' for 'node:fs' and 'fs'), if any. */
export function moduleOf(declaration: Node): string | undefined {
  for (const ancestor of declaration.getAncestors()) {
    if (!Node.isModuleDeclaration(ancestor)) continue;
    if (ancestor.getDeclarationKind() === 'global') return undefined; // `declare global` inside a module: a global
    const name = ancestor.getNameNode();
    if (Node.isStringLiteral(name)) return name.getLiteralValue().replace(/^node:/, '');
  }
  return undefined;
}

/**
 * A library member's qualified name: its interface, class or namespace and its own name
 * ('ObjectConstructor.assign', 'Array.push', 'Reflect.set', 'Process.env'), or the module's name for a
 * module-level function ('fs.readFileSync'), or the bare name of a global function ('setTimeout').
 */
export function qualifiedName(declaration: Node): string {
  const own = nameOf(declaration);
  for (const ancestor of declaration.getAncestors()) {
    if (Node.isInterfaceDeclaration(ancestor) || Node.isClassDeclaration(ancestor)) return `${ancestor.getName() ?? ''}.${own}`;
    if (Node.isModuleDeclaration(ancestor)) {
      if (ancestor.getDeclarationKind() === 'global') return own;
      const name = ancestor.getNameNode();
      if (Node.isStringLiteral(name)) return `${name.getLiteralValue().replace(/^node:/, '')}.${own}`;
      if (name.getText() === 'NodeJS') continue;
      return `${name.getText()}.${own}`;
    }
  }
  return own;
}

function nameOf(declaration: Node): string {
  const named = declaration as Node & { getName?: () => string | undefined };
  return (typeof named.getName === 'function' ? named.getName() : undefined) ?? declaration.getSymbol()?.getName() ?? '';
}

/** A `let`/`var`/`const` at the top of a module (of the user's sources), not inside a function or a class. */
export function moduleLevelVariable(declaration: Node): VariableDeclaration | undefined {
  const variable = Node.isBindingElement(declaration) ? declaration.getFirstAncestorByKind(SyntaxKind.VariableDeclaration) : declaration;
  if (!variable || !Node.isVariableDeclaration(variable) || !isUserCode(variable)) return undefined;
  const statement = variable.getVariableStatement();
  const container = statement?.getParent();
  return container && (Node.isSourceFile(container) || Node.isModuleBlock(container)) ? variable : undefined;
}

export function isConstVariable(variable: VariableDeclaration): boolean {
  return variable.getVariableStatement()?.getDeclarationKind() === 'const';
}

const PRIMITIVE_FLAGS =
  TypeFlags.StringLike |
  TypeFlags.NumberLike |
  TypeFlags.BooleanLike |
  TypeFlags.BigIntLike |
  TypeFlags.EnumLike |
  TypeFlags.Undefined |
  TypeFlags.Null |
  TypeFlags.Void |
  TypeFlags.Never |
  TypeFlags.ESSymbolLike;

/** Whether every value of the type is a primitive: something no one can change in place. */
export function isPrimitiveType(type: Type): boolean {
  if (type.isUnion()) return type.getUnionTypes().every(isPrimitiveType);
  return (type.getFlags() & PRIMITIVE_FLAGS) !== 0;
}

/** Whether a value of the type can be called (a function, a class constructor). */
export function isCallableType(type: Type): boolean {
  if (type.isUnion()) return type.getUnionTypes().some(isCallableType);
  if (type.isAny() || type.isUnknown()) return false;
  return type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0;
}

/**
 * The types found `depth` levels inside a type (an array's elements, a Map's values, an object's property
 * types), or undefined when the analysis cannot say (then anything may be there).
 */
export function typesInside(type: Type, depth: number): Type[] | undefined {
  let current: Type[] = [type];
  for (let level = 0; level < depth; level++) {
    const next: Type[] = [];
    for (const t of current.flatMap((c) => (c.isUnion() ? c.getUnionTypes() : [c]))) {
      if (isPrimitiveType(t)) continue;
      if (t.isAny() || t.isUnknown() || t.isTypeParameter()) return undefined;
      const array = t.getArrayElementType();
      if (array) next.push(array);
      else if (t.isTuple()) next.push(...t.getTupleElements());
      else if (t.getTypeArguments().length > 0) next.push(...t.getTypeArguments());
      else if (t.isObject()) {
        const properties = t.getProperties();
        if (properties.length === 0) return undefined;
        for (const p of properties) {
          const declaration = p.getValueDeclaration() ?? p.getDeclarations()[0];
          if (declaration) next.push(p.getTypeAtLocation(declaration));
          else return undefined;
        }
      } else return undefined;
    }
    current = next;
  }
  return current;
}

/** Whether something `depth` levels inside a value of the type may be an object (which others could change). */
export function mayHoldObjects(type: Type, depth: number): boolean {
  const inside = typesInside(type, depth);
  return inside === undefined || inside.some((t) => !isPrimitiveType(t));
}

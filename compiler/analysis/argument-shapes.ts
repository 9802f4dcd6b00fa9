// What a public method's parameters take, as data a build carries: so that a request's JSON arguments
// are checked against the declared types before the method runs (docs/SERVING.md: a wrong or missing argument
// gets 400 BAD_ARGUMENTS naming the parameter and the type expected), and made the values the method
// declares where JSON cannot carry them (a Date from its ISO string, a bigint from its digits, a Set or a
// Map from an array). What the shape cannot say precisely is `any`: accepted as JSON gives it.
import { Node, TypeFlags, type ParameterDeclaration, type Type } from 'ts-morph';

// The shapes are the run-time's contract (it reads arguments by them): one definition, there.
import type { ParameterShape, Shape } from '../../proxies/serving/arguments.js';

export type { ParameterShape };

const MAX_DEPTH = 6;

/** Library types that are plain data described by their properties. */
const PLAIN_DATA = new Set(['Record', 'Partial', 'Readonly', 'Required', 'Pick', 'Omit', 'Object']);

export function parameterShapes(parameters: ParameterDeclaration[]): ParameterShape[] {
  return parameters.map((p) => {
    const rest = p.isRestParameter();
    const type = rest ? (p.getType().getArrayElementType() ?? p.getType()) : p.getType();
    return {
      name: p.getName(),
      type: type.getText(p),
      shape: shapeOf(type, p, 0),
      ...(p.isOptional() || p.hasInitializer() ? { optional: true as const } : {}),
      ...(rest ? { rest: true as const } : {}),
    };
  });
}

function shapeOf(type: Type, at: Node, depth: number): Shape {
  if (depth > MAX_DEPTH || type.isAny() || type.isUnknown() || type.isTypeParameter()) return { k: 'any' };
  if (type.isUnion() && !type.isBoolean()) {
    const members = type.getUnionTypes();
    // boolean | undefined is a union of true, false and undefined: keep booleans together.
    const hasTrue = members.some((t) => t.isBooleanLiteral() && t.getText() === 'true');
    const hasFalse = members.some((t) => t.isBooleanLiteral() && t.getText() === 'false');
    const shapes: Shape[] = [];
    if (hasTrue && hasFalse) shapes.push({ k: 'boolean' });
    for (const m of members) {
      if (hasTrue && hasFalse && m.isBooleanLiteral()) continue;
      shapes.push(shapeOf(m, at, depth));
    }
    return shapes.some((s) => s.k === 'any') ? { k: 'any' } : { k: 'union', of: shapes };
  }
  const flags = type.getFlags();
  if (flags & TypeFlags.Null) return { k: 'null' };
  if (flags & (TypeFlags.Undefined | TypeFlags.Void)) return { k: 'undefined' };
  if (type.isStringLiteral() || type.isNumberLiteral()) return { k: 'literal', v: type.getLiteralValue() as string | number };
  if (type.isBooleanLiteral()) return { k: 'literal', v: type.getText() === 'true' };
  if (flags & TypeFlags.BooleanLike) return { k: 'boolean' };
  if (flags & TypeFlags.StringLike) return { k: 'string' };
  if (flags & TypeFlags.NumberLike) return { k: 'number' };
  if (flags & TypeFlags.BigIntLike) return { k: 'bigint' };
  const name = libraryName(type);
  if (name === 'Date') return { k: 'date' };
  if (name === 'Set' || name === 'ReadonlySet') return { k: 'set', of: shapeOf(type.getTypeArguments()[0] ?? type, at, depth + 1) };
  if (name === 'Map' || name === 'ReadonlyMap') {
    const [key, value] = type.getTypeArguments();
    return key && value ? { k: 'map', key: shapeOf(key, at, depth + 1), value: shapeOf(value, at, depth + 1) } : { k: 'any' };
  }
  if (type.isTuple()) return { k: 'tuple', items: type.getTupleElements().map((t) => shapeOf(t, at, depth + 1)) };
  const element = type.getArrayElementType();
  if (element) return { k: 'array', of: shapeOf(element, at, depth + 1) };
  if (type.getCallSignatures().length > 0 || (name !== undefined && !PLAIN_DATA.has(name))) return { k: 'any' };
  if (type.isObject()) {
    const props: Record<string, { s: Shape; optional?: true }> = {};
    for (const property of type.getProperties()) {
      const declaration = property.getValueDeclaration() ?? property.getDeclarations()[0];
      // Methods are the class's, not data a request carries.
      if (declaration && (Node.isMethodDeclaration(declaration) || Node.isMethodSignature(declaration) || Node.isGetAccessorDeclaration(declaration))) continue;
      const propertyType = property.getTypeAtLocation(declaration ?? at);
      if (propertyType.getCallSignatures().length > 0) continue;
      props[property.getName()] = { s: shapeOf(propertyType, at, depth + 1), ...(property.isOptional() ? { optional: true as const } : {}) };
    }
    const index = type.getStringIndexType();
    return { k: 'object', props, ...(index ? { rest: shapeOf(index, at, depth + 1) } : {}) };
  }
  return { k: 'any' };
}

/** The name of a type the standard library declares (Date, Map…), else undefined. */
function libraryName(type: Type): string | undefined {
  const symbol = type.getSymbol() ?? type.getAliasSymbol();
  const declaration = symbol?.getDeclarations()[0];
  if (!symbol || !declaration) return undefined;
  const file = declaration.getSourceFile();
  if (!file.isDeclarationFile() || !/[/\\]typescript[/\\]lib[/\\]|[/\\]lib\.[\w.]+\.d\.ts$|[/\\]@types[/\\]node[/\\]/.test(file.getFilePath())) return undefined;
  if (!Node.isInterfaceDeclaration(declaration) && !Node.isClassDeclaration(declaration)) return undefined;
  return symbol.getName();
}

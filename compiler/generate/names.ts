// How a user's member name is written in generated code: a service method may be called anything a
// class member can be (`with`, `then`, `'my-method'`, `__proto__`), and the generated code must name it
// as an identifier where it is one and as a string where it is not, never as code.
import { ts } from 'ts-morph';

/** A single-quoted string literal holding `text`. */
export function quote(text: string): string {
  return `'${JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

/** Whether `name` is written as an identifier (reserved words included: `x.with`, `{ with() {} }` are fine). */
export function isIdentifierName(name: string): boolean {
  const points = [...name].map((c) => c.codePointAt(0)!);
  return points.length > 0 && ts.isIdentifierStart(points[0]!, ts.ScriptTarget.ES2022) && points.slice(1).every((c) => ts.isIdentifierPart(c, ts.ScriptTarget.ES2022));
}

/** The name of a class member or an object literal's property: `name`, or `'my-method'`. */
export function memberName(name: string): string {
  return isIdentifierName(name) ? name : quote(name);
}

/**
 * The key of an object literal property. `__proto__: v` (quoted or not) would set the prototype of the
 * object instead of a property, so that one is computed.
 */
export function propertyKey(name: string): string {
  return name === '__proto__' ? `[${quote(name)}]` : memberName(name);
}

/** `target.name`, or `target['my-method']`. */
export function access(target: string, name: string): string {
  return isIdentifierName(name) ? `${target}.${name}` : `${target}[${quote(name)}]`;
}

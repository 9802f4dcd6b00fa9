// Reads a state class: its instance methods (inherited ones and a mixin's included, `#private` ones
// too), which of them update the object and why, which do what a backup re-running them could not
// repeat, and the patterns a durability proxy cannot see through. Each method is run through the
// analysis (engine.ts) with `this` as the object itself; a write anywhere it leads (a helper, a getter, a
// callback, a function of another module given a piece of the object) is the method's write.
import { Node, type ClassDeclaration, type ParameterDeclaration, type PropertyDeclaration } from 'ts-morph';
import { classMembers, type ClassMembers } from './classes.js';
import { isCallableType, isPrimitiveType } from './declarations.js';
import type { DeferredEffect, EscapeEffect, RootEffect } from './effects.js';
import { Analysis } from './analysis.js';
import { locate } from './locate.js';
import type { Evidence, StateClassInfo, StateMethodInfo } from './model.js';
import { nodeId, rootValue, EMPTY } from './values.js';

export { locate } from './locate.js';

/** The root a state class's own `this` is, in the analysis of its methods. */
function selfRoot(analysis: Analysis, declaration: ClassDeclaration, members: ClassMembers): string {
  return analysis.addRoot({ key: `self:${nodeId(declaration)}`, kind: 'self', name: declaration.getName() ?? '(anonymous class)', members });
}

export function readStateClass(declaration: ClassDeclaration, analysis: Analysis = new Analysis()): StateClassInfo {
  const members = classMembers(declaration);
  const self = selfRoot(analysis, declaration, members);
  const unsupported: Evidence[] = [];
  for (const member of members.methods.values()) {
    if (Node.isPropertyDeclaration(member.declaration) && Node.isArrowFunction(member.fn)) {
      unsupported.push({
        description: `the arrow-function property ${member.name} (its \`this\` is the object itself, not the proxy, so its changes would go unrecorded: write it as a method)`,
        ...locate(member.declaration),
      });
    }
  }
  if (members.outsideBase) {
    unsupported.push({
      description: `its base class ${members.outsideBase.getExpression().getText()}, which is not a class of your sources (wrap a Map, Set or array in a field instead of extending it)`,
      ...locate(members.outsideBase),
    });
  }

  const deferred: DeferredEffect[] = [];
  const escapes: EscapeEffect[] = [];
  const functionStores: RootEffect[] = [];
  const collect = (effects: { deferred: DeferredEffect[]; escapes: EscapeEffect[]; functionStores: RootEffect[] }) => {
    deferred.push(...effects.deferred);
    escapes.push(...effects.escapes);
    functionStores.push(...effects.functionStores.filter((f) => f.root === self));
  };

  const methods = new Map<string, StateMethodInfo>();
  for (const [name, member] of members.methods) {
    const summary = analysis.analyze({ kind: 'code', fn: member.fn }, rootValue(self), [], { insideOf: self });
    const writes = summary.effects.writes.filter((w) => w.root === self);
    const opaque = summary.effects.opaque.filter((o) => o.root === self);
    collect(summary.effects);
    methods.set(name, {
      name,
      declaration: member.declaration,
      declaringClass: member.owner.getName() ?? describeMixin(member.owner),
      ...locate(member.declaration),
      parameters: member.fn.getParameters().map((p) => ({
        name: p.getName(),
        optional: p.isOptional() || p.hasInitializer(),
        rest: p.isRestParameter(),
        type: p.getType(),
      })),
      isAsync: member.fn.isAsync(),
      isPrivate: member.hidden,
      updates: writes[0]?.evidence,
      unsure: writes.length === 0 ? opaque[0]?.evidence : undefined,
      nondeterminism: summary.effects.nondeterminism,
    });
  }
  // Getters, setters and the constructor are not mapped, but what they run after the request, or store, counts.
  const others = [...members.getters.values(), ...members.setters.values(), ...(members.constructorDeclaration ? [members.constructorDeclaration] : [])];
  for (const fn of others) {
    collect(analysis.analyze({ kind: 'code', fn }, rootValue(self), [EMPTY], { insideOf: self, initializing: Node.isConstructorDeclaration(fn) }).effects);
  }
  for (const field of members.fields) {
    const init = field.getInitializer();
    if (init && !members.methods.has(field.getName())) collect(analysis.analyzeInitializer(init, rootValue(self)).effects);
  }

  return {
    name: declaration.getName() ?? '(anonymous class)',
    declaration,
    ...locate(declaration),
    methods,
    unsupported,
    functionFields: functionFields(members),
    deferred,
    escapes,
    functionStores,
  };
}

function describeMixin(cls: Node): string {
  const fn = cls.getFirstAncestor((a) => Node.isFunctionDeclaration(a) || Node.isVariableDeclaration(a));
  const name = fn && (Node.isFunctionDeclaration(fn) || Node.isVariableDeclaration(fn)) ? fn.getName() : undefined;
  return name ? `${name}(…)` : '(anonymous class)';
}

/** Fields whose declared type holds functions (a callback, a list of handlers, an object with a function member). */
function functionFields(members: ClassMembers): Evidence[] {
  const found: Evidence[] = [];
  const fields: Array<PropertyDeclaration | ParameterDeclaration> = [...members.fields];
  for (const cls of members.chain) for (const c of cls.getConstructors()) fields.push(...c.getParameters().filter((p) => p.isParameterProperty()));
  for (const field of fields) {
    if (members.methods.has(field.getName())) continue; // a function-valued property is a method (DUR2014 for arrows)
    const type = field.getType();
    const path = functionPath(type, field, 0, new Set());
    if (path !== undefined) {
      found.push({ description: `its field '${field.getName()}' has type '${type.getText(field)}'${path ? `, ${path}` : ', a function'}`, ...locate(field.getNameNode()) });
    }
  }
  return found;
}

/** Where a type holds a function: '' for the type itself, 'whose elements are functions', "whose member 'onDone' is a function"; undefined when it holds none. */
function isDefaultLibrary(declaration: Node): boolean {
  return declaration.getProject().getProgram().compilerObject.isSourceFileDefaultLibrary(declaration.getSourceFile().compilerNode);
}

function functionPath(type: import('ts-morph').Type, at: Node, depth: number, seen: Set<object>): string | undefined {
  if (depth > 4 || seen.has(type.compilerType) || isPrimitiveType(type) || type.isAny() || type.isUnknown()) return undefined;
  seen.add(type.compilerType);
  const members = type.isUnion() ? type.getUnionTypes() : type.isIntersection() ? type.getIntersectionTypes() : [type];
  for (const t of members) {
    if (isCallableType(t)) return '';
    const element = t.getArrayElementType();
    const inner = element ? [element] : t.isTuple() ? t.getTupleElements() : t.getTypeArguments();
    for (const i of inner) {
      const path = functionPath(i, at, depth + 1, seen);
      if (path !== undefined) return path || 'whose elements are functions';
    }
    const symbol = t.getSymbol();
    const isClass = symbol?.getDeclarations().some((d: Node) => Node.isClassDeclaration(d) || Node.isClassExpression(d));
    if (t.isObject() && !t.isArray() && inner.length === 0) {
      for (const property of t.getProperties()) {
        const declaration = property.getValueDeclaration() ?? property.getDeclarations()[0];
        if (!declaration || Node.isMethodDeclaration(declaration) || Node.isMethodSignature(declaration) || Node.isGetAccessorDeclaration(declaration)) continue;
        // A built-in's own members (Date's getVarDate in the ScriptHost library TypeScript loads without
        // a \`lib\` setting) are the engine's, not data the state holds.
        if (isDefaultLibrary(declaration)) continue;
        if (isClass && !(Node.isPropertyDeclaration(declaration) || Node.isParameterDeclaration(declaration))) continue;
        const path = functionPath(property.getTypeAtLocation(at), at, depth + 1, seen);
        if (path !== undefined) return path ? `whose member '${property.getName()}' holds functions` : `whose member '${property.getName()}' is a function`;
      }
    }
  }
  return undefined;
}

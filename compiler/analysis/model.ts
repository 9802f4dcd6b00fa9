// What the analysis finds in a service's source: the service class, its `@state` fields, each field's
// state class and that class's methods (which update the object, which only read it, which are not
// deterministic). Keeps the ts-morph nodes so that binding and generation can ask the type checker more.
import type { ClassDeclaration, MethodDeclaration, PropertyDeclaration, Type } from 'ts-morph';
import type { SourcePosition } from '../../mappings/index.js';
import type { DeferredEffect, EscapeEffect, RootEffect } from './effects.js';

/** A place in a source file, for diagnostics and for "because …" explanations. */
export interface SourceLocation {
  file: string;
  position: SourcePosition;
}

export interface ParameterInfo {
  name: string;
  optional: boolean;
  rest: boolean;
  type: Type;
}

/** Why the analysis believes something, with where: "assigns this.value" at service.ts:5:5. */
export interface Evidence extends SourceLocation {
  description: string;
}

export interface StateMethodInfo extends SourceLocation {
  name: string;
  /** A method, or a field holding a function (reported as unsupported when it is an arrow function). */
  declaration: MethodDeclaration | PropertyDeclaration;
  /** The class that declares it (a base class for an inherited method). */
  declaringClass: string;
  parameters: ParameterInfo[];
  isAsync: boolean;
  /**
   * `private`, `protected` or `#private`: called only by the object's own methods, whose mapping covers
   * its effects; the service cannot call it.
   */
  isPrivate: boolean;
  /**
   * First write found, directly or through a helper, a getter, a callback or code of another module; also
   * set when the service calls it with a piece of the object that it then changes. Absent: read-only.
   */
  updates?: Evidence;
  /** For a method found read-only: why that may be wrong (state handed to code the analysis cannot see). */
  unsure?: Evidence;
  /**
   * What a backup re-running the method (update="repeat") could not reproduce: module-level variables,
   * the environment, I/O. Clock and randomness are not here: the run-time records and replays them.
   */
  nondeterminism: Evidence[];
}

export interface StateClassInfo extends SourceLocation {
  name: string;
  declaration: ClassDeclaration;
  /** Instance methods, inherited ones included; an override replaces the base method. */
  methods: Map<string, StateMethodInfo>;
  /** Patterns the run-time's Proxy cannot see through: each one an error. */
  unsupported: Evidence[];
  /** Fields whose declared type holds functions, which cannot be shipped or stored. */
  functionFields: Evidence[];
  /** State reached from callbacks that run after the request (timers, listeners, promises nobody awaits). */
  deferred: DeferredEffect[];
  /** State stored where it outlives the request. */
  escapes: EscapeEffect[];
  /** Functions stored into the object. */
  functionStores: RootEffect[];
}

export interface StateFieldInfo extends SourceLocation {
  name: string;
  declaration: PropertyDeclaration;
  typeText: string;
  /** Absent when the field's type is not a class declared in the user's sources (reported). */
  stateClass?: StateClassInfo;
  /** Its @state was reported as misused: binding says nothing more about it. */
  rejected?: boolean;
}

export interface ServiceInfo extends SourceLocation {
  name: string;
  declaration: ClassDeclaration;
  stateFields: StateFieldInfo[];
}

export function requiredParameterCount(method: StateMethodInfo): number {
  return method.parameters.filter((p) => !p.optional && !p.rest).length;
}

export function acceptsArgumentIndex(method: StateMethodInfo, index: number): boolean {
  return index < method.parameters.length || method.parameters.some((p) => p.rest);
}

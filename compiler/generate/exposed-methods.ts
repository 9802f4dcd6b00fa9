// The service's public methods as the generated code exposes them: each by the name a request carries
// (`my-method` for `'my-method'() {}`; none for `[Symbol.iterator]()`), with its parameters typed from
// the service's own declaration.
import type { MethodDeclaration, OptionalKind, ParameterDeclarationStructure } from 'ts-morph';
import type { ServiceInfo } from '../analysis/model.js';
import type { ServiceMethodInfo } from '../analysis/service-methods.js';
import { isIdentifierName, quote } from './names.js';

/** A public method of the service as the generated code names it. */
export interface ExposedMethod {
  /** The property name (`my-method` for `'my-method'() {}`). */
  name: string;
  info: ServiceMethodInfo;
  declaration: MethodDeclaration;
}

/** The service's public methods that have a name a request can carry (not `[Symbol.iterator]`, say). */
export function exposedMethods(methods: ServiceMethodInfo[], service: ServiceInfo): ExposedMethod[] {
  const out: ExposedMethod[] = [];
  for (const info of methods) {
    const declaration = service.declaration.getInstanceMethod(info.name) ?? findInherited(service, info.name);
    const name = declaration?.getSymbol()?.getName();
    if (!declaration || !name || name === '__computed' || name.startsWith('__@')) continue;
    out.push({ name, info, declaration });
  }
  return out;
}

function findInherited(service: ServiceInfo, name: string): MethodDeclaration | undefined {
  for (let c = service.declaration.getBaseClass(); c; c = c.getBaseClass()) {
    const found = c.getInstanceMethod(name);
    if (found) return found;
  }
  return undefined;
}

export function signature(method: ExposedMethod) {
  const type = `Args<${quote(method.name)}>`;
  const parameters = method.declaration.getParameters();
  const rest = parameters.some((p) => p.isRestParameter());
  const params: OptionalKind<ParameterDeclarationStructure>[] = rest
    ? [{ name: 'args', isRestParameter: true, type }]
    : parameters.map((p, i) => ({ name: parameterName(p.getName(), i), hasQuestionToken: p.isOptional() || p.hasInitializer(), type: `${type}[${i}]` }));
  const args = rest ? '...args' : params.map((p) => p.name).join(', ');
  return { params, args };
}

/** Names the generated method bodies use themselves, which a parameter must not shadow. */
const BODY_NAMES = new Set(['methods', 'controls']);

/** The user's parameter name where it is a plain one (not a destructuring pattern, not a name the body needs). */
function parameterName(name: string, index: number): string {
  return isIdentifierName(name) && !BODY_NAMES.has(name) ? name : `arg${index}`;
}

// Which state objects each service method may touch, through its private helpers too: the generated
// service brackets a method with startA/commitA on exactly those. A method touches a state object when
// its body (or a helper's it calls on `this`) names `this.<field>`; which of those it updates comes from
// the state classes' update methods and from writes through the field. Also finds state escaping the
// service (stored where a later request, or no request, could change it), which cannot be made durable.
import { Node, SyntaxKind, type ClassDeclaration, type MethodDeclaration } from 'ts-morph';
import { diagnostic, type Diagnostic } from '../../mappings/index.js';
import type { ServiceInfo } from './model.js';
import { locate } from './state-class.js';

export interface ServiceMethodInfo {
  name: string;
  /** State fields it may read or update, in declaration order. */
  touches: string[];
  /** The subset it may update. */
  updates: string[];
  isAsync: boolean;
  parameters: string[];
}

export function readServiceMethods(service: ServiceInfo): { methods: ServiceMethodInfo[]; diagnostics: Diagnostic[] } {
  const fields = service.stateFields.filter((f) => !f.rejected).map((f) => f.name);
  const fieldSet = new Set(fields);
  const diagnostics: Diagnostic[] = [];
  const all = new Map<string, MethodDeclaration>();
  for (let c: ClassDeclaration | undefined = service.declaration; c; c = c.getBaseClass()) {
    for (const m of c.getInstanceMethods()) if (!all.has(m.getName())) all.set(m.getName(), m);
  }

  const direct = new Map<string, { touches: Set<string>; updates: Set<string>; calls: Set<string> }>();
  for (const [name, method] of all) {
    const touches = new Set<string>();
    const updates = new Set<string>();
    const calls = new Set<string>();
    method.forEachDescendant((node) => {
      const field = stateFieldOf(node, fieldSet);
      if (field) {
        touches.add(field);
        if (isUpdate(node, field, service)) updates.add(field);
        const escape = escapeOf(node);
        if (escape) {
          diagnostics.push(
            diagnostic('DUR2015', `${service.name}.${name} stores the state object '${field}' (or something inside it) in ${escape}, outside any request: a later change through it would bypass durability. Keep state inside its state object and copy what you hand out.`, locate(node)),
          );
        }
      } else if (Node.isPropertyAccessExpression(node) && Node.isThisExpression(node.getExpression()) && all.has(node.getName())) {
        calls.add(node.getName());
      }
    });
    direct.set(name, { touches, updates, calls });
  }

  const closure = (name: string, seen: Set<string>, key: 'touches' | 'updates'): Set<string> => {
    const own = direct.get(name)!;
    const out = new Set(own[key]);
    seen.add(name);
    for (const callee of own.calls) if (!seen.has(callee)) for (const f of closure(callee, seen, key)) out.add(f);
    return out;
  };

  const methods: ServiceMethodInfo[] = [];
  for (const [name, method] of all) {
    if (method.hasModifier(SyntaxKind.PrivateKeyword) || method.hasModifier(SyntaxKind.ProtectedKeyword) || name.startsWith('#')) continue;
    const touches = closure(name, new Set(), 'touches');
    const updates = closure(name, new Set(), 'updates');
    methods.push({
      name,
      touches: fields.filter((f) => touches.has(f)),
      updates: fields.filter((f) => updates.has(f)),
      isAsync: method.isAsync(),
      parameters: method.getParameters().map((p) => p.getName()),
    });
  }
  return { methods, diagnostics };
}

/** `this.field` (or `this['field']`) naming a state field: the node that reads it. */
function stateFieldOf(node: Node, fields: ReadonlySet<string>): string | undefined {
  if (Node.isPropertyAccessExpression(node) && Node.isThisExpression(node.getExpression()) && fields.has(node.getName())) return node.getName();
  if (Node.isElementAccessExpression(node) && Node.isThisExpression(node.getExpression())) {
    const arg = node.getArgumentExpression();
    if (arg && Node.isStringLiteral(arg) && fields.has(arg.getLiteralValue())) return arg.getLiteralValue();
  }
  return undefined;
}

/** Whether this use of `this.field` calls an update method of its class, or writes below it. */
function isUpdate(node: Node, field: string, service: ServiceInfo): boolean {
  const stateClass = service.stateFields.find((f) => f.name === field)?.stateClass;
  const parent = node.getParent();
  if (parent && Node.isPropertyAccessExpression(parent) && parent.getExpression() === node) {
    const call = parent.getParent();
    if (call && Node.isCallExpression(call) && call.getExpression() === parent) return stateClass?.methods.get(parent.getName())?.updates !== undefined;
  }
  // A write anywhere along `this.field.a.b = …` or `this.field.list.push(…)`.
  const top = outermostAccess(node);
  const above = top.getParent();
  if (above && Node.isBinaryExpression(above) && above.getLeft() === top && above.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && above.getOperatorToken().getKind() <= SyntaxKind.LastAssignment) return top !== node;
  return false;
}

/**
 * Where a state reference is stored beyond the request: a module-level variable or a field of the
 * service that is not a state field. Returns a description, or undefined when it stays local.
 */
function escapeOf(node: Node): string | undefined {
  const top = outermostAccess(node);
  const assignment = top.getParent();
  if (!assignment || !Node.isBinaryExpression(assignment) || assignment.getRight() !== top || assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return undefined;
  const target = assignment.getLeft();
  if (Node.isIdentifier(target)) {
    const declaration = target.getSymbol()?.getDeclarations()[0];
    const isModuleLevel = declaration && Node.isVariableDeclaration(declaration) && declaration.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isClassDeclaration(a)) === undefined;
    return isModuleLevel ? `the module-level variable '${target.getText()}'` : undefined;
  }
  if (Node.isPropertyAccessExpression(target) && Node.isThisExpression(target.getExpression())) return `the service field '${target.getName()}'`;
  if (Node.isPropertyAccessExpression(target) && target.getExpression().getText() === 'globalThis') return `globalThis.${target.getName()}`;
  return undefined;
}

/** `this.field` → the whole `this.field.a[b]!.c` it begins. */
function outermostAccess(node: Node): Node {
  let top = node;
  for (;;) {
    const parent = top.getParent();
    if (!parent) return top;
    const continues =
      (Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent) || Node.isNonNullExpression(parent)) && parent.getExpression() === top;
    if (!continues) return top;
    top = parent;
  }
}

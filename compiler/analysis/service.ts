// Finds the service class and its `@state` fields. The decorator is recognised by where it is imported
// from ('durability-compiler', under any local name or through a namespace import), not by its spelling,
// so an unrelated decorator that happens to be called `state` is left alone.
import { Node, type ClassDeclaration, type Decorator, type PropertyDeclaration, type SourceFile } from 'ts-morph';
import { diagnostic, type Diagnostic } from '../../mappings/index.js';
import { classMembers } from './classes.js';
import { Analysis } from './analysis.js';
import type { ServiceInfo, StateFieldInfo } from './model.js';
import { locate, readStateClass } from './state-class.js';

import { PACKAGE_NAME } from '../package-root.js';

export { PACKAGE_NAME };

export function exportedClasses(sourceFile: SourceFile): ClassDeclaration[] {
  return sourceFile.getClasses().filter((c) => c.isExported() && c.getName() !== undefined);
}

const analyses = new WeakMap<ServiceInfo, Analysis>();

/** The analysis a service was read with: its state objects' roots and every summary computed so far. */
export function analysisOf(service: ServiceInfo): Analysis {
  let analysis = analyses.get(service);
  if (!analysis) analyses.set(service, (analysis = new Analysis()));
  return analysis;
}

export function readService(declaration: ClassDeclaration): { service: ServiceInfo; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const analysis = new Analysis();
  analysis.serviceMembers = classMembers(declaration);
  const isStateDecorator = stateDecoratorMatcher(declaration.getSourceFile());
  const stateFields: StateFieldInfo[] = [];

  for (const member of declaration.getMembers()) {
    if (!Node.isDecoratable(member)) continue;
    const marker = member.getDecorators().find(isStateDecorator);
    if (!marker) continue;
    if (Node.isCallExpression(marker.getExpression())) {
      diagnostics.push(diagnostic('DUR2013', 'Write @state without parentheses: it is a decorator, not a decorator factory.', locate(marker)));
      if (Node.isPropertyDeclaration(member)) stateFields.push(rejectedField(member));
      continue;
    }
    if (!Node.isPropertyDeclaration(member) || member.isStatic() || member.getName().startsWith('#')) {
      const what = !Node.isPropertyDeclaration(member)
        ? describeMember(member)
        : member.isStatic()
          ? 'a static field'
          : `the #private field ${member.getName()}, which the generated service cannot reach (use \`private\`)`;
      diagnostics.push(diagnostic('DUR2013', `@state marks ${what}; it belongs on an instance field that holds a state object (e.g. \`@state counter = new Counter();\`).`, locate(marker)));
      if (Node.isPropertyDeclaration(member)) stateFields.push(rejectedField(member));
      continue;
    }
    // The name as the mapping writes it: 'quoted' names without their quotes.
    const name = member.getSymbol()?.getName() ?? member.getName();
    const type = member.getType().getNonNullableType();
    const declarations = type.getSymbol()?.getDeclarations() ?? [];
    const classDeclaration = declarations.find((d): d is ClassDeclaration => Node.isClassDeclaration(d));
    const isClassExpression = declarations.some((d) => Node.isClassExpression(d));
    const field: StateFieldInfo = { name, declaration: member, typeText: type.getText(member), ...locate(member.getNameNode()) };
    const sourceFile = classDeclaration?.getSourceFile();
    if (!classDeclaration || !sourceFile || sourceFile.isDeclarationFile() || sourceFile.isInNodeModules()) {
      const why = classDeclaration
        ? 'is declared outside your sources, so its methods cannot be analysed'
        : isClassExpression
          ? 'is a class expression; declare the state class by name at module level'
          : 'is not a class';
      diagnostics.push(
        diagnostic(
          'DUR2008',
          `State field '${name}' has type '${field.typeText}', which ${why}. A state object is an instance of a class of your own (wrap the data in one, e.g. \`class Accounts { balances = new Map<string, number>(); … }\`), or remove @state.`,
          locate(member.getNameNode()),
        ),
      );
    } else {
      field.stateClass = readStateClass(classDeclaration, analysis);
      const key = analysis.addRoot({ key: `field:${name}`, kind: 'field', name, members: classMembers(classDeclaration) });
      analysis.stateFields.set(name, key);
    }
    if (!field.stateClass) field.rejected = true;
    stateFields.push(field);
  }
  const service: ServiceInfo = { name: declaration.getName()!, declaration, ...locate(declaration.getNameNode() ?? declaration), stateFields };
  analyses.set(service, analysis);
  return { service, diagnostics };
}

/** A field whose @state was reported: kept so the mapping's entry for it is not reported as well. */
function rejectedField(member: PropertyDeclaration): StateFieldInfo {
  return { name: member.getSymbol()?.getName() ?? member.getName(), declaration: member, typeText: '', rejected: true, ...locate(member.getNameNode()) };
}

function describeMember(member: Node): string {
  if (Node.isMethodDeclaration(member)) return `the method '${member.getName()}'`;
  if (Node.isGetAccessorDeclaration(member) || Node.isSetAccessorDeclaration(member)) return `the accessor '${member.getName()}'`;
  return 'a member that is not a field';
}

/** Recognises `@state` (or its alias) imported from the package, and `@ns.state` of a namespace import. */
function stateDecoratorMatcher(sourceFile: SourceFile): (decorator: Decorator) => boolean {
  const localNames = new Set<string>();
  const namespaces = new Set<string>();
  for (const declaration of sourceFile.getImportDeclarations()) {
    if (declaration.getModuleSpecifierValue() !== PACKAGE_NAME) continue;
    for (const named of declaration.getNamedImports()) {
      if (named.getName() === 'state') localNames.add(named.getAliasNode()?.getText() ?? 'state');
    }
    const namespace = declaration.getNamespaceImport();
    if (namespace) namespaces.add(namespace.getText());
  }
  return (decorator) => {
    let expression = decorator.getExpression();
    if (Node.isCallExpression(expression)) expression = expression.getExpression(); // @state(), reported
    if (Node.isIdentifier(expression)) return localNames.has(expression.getText());
    if (Node.isPropertyAccessExpression(expression)) {
      return expression.getName() === 'state' && namespaces.has(expression.getExpression().getText());
    }
    return false;
  };
}

// `#private` members in the build's copy of the user's sources become members keyed by registered
// symbols. A class's methods run with `this` bound to a durability proxy when its instances are state,
// and a Proxy has no private names: `this.#balance` would throw "Cannot read private member". A member
// keyed by `Symbol.for('durable#private:<file>:<Class>#balance')` is one the proxy forwards and records,
// and that replication ships by key. Each class gets its own symbol per name, so a subclass's `#x` stays
// a different member from its base's; the member is declared `private` (and its symbol is not exported),
// so the class is as closed to other code at the type level as before.
//
//   #x = 0          →  private [$x_Account] = 0        (fields, methods, accessors, static ones)
//   o.#x, o?.#x     →  o[$x_Account], o?.[$x_Account]
//   #x in o         →  $hasOwnPrivate<Account>(o, $x_Account)   (fields, static members: own property)
//                      $hasPrivate<Account>(o, $m_Account)      (methods, accessors: on the prototype)
//
// Private names are lexically scoped, so resolving one is syntactic: the innermost enclosing class that
// declares it. The edits are made on the syntax tree's positions and applied to the text at once.
import { ts, type SourceFile } from 'ts-morph';
import { quote } from './names.js';
import { applyEdits, openingEnd, type TextEdit } from './text-edits.js';

export interface PrivateNameOptions {
  /** The file's path relative to the sources' root, in the symbols' keys ('model/account.ts'). */
  relativePath: string;
  /** Whether fields are defined (the default from ES2022) or assigned in the constructor. */
  useDefineForClassFields: boolean;
}

interface PrivateMember {
  name: string; // '#x'
  isStatic: boolean;
  /** Fields (and auto-accessors' storage) live on the object; methods and accessors on the prototype. */
  isField: boolean;
  /** One, or a getter and its setter. */
  declarations: ts.ClassElement[];
}

interface RewrittenClass {
  node: ts.ClassLikeDeclaration;
  /** How the class is named in code (its own name, or one it is given for a brand check's type). */
  typeName: string;
  typeArity: number;
  members: Map<string, PrivateMember & { symbol: string }>;
}

/** Rewrites every `#name` of the file; returns whether anything changed. */
export function rewritePrivateNames(file: SourceFile, options: PrivateNameOptions): boolean {
  const source = file.compilerNode;
  const classes = privateClasses(source);
  if (classes.length === 0) return false;
  const checker = file.getProject().getTypeChecker().compilerObject;
  const taken = identifiersOf(source);
  const fresh = (wanted: string) => {
    let name = wanted;
    for (let i = 2; taken.has(name); i++) name = `${wanted}_${i}`;
    taken.add(name);
    return name;
  };

  const edits: TextEdit[] = [];
  const declarations: string[] = [];
  const keysUsed = new Map<string, number>();
  const rewritten = new Map<ts.ClassLikeDeclaration, RewrittenClass>();
  for (const { node, members } of classes) {
    const inferred = inferredName(node);
    const label = node.name?.text ?? (inferred || 'anonymous');
    const occurrence = (keysUsed.get(label) ?? 0) + 1;
    keysUsed.set(label, occurrence);
    const keyLabel = occurrence === 1 ? label : `${label}@${occurrence}`;
    const entry: RewrittenClass = { node, typeName: node.name?.text ?? '', typeArity: node.typeParameters?.length ?? 0, members: new Map() };
    for (const member of members) {
      const symbol = fresh(`$${member.name.slice(1)}_${identifierSafe(label)}`);
      declarations.push(`const ${symbol}: unique symbol = Symbol.for(${quote(`durable#private:${options.relativePath}:${keyLabel}${member.isStatic ? '.' : '#'}${member.name.slice(1)}`)});`);
      entry.members.set(member.name, { ...member, symbol });
      for (const declaration of member.declarations) edits.push(...declarationEdits(declaration, symbol, options, checker, source));
    }
    rewritten.set(node, entry);
  }

  const helpers = { field: '', proto: '' };
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isPrivateIdentifier(node.name)) {
      const member = resolve(node.name, rewritten);
      if (node.questionDotToken) edits.push({ start: node.name.getStart(source), end: node.name.end, text: `[${member.symbol}]` });
      else
        edits.push({
          start: node
            .getChildren(source)
            .find((c) => c.kind === ts.SyntaxKind.DotToken)!
            .getStart(source),
          end: node.name.end,
          text: `[${member.symbol}]`,
        });
    } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.InKeyword && ts.isPrivateIdentifier(node.left)) {
      const member = resolve(node.left, rewritten);
      const owner = [...rewritten.values()].find((c) => c.members.get(member.name) === member)!;
      const own = member.isField || member.isStatic;
      const helper = own ? (helpers.field ||= fresh('$hasOwnPrivate')) : (helpers.proto ||= fresh('$hasPrivate'));
      edits.push({ start: node.left.getStart(source), end: node.right.getStart(source), text: `${helper}<${brandType(owner, member.isStatic, fresh, edits, source)}>(` });
      edits.push({ start: node.right.end, end: node.right.end, text: `, ${member.symbol})` });
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);

  const header = [
    "// The private names of this file's classes as registered symbols: members that durability proxies",
    '// can see and that replication ships by key (written by durable compile).',
    ...declarations,
  ];
  if (helpers.field) {
    header.push(
      `/** \`#field in object\` (and a static member's): the member is the object's own. */`,
      `function ${helpers.field}<T extends object>(object: object, key: symbol): object is T {`,
      '  return key in object && Object.prototype.hasOwnProperty.call(object, key);',
      '}',
    );
  }
  if (helpers.proto) {
    header.push(
      `/** \`#method in object\`: the object has the class's prototype methods. */`,
      `function ${helpers.proto}<T extends object>(object: object, key: symbol): object is T {`,
      '  return key in object;',
      '}',
    );
  }
  const at = openingEnd(source);
  edits.push({ start: at, end: at, text: at > 0 ? `\n\n${header.join('\n')}` : `${header.join('\n')}\n\n` });
  file.replaceWithText(applyEdits(source.text, edits));
  return true;
}

/** The classes of the file that declare private names, outermost first. */
function privateClasses(source: ts.SourceFile): { node: ts.ClassLikeDeclaration; members: PrivateMember[] }[] {
  const out: { node: ts.ClassLikeDeclaration; members: PrivateMember[] }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassLike(node)) {
      const members: PrivateMember[] = [];
      for (const element of node.members) {
        if (!element.name || !ts.isPrivateIdentifier(element.name)) continue;
        const name = element.name.text;
        const isStatic = !!(ts.getCombinedModifierFlags(element as ts.Declaration) & ts.ModifierFlags.Static);
        const pair = members.find((m) => m.name === name);
        if (pair)
          pair.declarations.push(element); // a getter and its setter
        else members.push({ name, isStatic, isField: ts.isPropertyDeclaration(element), declarations: [element] });
      }
      if (members.length > 0) out.push({ node, members });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The member a `#name` refers to: declared by the innermost enclosing class that has it. */
function resolve(name: ts.PrivateIdentifier, classes: Map<ts.ClassLikeDeclaration, RewrittenClass>) {
  for (let node: ts.Node | undefined = name.parent; node; node = node.parent) {
    if (!ts.isClassLike(node)) continue;
    const member = classes.get(node)?.members.get(name.text);
    if (member) return member;
  }
  // The user's sources type-check before they are copied, so every private name resolves.
  throw new Error(`${name.text} at ${name.getSourceFile().fileName}:${name.pos} names no private member of an enclosing class: a bug in durability-compiler.`);
}

/** `#x` in its declaration becomes `[$x_Account]`, declared private, and keeps its type. */
function declarationEdits(element: ts.ClassElement, symbol: string, options: PrivateNameOptions, checker: ts.TypeChecker, source: ts.SourceFile): TextEdit[] {
  const name = element.name!;
  const edits: TextEdit[] = [{ start: name.getStart(source), end: name.end, text: `[${symbol}]` }];
  // TypeScript cannot declare a private member in the type of a class that has no name of its own at
  // the top of its module (a class expression, a class made in a function): such a type may reach a
  // declaration file only as an anonymous one (TS4094). There the member stays public, keyed by a
  // symbol that only this file can name, which is as closed to other code.
  if (ts.isClassDeclaration(element.parent) && ts.isSourceFile(element.parent.parent)) {
    const modifiers = ts.canHaveModifiers(element) ? (ts.getModifiers(element) ?? []) : [];
    // Before `static`, `readonly`, `async`, `get`, `*`: after any decorator.
    const first = modifiers[0] ?? element.getChildren(source).find((c) => c.kind !== ts.SyntaxKind.SyntaxList && c.kind !== ts.SyntaxKind.Decorator)!;
    const at = first.getStart(source);
    edits.push({ start: at, end: at, text: 'private ' });
  }
  if (ts.isPropertyDeclaration(element) && !element.initializer) {
    const end = (element.type ?? element.exclamationToken ?? element.questionToken ?? name).end;
    // A field whose type came from the constructor's assignments: computed keys are not followed there.
    const type = element.type ? '' : `: ${checker.typeToString(checker.getTypeAtLocation(element), element, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseFullyQualifiedType)}`;
    // Without define semantics a field with no initializer would not exist until it is assigned, while
    // a #field always exists: give it its undefined.
    const initializer = !options.useDefineForClassFields && !element.questionToken && !element.exclamationToken ? ' = undefined!' : '';
    if (type || initializer) edits.push({ start: end, end, text: type + initializer });
  }
  return edits;
}

/** The type a brand check narrows to: the class's instance type (any type arguments), or its constructor. */
function brandType(owner: RewrittenClass, isStatic: boolean, fresh: (name: string) => string, edits: TextEdit[], source: ts.SourceFile): string {
  if (!owner.typeName) nameAnonymousClass(owner, fresh, edits, source);
  if (isStatic) return `typeof ${owner.typeName}`;
  return owner.typeArity > 0 ? `${owner.typeName}<${Array(owner.typeArity).fill('any').join(', ')}>` : owner.typeName;
}

/**
 * A brand check in an anonymous class needs a name for the class's type: it is given one, and a static
 * block first in its body restores the name JavaScript would have given it (`Foo` for `const Foo = class`).
 */
function nameAnonymousClass(owner: RewrittenClass, fresh: (name: string) => string, edits: TextEdit[], source: ts.SourceFile): void {
  const node = owner.node;
  const keyword = node.getChildren(source).find((c) => c.kind === ts.SyntaxKind.ClassKeyword)!;
  const constant = constantNaming(node);
  // `const Foo = class {}` may be `const Foo = class Foo {}`: inside, Foo is the same class either way.
  owner.typeName = constant ?? fresh(`$${identifierSafe(inferredName(node) || 'Anonymous')}Class`);
  edits.push({ start: keyword.end, end: keyword.end, text: ` ${owner.typeName}` });
  if (constant) return;
  const brace = node.getChildren(source).find((c) => c.kind === ts.SyntaxKind.OpenBraceToken)!;
  edits.push({ start: brace.end, end: brace.end, text: `\n  static { Object.defineProperty(this, 'name', { value: ${quote(inferredName(node))}, configurable: true }); }` });
}

/** `Foo` for `const Foo = class {…}`. */
function constantNaming(node: ts.ClassLikeDeclaration): string | undefined {
  const site = node.parent;
  if (!ts.isVariableDeclaration(site) || site.initializer !== node || !ts.isIdentifier(site.name)) return undefined;
  return ts.isVariableDeclarationList(site.parent) && site.parent.flags & ts.NodeFlags.Const ? site.name.text : undefined;
}

/** The name JavaScript gives an anonymous class from where it stands (`const Foo = class {}`), or ''. */
function inferredName(node: ts.ClassLikeDeclaration): string {
  if (node.name) return node.name.text;
  if (ts.isClassDeclaration(node)) return 'default';
  let site: ts.Node = node.parent;
  while (ts.isParenthesizedExpression(site) || ts.isAsExpression(site) || ts.isSatisfiesExpression(site) || ts.isNonNullExpression(site)) site = site.parent;
  if (
    (ts.isVariableDeclaration(site) || ts.isPropertyAssignment(site) || ts.isPropertyDeclaration(site) || ts.isParameter(site) || ts.isBindingElement(site)) &&
    site.name &&
    ts.isIdentifier(site.name)
  )
    return site.name.text;
  if (ts.isPropertyAssignment(site) && ts.isStringLiteral(site.name)) return site.name.text;
  if (ts.isBinaryExpression(site) && site.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(site.left)) return site.left.text;
  if (ts.isExportAssignment(site)) return 'default';
  return '';
}

function identifierSafe(text: string): string {
  return text.replace(/[^\w$]/g, '_');
}

/** Every identifier written in the file, so that a generated name never shadows or is shadowed by one. */
function identifiersOf(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

// `durable compile`: check, then write build/primary and build/backup (the service's sources with the
// `@state` decorators removed, the mapping as data, the generated service module), type-check them with
// the TypeScript compiler, emit JavaScript and declarations, and write build/manifest.json.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { IndentationText, Node, Project, QuoteKind, ts, VariableDeclarationKind, type SourceFile } from 'ts-morph';
import { diagnostic, hasErrors, type Diagnostic, type DurabilityMapping } from '../mappings/index.js';
import type { ServiceInfo } from './analysis/model.js';
import { PACKAGE_NAME } from './analysis/service.js';
import { checkService } from './check.js';
import { importSeeingBuiltins } from './generate/import-builtins.js';
import { withColumnTypes } from './generate/column-types.js';
import { writeServiceModule, type Role } from './generate/service-module.js';
import { rewritePrivateNames } from './generate/transform-private.js';
import { nodeResolvesPackage, SELF, withSelfPath } from './self-package.js';
import { pointMapAtOriginal } from './emit/source-maps.js';
import { applyEdits, type TextEdit } from './generate/text-edits.js';
import { describeService } from './inspect.js';

export interface CompileResult {
  diagnostics: Diagnostic[];
  /** The files written, relative to the output directory. */
  files: string[];
}

class CompilerBugError extends Error {}

const ROLES: Role[] = ['primary', 'backup'];

export async function compileService(serviceFile: string, mappingFile: string, outDir: string, version: string): Promise<CompileResult> {
  const checked = await checkService(serviceFile, mappingFile);
  if (hasErrors(checked.diagnostics) || !checked.service || !checked.mapping || !checked.methods || !checked.project?.sourceFile) {
    return { diagnostics: checked.diagnostics, files: [] };
  }
  const { service, mapping, methods } = checked;
  const sources = userSources(checked.project.sourceFile);
  // The service must type-check as its author wrote it (with their options); after that, a type error in
  // a build is the compiler's own.
  const userErrors = checked.project.project.getPreEmitDiagnostics().filter((d) => d.getCategory() === ts.DiagnosticCategory.Error && sources.includes(d.getSourceFile()!));
  if (userErrors.length > 0) return { diagnostics: [...checked.diagnostics, ...userErrors.slice(0, 20).map(typeError)], files: [] };
  const root = commonDirectory(sources.map((s) => s.getFilePath()));
  const out = path.resolve(outDir);
  await rm(path.join(out, 'primary'), { recursive: true, force: true });
  await rm(path.join(out, 'backup'), { recursive: true, force: true });
  // The builds are ES modules whatever the user's project says: under a package.json of type commonjs
  // (npm init's default) Node would read the copied sources as CommonJS. Their own package.json says so
  // (written first: it is the one Node reads from the builds, also when resolving the package by name).
  const esmMarker = nearestPackageType(out) === 'module' ? undefined : 'package.json';
  if (esmMarker) {
    await mkdir(out, { recursive: true });
    await writeFile(
      path.join(out, esmMarker),
      JSON.stringify({ private: true, type: 'module', description: `Builds of ${path.basename(serviceFile)} made by durability-compiler: ES modules.` }, null, 2) + '\n',
    );
  }

  // The builds import the run-time by name where Node will find it from there, else from this
  // installation by path, so that a build always runs.
  const resolvesPackage = nodeResolvesPackage(out);
  const runtimeFrom = (dir: string) => (resolvesPackage ? PACKAGE_NAME : relativeSpecifier(dir, SELF.js));
  const runtimeImport = runtimeFrom(path.join(out, 'primary'));
  // Repeated calls read clocks and random sources through wrappers installed before the service loads.
  const repeats = mapping.states.some((s) => s.mechanism === 'replication' && (s.update === 'repeat' || s.methods.some((m) => m.update === 'repeat')));
  const replayImport = repeats ? (resolvesPackage ? `${PACKAGE_NAME}/replay` : relativeSpecifier(path.join(out, 'primary'), path.join(path.dirname(SELF.js), 'replay.js'))) : undefined;
  const files: string[] = [];
  for (const role of ROLES) {
    const dir = path.join(out, role);
    const project = new Project({
      compilerOptions: withSelfPath(buildOptions(checked.project.project.getCompilerOptions()), path.join(dir, 'service.mts')),
      manipulationSettings: { quoteKind: QuoteKind.Single, indentationText: IndentationText.TwoSpaces },
    });
    const copies = sources.map((s) => project.createSourceFile(path.join(dir, 'source', path.relative(root, s.getFilePath())), s.getFullText(), { overwrite: true }));
    for (const [i, copy] of copies.entries()) {
      removeStateDecorators(copy);
      importSeeingBuiltins(copy, runtimeFrom(path.dirname(copy.getFilePath())));
      const relativePath = path.relative(root, sources[i]!.getFilePath()).split(path.sep).join('/');
      rewritePrivateNames(copy, { relativePath, useDefineForClassFields: project.getCompilerOptions().useDefineForClassFields ?? true });
    }
    const serviceCopy = copies[sources.indexOf(checked.project.sourceFile)]!;
    const header = headerFor(role, service.name, serviceFile, mappingFile, version);
    writeMappingModule(project.createSourceFile(path.join(dir, 'mapping.mts'), '', { overwrite: true }), withColumnTypes(mapping, service), mappingFile, runtimeImport);
    const serviceModule = project.createSourceFile(path.join(dir, 'service.mts'), '', { overwrite: true });
    writeServiceModule(serviceModule, {
      role,
      service,
      methods,
      sourceImport: importPath(dir, serviceCopy),
      classes: stateClasses(service, sources, copies, dir),
      reexports: exportsBesides(serviceCopy, service.name),
      runtimeImport,
      replayImport,
    });
    for (const generated of [serviceModule, project.getSourceFileOrThrow(path.join(dir, 'mapping.mts'))]) {
      generated.formatText({ indentSize: 2 });
      generated.insertText(0, header + '\n\n'); // above the imports
    }

    const problems = project.getPreEmitDiagnostics().filter((d) => d.getCategory() === ts.DiagnosticCategory.Error);
    if (problems.length > 0) {
      throw new CompilerBugError(`the generated ${role} build does not type-check, which is a bug in durability-compiler:\n${project.formatDiagnosticsWithColorAndContext(problems.slice(0, 5))}`);
    }
    await project.save();
    const emitted = await project.emit();
    const emitProblems = emitted.getDiagnostics();
    if (emitProblems.length > 0) throw new CompilerBugError(`emitting the ${role} build failed: ${project.formatDiagnosticsWithColorAndContext(emitProblems)}`);
    for (const [i, copy] of copies.entries()) await pointMapAtOriginal(emittedJs(copy.getFilePath()) + '.map', sources[i]!.getFilePath(), sources[i]!.getFullText(), copy.getFullText());
    for (const f of project.getSourceFiles()) {
      const rel = path.relative(out, f.getFilePath());
      files.push(rel, emittedJs(rel), emittedJs(rel) + '.map', rel.replace(/\.mts$/, '.d.mts').replace(/\.ts$/, '.d.ts'));
    }
  }
  await mkdir(out, { recursive: true });
  const manifest = { generatedBy: `durability-compiler ${version}`, source: path.basename(serviceFile), mapping: path.basename(mappingFile), ...describeService(service, methods, mapping) };
  await writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  files.push('manifest.json');
  if (esmMarker) files.push(esmMarker);
  return { diagnostics: checked.diagnostics, files: files.sort() };
}

/** The module type Node gives .js files in `dir`: its nearest package.json's "type" (commonjs without one). */
function nearestPackageType(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    const file = path.join(at, 'package.json');
    if (existsSync(file)) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type ?? 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (path.dirname(at) === at) return 'commonjs';
  }
}

/** The user's own source files the service module reaches (not libraries, not declarations). */
function userSources(entry: SourceFile): SourceFile[] {
  const seen = new Set<SourceFile>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    for (const ref of queue.shift()!.getReferencedSourceFiles()) {
      if (seen.has(ref) || ref.isInNodeModules() || ref.isDeclarationFile() || ref.isFromExternalLibrary()) continue;
      seen.add(ref);
      queue.push(ref);
    }
  }
  return [...seen];
}

function commonDirectory(files: string[]): string {
  let dir = path.dirname(files[0]!);
  while (!files.every((f) => f.startsWith(dir + path.sep))) dir = path.dirname(dir);
  return dir;
}

/** The user's options, but emitting ES modules with declarations beside the sources, decorators gone. */
function buildOptions(user: ts.CompilerOptions): ts.CompilerOptions {
  return {
    ...user,
    noEmit: false,
    emitDeclarationOnly: false,
    declaration: true,
    declarationMap: false,
    sourceMap: true, // re-pointed at the user's files after emit (emit/source-maps.ts)
    inlineSourceMap: false,
    inlineSources: false,
    outDir: undefined,
    rootDir: undefined,
    composite: false,
    incremental: false,
    tsBuildInfoFile: undefined,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: user.target && user.target >= ts.ScriptTarget.ES2022 ? user.target : ts.ScriptTarget.ES2022,
    skipLibCheck: true,
  };
}

/** Drops `@state` (the build carries no decorators, so it runs under any decorator setting). */
function removeStateDecorators(file: SourceFile): void {
  const names = new Set<string>();
  for (const decl of file.getImportDeclarations()) {
    if (decl.getModuleSpecifierValue() !== PACKAGE_NAME) continue;
    for (const named of decl.getNamedImports()) if (named.getName() === 'state') names.add(named.getAliasNode()?.getText() ?? 'state');
    const ns = decl.getNamespaceImport()?.getText();
    if (ns) names.add(`${ns}.state`);
  }
  if (names.size === 0) return;
  // As text edits, the decorator's own characters only: ts-morph's remove() rewrites the member and
  // fails on a comment between the decorator and the field; the lines stay where they were.
  const edits: TextEdit[] = [];
  for (const cls of file.getClasses()) {
    for (const member of cls.getMembers()) {
      if (!Node.isDecoratable(member)) continue;
      for (const d of member.getDecorators()) if (names.has(d.getExpression().getText())) edits.push({ start: d.getStart(), end: d.getEnd(), text: '' });
    }
  }
  if (edits.length > 0) file.replaceWithText(applyEdits(file.getFullText(), edits));
  for (const decl of file.getImportDeclarations()) {
    if (decl.getModuleSpecifierValue() !== PACKAGE_NAME) continue;
    for (const named of decl.getNamedImports()) if (named.getName() === 'state') named.remove();
    if (decl.getNamedImports().length === 0 && !decl.getNamespaceImport() && !decl.getDefaultImport()) decl.remove();
  }
}

/** The JavaScript file TypeScript emits for a source file. */
function emittedJs(file: string): string {
  return file
    .replace(/\.mts$/, '.mjs')
    .replace(/\.cts$/, '.cjs')
    .replace(/\.tsx?$/, '.js');
}

function relativeSpecifier(fromDir: string, file: string): string {
  const rel = path.relative(fromDir, file).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : './' + rel;
}

function importPath(fromDir: string, file: SourceFile): string {
  const rel = path.relative(fromDir, file.getFilePath()).split(path.sep).join('/');
  return './' + rel.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs');
}

/** Exported classes of the user's sources, which state may hold: for the replicas' class registry. */
function stateClasses(service: ServiceInfo, sources: SourceFile[], copies: SourceFile[], dir: string) {
  const out: { name: string; module: string }[] = [];
  const seen = new Set<string>();
  sources.forEach((source, i) => {
    for (const cls of source.getClasses()) {
      const name = cls.getName();
      if (!name || !cls.isExported() || name === service.name || seen.has(name)) continue;
      seen.add(name);
      out.push({ name, module: importPath(dir, copies[i]!) });
    }
  });
  return out;
}

function exportsBesides(file: SourceFile, serviceName: string): { values: string[]; types: string[] } {
  const values: string[] = [];
  const types: string[] = [];
  for (const [name, declarations] of file.getExportedDeclarations()) {
    if (name === serviceName || name === 'default') continue;
    const isType = declarations.every((d) => Node.isInterfaceDeclaration(d) || Node.isTypeAliasDeclaration(d));
    (isType ? types : values).push(name);
  }
  return { values: values.sort(), types: types.sort() };
}

function writeMappingModule(file: SourceFile, mapping: DurabilityMapping, mappingFile: string, runtimeImport: string): void {
  file.addImportDeclaration({ moduleSpecifier: runtimeImport, namedImports: [{ name: 'DurabilityMapping', isTypeOnly: true }] });
  const data = { ...mapping, file: path.basename(mappingFile) };
  file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The durability mapping, parsed and checked: SQL as text and bound-parameter references, never spliced.'],
    declarations: [{ name: 'mapping', type: 'DurabilityMapping', initializer: readableJson(data) }],
  });
}

/** JSON with positions and SQL segments kept on one line each, so the mapping reads as the XML did. */
function readableJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => typeof v !== 'object' || v === null || isInline(v))) return `[${value.map((v) => readableJson(v)).join(', ')}]`;
    return `[\n${value.map((v) => `${indent}  ${readableJson(v, indent + '  ')}`).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (isInline(value)) return `{ ${entries.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')} }`;
    return `{\n${entries.map(([k, v]) => `${indent}  ${k}: ${readableJson(v, indent + '  ')}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** Small flat objects (positions, argument references) print on one line. */
function isInline(value: object): boolean {
  return Object.values(value).every((v) => typeof v !== 'object' || v === null || (Array.isArray(v) && v.every((x) => typeof x !== 'object'))) && Object.keys(value).length <= 5;
}

function headerFor(role: Role, serviceName: string, serviceFile: string, mappingFile: string, version: string): string {
  const rel = (f: string) => path.relative(process.cwd(), path.resolve(f)).split(path.sep).join('/');
  return [
    `// Generated by durability-compiler ${version}: the ${role} build of ${serviceName},`,
    `// from ${rel(serviceFile)} with the durability mapping ${rel(mappingFile)}.`,
    `// Do not edit: change the service or the mapping and run \`durable compile\` again.`,
  ].join('\n');
}

function typeError(d: import('ts-morph').Diagnostic): Diagnostic {
  const file = d.getSourceFile();
  const start = d.getStart();
  const at = file && start !== undefined ? file.getLineAndColumnAtPos(start) : undefined;
  const text = d.getMessageText();
  const message = typeof text === 'string' ? text : ts.flattenDiagnosticMessageText(text.compilerObject, ' ');
  return diagnostic('DUR0004', `${message} (TS${d.getCode()}). The service must type-check before it can be compiled.`, {
    file: file?.getFilePath(),
    position: at && { line: at.line, column: at.column },
  });
}

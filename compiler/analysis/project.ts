// Loads a service module the way the user's own build sees it: the nearest tsconfig.json above the
// service file decides the compiler options (decorator flavour included), and the module's imports are
// resolved so that state classes in other files are found. Without a tsconfig.json, the type packages
// in node_modules/@types above the service are included, as tsc up to 5.x did by default (TypeScript 6
// and 7 include none unless `types` names them, so `import … from 'node:crypto'` would not type-check).
import path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Project, ts, type SourceFile } from 'ts-morph';
import { describeFsError, diagnostic, LineMap, type Diagnostic } from '../../mappings/index.js';
import { withSelfPath } from '../self-package.js';

export interface LoadedService {
  project: Project;
  sourceFile?: SourceFile;
  diagnostics: Diagnostic[];
}

const DEFAULT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
};

/**
 * Every node_modules/@types from the service's directory up to the root (nearest first), and the type
 * packages in them: what an older tsc, run beside the service, included without being told.
 */
function typePackagesAbove(directory: string): Pick<ts.CompilerOptions, 'typeRoots' | 'types'> {
  const typeRoots: string[] = [];
  const types = new Set<string>();
  for (let dir = directory; ; dir = path.dirname(dir)) {
    const root = path.join(dir, 'node_modules', '@types');
    if (existsSync(root)) {
      typeRoots.push(root);
      for (const name of safeList(root)) if (hasTypes(path.join(root, name))) types.add(name);
    }
    if (path.dirname(dir) === dir) return { typeRoots, types: [...types] };
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith('.'));
  } catch {
    return [];
  }
}

/** A type package tsc can load: an index.d.ts, or a package.json naming its types. */
function hasTypes(dir: string): boolean {
  if (existsSync(path.join(dir, 'index.d.ts'))) return true;
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { types?: string; typings?: string };
    return typeof (manifest.types ?? manifest.typings) === 'string';
  } catch {
    return false;
  }
}

export function loadServiceProject(serviceFile: string): LoadedService {
  const absolute = path.resolve(serviceFile);
  const tsConfigFilePath = ts.findConfigFile(path.dirname(absolute), ts.sys.fileExists);
  let project: Project;
  try {
    project = tsConfigFilePath
      ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true })
      : new Project({ compilerOptions: { ...DEFAULT_OPTIONS, ...typePackagesAbove(path.dirname(absolute)) } });
    const options = project.getCompilerOptions();
    const resolving = withSelfPath(options, absolute);
    if (resolving !== options) project.compilerOptions.set({ paths: resolving.paths });
  } catch (error) {
    const message = `The TypeScript configuration ${tsConfigFilePath} (the nearest to the service) cannot be read: ${(error as Error).message.replace(/\.$/, '')}. Fix it; check uses the same options your build does.`;
    return { project: new Project({ compilerOptions: DEFAULT_OPTIONS }), diagnostics: [diagnostic('DUR0003', message, { file: tsConfigFilePath })] };
  }

  if (!existsSync(absolute)) {
    return { project, diagnostics: [diagnostic('DUR0001', `Cannot read the service source '${serviceFile}': ${describeFsError({ code: 'ENOENT' })}.`)] };
  }
  let sourceFile: SourceFile;
  try {
    sourceFile = project.addSourceFileAtPath(absolute);
  } catch (error) {
    return { project, diagnostics: [diagnostic('DUR0001', `Cannot read the service source '${serviceFile}': ${describeFsError(error)}.`)] };
  }
  project.resolveSourceFileDependencies();

  const syntax = project.getProgram().compilerObject.getSyntacticDiagnostics(sourceFile.compilerNode);
  if (syntax.length > 0) {
    const lines = new LineMap(sourceFile.getFullText());
    return {
      project,
      diagnostics: syntax.map((d) =>
        diagnostic('DUR0002', `${ts.flattenDiagnosticMessageText(d.messageText, ' ').replace(/\.$/, '')} (TS${d.code}). Fix the service source first; tsc reports the same.`, {
          file: absolute,
          position: lines.position(d.start ?? 0),
        }),
      ),
    };
  }
  return { project, sourceFile, diagnostics: [] };
}

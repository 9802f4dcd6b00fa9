// Loads a service module the way the user's own build sees it: the nearest tsconfig.json above the
// service file decides the compiler options (decorator flavour included), and the module's imports are
// resolved so that state classes in other files are found.
import path from 'node:path';
import { existsSync } from 'node:fs';
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

export function loadServiceProject(serviceFile: string): LoadedService {
  const absolute = path.resolve(serviceFile);
  const tsConfigFilePath = ts.findConfigFile(path.dirname(absolute), ts.sys.fileExists);
  let project: Project;
  try {
    project = tsConfigFilePath
      ? new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true })
      : new Project({ compilerOptions: DEFAULT_OPTIONS });
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

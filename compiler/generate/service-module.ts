// Generates the service module of a build (service.mts): a class named like the user's service that
// owns a ServiceRuntime, points the original service's state fields at their durability proxies, and
// offers each public method as a durable request (async, bracketed by startA/commitA through the
// run-time, rolled back on throw). Built with ts-morph structures; only statement bodies are text.
import { Scope, StructureKind, VariableDeclarationKind, type MethodDeclarationStructure, type SourceFile } from 'ts-morph';
import type { ServiceInfo } from '../analysis/model.js';
import type { ServiceMethodInfo } from '../analysis/service-methods.js';

export type Role = 'primary' | 'backup';

export interface ServiceModuleInput {
  role: Role;
  service: ServiceInfo;
  methods: ServiceMethodInfo[];
  /** Import path of the copied service source, from the generated module ('./source/service.js'). */
  sourceImport: string;
  /** Every class of the copied sources a state object may contain, with the import path of its module. */
  classes: { name: string; module: string }[];
  /** Names the service module exports besides the service class: re-exported, types apart from values. */
  reexports: { values: string[]; types: string[] };
  /** How the build imports the run-time: the package name, or a path to this installation. */
  runtimeImport: string;
}

export function writeServiceModule(file: SourceFile, input: ServiceModuleInput): void {
  const { role, service, methods } = input;
  const name = service.name;
  const fields = service.stateFields.filter((f) => f.stateClass).map((f) => f.name);

  file.addImportDeclaration({
    moduleSpecifier: input.runtimeImport,
    namedImports: [
      'bindStateFields',
      'createClient as createDurableClient',
      'ServiceRuntime',
      { name: 'ClientOptions', isTypeOnly: true },
      { name: 'Outcome', isTypeOnly: true },
      { name: 'RequestContext', isTypeOnly: true },
      { name: 'ServiceOptions', isTypeOnly: true },
      ...(role === 'backup' ? [{ name: 'ReplicationLink', isTypeOnly: true }] : []),
    ],
  });
  file.addImportDeclaration({ moduleSpecifier: input.sourceImport, namespaceImport: 'source' });
  const otherModules = [...new Set(input.classes.map((c) => c.module).filter((m) => m !== input.sourceImport))];
  otherModules.forEach((module, i) => file.addImportDeclaration({ moduleSpecifier: module, namespaceImport: `source${i + 1}` }));
  const qualifier = (module: string) => (module === input.sourceImport ? 'source' : `source${otherModules.indexOf(module) + 1}`);
  file.addImportDeclaration({ moduleSpecifier: './mapping.mjs', namedImports: ['mapping'] });

  if (input.reexports.values.length > 0) file.addExportDeclaration({ moduleSpecifier: input.sourceImport, namedExports: input.reexports.values });
  if (input.reexports.types.length > 0) file.addExportDeclaration({ moduleSpecifier: input.sourceImport, isTypeOnly: true, namedExports: input.reexports.types });

  file.addTypeAlias({ name: 'Source', type: `source.${name}`, docs: [`The service as written, which this module runs.`] });
  file.addTypeAlias({ name: 'Result', typeParameters: [{ name: 'M', constraint: 'keyof Source' }], type: `Source[M] extends (...args: never[]) => infer R ? Promise<Awaited<R>> : never` });

  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The classes whose instances state may hold: what replicas may receive.'],
    declarations: [
      {
        name: 'classes',
        initializer: `new Map<string, new (...args: never[]) => object>([${input.classes.map((c) => `['${c.name}', ${qualifier(c.module)}.${c.name}]`).join(', ')}])`,
      },
    ],
  });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The state objects, and how to make an empty one: the field initializers of the service.'],
    declarations: [
      {
        name: 'stateObjects',
        initializer: `[\n${fields.map((f) => `  { name: '${f}', create: () => new source.${name}().${f} },`).join('\n')}\n]`,
      },
    ],
  });
  file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['Per public method, the state objects it may touch (from the analysis): its startA/commitA set.'],
    declarations: [
      {
        name: 'methods',
        initializer: `{\n${methods.map((m) => `  ${m.name}: [${m.touches.map((t) => `'${t}'`).join(', ')}],`).join('\n')}\n} as const satisfies Record<string, readonly string[]>`,
      },
    ],
  });

  const cls = file.addClass({
    name,
    isExported: true,
    docs: [
      `${name} (${role} build): every state object sits behind its durability proxy, and every method is a\n` +
        `request that is all-or-nothing and answers only once durable. Methods are async here.` +
        (role === 'backup' ? `\nA backup follows its primary and serves only after promote().` : ''),
    ],
  });
  cls.addProperty({ name: 'runtime', isReadonly: true, type: 'ServiceRuntime', docs: ['The run-time: proxies, action control, commit.'] });
  cls.addProperty({ name: '#service', isReadonly: true, type: 'Source' });
  cls.addProperty({ name: '#request', isReadonly: true, type: 'RequestContext' });
  cls.addConstructor({
    scope: Scope.Private,
    parameters: [
      { name: 'runtime', type: 'ServiceRuntime' },
      { name: 'service', type: 'Source' },
      { name: 'request', type: 'RequestContext', initializer: '{}' },
    ],
    statements: ['this.runtime = runtime;', 'this.#service = service;', 'this.#request = request;'],
  });
  cls.addMethod({
    name: 'start',
    isStatic: true,
    isAsync: true,
    parameters: [{ name: 'options', type: 'ServiceOptions', initializer: '{}' }],
    returnType: `Promise<${name}>`,
    docs: [role === 'primary' ? 'Starts the primary: creates what the mapping needs and recovers what survived.' : 'Starts a backup: it waits for its primary\'s snapshot and updates.'],
    statements: [
      `const runtime = await ServiceRuntime.start({ ...options, role: '${role}', mapping, classes, objects: stateObjects });`,
      `const service = bindStateFields(new source.${name}(), runtime, [${fields.map((f) => `'${f}'`).join(', ')}]);`,
      `return new ${name}(runtime, service);`,
    ],
  });
  cls.addMethod({
    name: 'with',
    parameters: [{ name: 'request', type: 'RequestContext' }],
    returnType: name,
    docs: ['The same service, its calls carrying a request id (a retry answers once) or a transaction.'],
    statements: [`return new ${name}(this.runtime, this.#service, request);`],
  });
  cls.addMethods(methods.map((m) => serviceMethod(m, service)));
  cls.addMethod({
    name: 'dispatch',
    parameters: [
      { name: 'method', type: 'string' },
      { name: 'args', type: 'unknown[]' },
      { name: 'request', type: 'RequestContext', initializer: '{}' },
    ],
    returnType: 'Promise<Outcome>',
    docs: ['Runs a public method by name: what a server calls with a request\'s JSON arguments.'],
    statements: [
      `if (!Object.hasOwn(methods, method)) return Promise.resolve({ kind: 'unknown-method', message: \`${name} has no method '\${method}'.\` });`,
      `const name = method as keyof typeof methods;`,
      `const run = this.#service[name] as (...a: unknown[]) => unknown;`,
      `return this.runtime.execute({ ...request, method, touches: methods[name] }, () => run.apply(this.#service, args));`,
    ],
  });
  cls.addMethods([
    { name: 'begin', returnType: 'string', docs: ['Starts a transaction spanning several requests (startTA); pass it with with({ tx }).'], statements: ['return this.runtime.beginTransaction();'] },
    { name: 'commit', parameters: [{ name: 'tx', type: 'string' }], returnType: 'Promise<Outcome>', docs: ['Makes the transaction durable (commitTA).'], statements: ['return this.runtime.commitTransaction(tx);'] },
    { name: 'abort', parameters: [{ name: 'tx', type: 'string' }], returnType: 'Promise<Outcome>', docs: ['Undoes the transaction everywhere (abortTA).'], statements: ['return this.runtime.abortTransaction(tx);'] },
  ]);
  writeClient(file, service, methods);
  if (role === 'backup') {
    cls.addMethod({
      name: 'promote',
      parameters: [{ name: 'link', type: 'ReplicationLink', hasQuestionToken: true }],
      returnType: 'Promise<void>',
      docs: ['Takes over from the primary: applies what it acknowledged, raises the epoch, serves.'],
      statements: ['return this.runtime.promote(link);'],
    });
  }
}

/**
 * `createClient(urls)`: the service's methods over HTTP, each retried with the same request id on the
 * next node until one answers (the fault-tolerant client stub).
 */
function writeClient(file: SourceFile, service: ServiceInfo, methods: ServiceMethodInfo[]): void {
  const members = methods.map((m) => {
    const { params, args } = signature(m, service);
    const list = params.map((p) => `${'isRestParameter' in p && p.isRestParameter ? '...' : ''}${p.name}${'hasQuestionToken' in p && p.hasQuestionToken ? '?' : ''}: ${p.type}`).join(', ');
    const argArray = args.startsWith('...') ? args.slice(3) : `[${args}]`;
    return `    ${m.name}: (${list}): Result<'${m.name}'> => client.call('${m.name}', ${argArray}, request()),`;
  });
  file.addFunction({
    name: 'createClient',
    isExported: true,
    docs: [
      `${service.name} over HTTP, for a caller in another process: every call carries a request id and is\n` +
        'retried with it on the next node when one fails or is not the primary, so a failover is hidden and\n' +
        'nothing runs twice. Results arrive as JSON (Maps and Sets as arrays).',
    ],
    parameters: [
      { name: 'urls', type: 'readonly string[]' },
      { name: 'options', type: 'ClientOptions', initializer: '{}' },
    ],
    statements: [
      'const client = createDurableClient(urls, options);',
      'let tx: string | undefined;',
      'const request = () => ({ tx });',
      `return {\n${members.join('\n')}\n    /** Starts a transaction; later calls belong to it until commit() or abort(). */\n    async begin(): Promise<void> {\n      tx = await client.begin();\n    },\n    async commit(): Promise<void> {\n      if (tx) await client.commit(tx);\n      tx = undefined;\n    },\n    async abort(): Promise<void> {\n      if (tx) await client.abort(tx);\n      tx = undefined;\n    },\n  };`,
    ],
  });
}

function signature(method: ServiceMethodInfo, service: ServiceInfo) {
  const declaration = service.declaration.getInstanceMethodOrThrow(method.name);
  const parameters = declaration.getParameters();
  const rest = parameters.some((p) => p.isRestParameter());
  const params = rest
    ? [{ name: 'args', isRestParameter: true, type: `Parameters<Source['${method.name}']>` }]
    : parameters.map((p, i) => ({ name: p.getName(), hasQuestionToken: p.isOptional() || p.hasInitializer(), type: `Parameters<Source['${method.name}']>[${i}]` }));
  const args = rest ? '...args' : parameters.map((p) => p.getName()).join(', ');
  return { params, args };
}

function serviceMethod(method: ServiceMethodInfo, service: ServiceInfo): MethodDeclarationStructure {
  const { params, args } = signature(method, service);
  const touches = method.touches.length > 0 ? `touches ${method.touches.join(', ')}` : 'touches no state';
  return {
    kind: StructureKind.Method,
    name: method.name,
    parameters: params,
    returnType: `Result<'${method.name}'>`,
    docs: [`${service.name}.${method.name} as a durable request; ${touches}${method.updates.length > 0 ? ` (updates ${method.updates.join(', ')})` : ''}.`],
    statements: [`return this.runtime.call({ ...this.#request, method: '${method.name}', touches: methods.${method.name} }, () => this.#service.${method.name}(${args}));`],
  };
}

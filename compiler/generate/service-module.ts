// Generates the service module of a build (service.mts): a class named like the user's service that
// owns a ServiceRuntime, points the original service's state fields at their durability proxies, and
// offers each public method as a durable request (async, bracketed by startA/commitA through the
// run-time, rolled back on throw). Built with ts-morph structures; only statement bodies are text.
//
// The service's method names are its own: every public method keeps its name on the generated class
// and over HTTP. The run-time's controls (runtime, with, call, dispatch, begin, commit, abort, promote)
// are always reachable through the static `controls(service)`, which no method name can shadow; they
// are also members of the instance where the service has no method of that name. A method named `then`
// is not a member of the instance (it would make it a thenable, and `await Service.start()` would call
// it): it is reached through `controls(service).call('then', …)` and over HTTP.
import { Scope, StructureKind, VariableDeclarationKind, type ClassDeclaration, type MethodDeclarationStructure, type OptionalKind, type SourceFile } from 'ts-morph';
import type { ServiceInfo } from '../analysis/model.js';
import type { ServiceMethodInfo } from '../analysis/service-methods.js';
import { parameterShapes } from '../analysis/argument-shapes.js';
import { writeClient } from './client.js';
import { exposedMethods, signature, type ExposedMethod } from './exposed-methods.js';
import { access, memberName, propertyKey, quote } from './names.js';

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
  /** Where the clocks and random sources are wrapped, when the mapping repeats calls: imported first. */
  replayImport?: string;
}

/** Names that cannot be members of the generated instance, though they are the service's methods. */
const NOT_INSTANCE_MEMBERS = new Set(['then', 'constructor']);

/** The names the module itself exports besides the service class: a user's export of one is not re-exported. */
const GENERATED_EXPORTS = ['methods', 'createClient'];

export function writeServiceModule(file: SourceFile, input: ServiceModuleInput): void {
  const { role, service } = input;
  const name = service.name;
  const fields = service.stateFields.filter((f) => f.stateClass).map((f) => f.name);
  const exposed = exposedMethods(input.methods, service);
  const taken = new Set(exposed.map((m) => m.name));

  file.addImportDeclaration({
    moduleSpecifier: input.runtimeImport,
    namedImports: [
      'bindStateFields',
      'createClient as createDurableClient',
      'requestArguments',
      { name: 'ParameterShape', isTypeOnly: true },
      'ServiceRuntime',
      { name: 'ClientOptions', isTypeOnly: true },
      { name: 'Outcome', isTypeOnly: true },
      { name: 'RequestContext', isTypeOnly: true },
      { name: 'ServiceOptions', isTypeOnly: true },
      ...(role === 'backup' ? [{ name: 'ReplicationLink', isTypeOnly: true }] : []),
    ],
  });
  if (input.replayImport) {
    // Before the service's modules load (imports run in order): they must find the wrapped sources.
    file.insertImportDeclaration(0, { moduleSpecifier: input.replayImport, leadingTrivia: '// update="repeat": clocks and random sources are recorded and replayed (see docs/RUNTIME.md).\n' });
  }
  file.addImportDeclaration({ moduleSpecifier: input.sourceImport, namespaceImport: 'source' });
  const otherModules = [...new Set(input.classes.map((c) => c.module).filter((m) => m !== input.sourceImport))];
  otherModules.forEach((module, i) => file.addImportDeclaration({ moduleSpecifier: module, namespaceImport: `source${i + 1}` }));
  const qualifier = (module: string) => (module === input.sourceImport ? 'source' : `source${otherModules.indexOf(module) + 1}`);
  file.addImportDeclaration({ moduleSpecifier: './mapping.mjs', namedImports: ['mapping'] });

  const reexport = (names: string[]) => names.filter((n) => !GENERATED_EXPORTS.includes(n));
  if (reexport(input.reexports.values).length > 0) file.addExportDeclaration({ moduleSpecifier: input.sourceImport, namedExports: reexport(input.reexports.values) });
  if (input.reexports.types.length > 0) file.addExportDeclaration({ moduleSpecifier: input.sourceImport, isTypeOnly: true, namedExports: input.reexports.types });

  file.addTypeAlias({ name: 'Source', type: `source.${name}`, docs: [`The service as written, which this module runs.`] });
  file.addTypeAlias({ name: 'Method', type: 'keyof typeof methods', docs: ['A public method of the service, by name.'] });
  file.addTypeAlias({ name: 'Args', typeParameters: [{ name: 'M', constraint: 'Method' }], type: `Source[M] extends (...args: infer A) => unknown ? A : never` });
  file.addTypeAlias({ name: 'Result', typeParameters: [{ name: 'M', constraint: 'Method' }], type: `Source[M] extends (...args: never[]) => infer R ? Promise<Awaited<R>> : never` });

  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The classes whose instances state may hold: what replicas may receive.'],
    declarations: [
      {
        name: 'classes',
        initializer: `new Map<string, new (...args: never[]) => object>([${input.classes.map((c) => `[${quote(c.name)}, ${qualifier(c.module)}.${c.name}]`).join(', ')}])`,
      },
    ],
  });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The state objects, and how to make an empty one: the field initializers of the service.'],
    declarations: [
      {
        name: 'stateObjects',
        initializer: `[\n${fields.map((f) => `  { name: ${quote(f)}, create: () => ${access(`new source.${name}()`, f)} },`).join('\n')}\n]`,
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
        initializer: `{\n${exposed.map((m) => `  ${propertyKey(m.name)}: [${m.info.touches.map(quote).join(', ')}],`).join('\n')}\n} as const satisfies Record<string, readonly string[]>`,
      },
    ],
  });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    docs: ["Per public method, what its parameters take (from their declared types): how a request's JSON arguments are read."],
    declarations: [
      {
        name: 'parameters',
        type: 'Record<Method, readonly ParameterShape[]>',
        initializer: `{\n${exposed.map((m) => `  ${propertyKey(m.name)}: ${JSON.stringify(parameterShapes(m.declaration.getParameters()))},`).join('\n')}\n}`,
      },
    ],
  });
  writeControlsInterface(file, name, role);

  const shadowed = CONTROL_NAMES.filter((c) => (c !== 'promote' || role === 'backup') && taken.has(c));
  const cls = file.addClass({
    name,
    isExported: true,
    docs: [
      `${name} (${role} build): every state object sits behind its durability proxy, and every method is a\n` +
        `request that is all-or-nothing and answers only once durable. Methods are async here.` +
        (role === 'backup' ? `\nA backup follows its primary and serves only after promote().` : '') +
        (shadowed.length > 0
          ? `\n${shadowed.map((c) => `\`${c}\``).join(', ')} ${shadowed.length === 1 ? 'is' : 'are'} ${name}'s own here: the run-time's ${shadowed.length === 1 ? 'is' : 'are'} in ${name}.controls(service).`
          : '') +
        (taken.has('then') ? `\nIts method \`then\` is called through ${name}.controls(service).call('then', …): as a member it would make the service a thenable.` : ''),
    ],
  });
  cls.addProperty({ name: '#runtime', isReadonly: true, type: 'ServiceRuntime' });
  cls.addProperty({ name: '#service', isReadonly: true, type: 'Source' });
  cls.addProperty({ name: '#request', isReadonly: true, type: 'RequestContext' });
  cls.addProperty({ name: '#controls', type: 'Controls | undefined' });
  cls.addConstructor({
    scope: Scope.Private,
    parameters: [
      { name: 'runtime', type: 'ServiceRuntime' },
      { name: 'service', type: 'Source' },
      { name: 'request', type: 'RequestContext', initializer: '{}' },
    ],
    statements: ['this.#runtime = runtime;', 'this.#service = service;', 'this.#request = request;'],
  });
  cls.addMethod({
    name: 'start',
    isStatic: true,
    isAsync: true,
    parameters: [{ name: 'options', type: 'ServiceOptions', initializer: '{}' }],
    returnType: `Promise<${name}>`,
    docs: [role === 'primary' ? 'Starts the primary: creates what the mapping needs and recovers what survived.' : "Starts a backup: it waits for its primary's snapshot and updates."],
    statements: [
      `const runtime = await ServiceRuntime.start({ ...options, role: '${role}', mapping, classes, objects: stateObjects });`,
      `const service = bindStateFields(new source.${name}(), runtime, [${fields.map(quote).join(', ')}]);`,
      `return new ${name}(runtime, service);`,
    ],
  });
  writeControls(cls, name, role);
  const free = (control: string) => !taken.has(control);
  if (free('runtime')) {
    cls.addGetAccessor({ name: 'runtime', returnType: 'ServiceRuntime', docs: ['The run-time: proxies, action control, commit.'], statements: ['return this.#runtime;'] });
  }
  if (free('with')) {
    cls.addMethod({
      name: 'with',
      parameters: [{ name: 'request', type: 'RequestContext' }],
      returnType: name,
      docs: ['The same service, its calls carrying a request id (a retry answers once) or a transaction.'],
      statements: [`return ${name}.controls(this).with(request);`],
    });
  }
  cls.addMethods(exposed.filter((m) => !NOT_INSTANCE_MEMBERS.has(m.name)).map((m) => serviceMethod(m, service)));
  if (free('dispatch')) {
    cls.addMethod({
      name: 'dispatch',
      parameters: [
        { name: 'method', type: 'string' },
        { name: 'args', type: 'unknown[]' },
        { name: 'request', type: 'RequestContext', initializer: '{}' },
      ],
      returnType: 'Promise<Outcome>',
      docs: ["Runs a public method by name: what a server calls with a request's JSON arguments."],
      statements: [`return ${name}.controls(this).dispatch(method, args, request);`],
    });
  }
  const transactions: OptionalKind<MethodDeclarationStructure>[] = [
    { name: 'begin', returnType: 'string', docs: ['Starts a transaction spanning several requests (startTA); pass it with with({ tx }).'], statements: [`return ${name}.controls(this).begin();`] },
    {
      name: 'commit',
      parameters: [{ name: 'tx', type: 'string' }],
      returnType: 'Promise<Outcome>',
      docs: ['Makes the transaction durable (commitTA).'],
      statements: [`return ${name}.controls(this).commit(tx);`],
    },
    {
      name: 'abort',
      parameters: [{ name: 'tx', type: 'string' }],
      returnType: 'Promise<Outcome>',
      docs: ['Undoes the transaction everywhere (abortTA).'],
      statements: [`return ${name}.controls(this).abort(tx);`],
    },
  ];
  cls.addMethods(transactions.filter((m) => free(m.name)));
  if (role === 'backup' && free('promote')) {
    cls.addMethod({
      name: 'promote',
      parameters: [{ name: 'link', type: 'ReplicationLink', hasQuestionToken: true }],
      returnType: 'Promise<void>',
      docs: ['Takes over from the primary: applies what it acknowledged, raises the epoch, serves.'],
      statements: [`return ${name}.controls(this).promote(link);`],
    });
  }
  writeClient(file, name, exposed, NOT_INSTANCE_MEMBERS);
}

/** The run-time's controls, in the order the class documents them. */
const CONTROL_NAMES = ['runtime', 'with', 'call', 'dispatch', 'begin', 'commit', 'abort', 'promote'];

function writeControlsInterface(file: SourceFile, name: string, role: Role): void {
  file.addInterface({
    name: 'Controls',
    docs: [`What the run-time offers for one ${name}, under names that none of its methods can take.`],
    properties: [{ name: 'runtime', isReadonly: true, type: 'ServiceRuntime', docs: ['The run-time: proxies, action control, commit.'] }],
    methods: [
      {
        name: 'with',
        parameters: [{ name: 'request', type: 'RequestContext' }],
        returnType: name,
        docs: ['The same service, its calls carrying a request id (a retry answers once) or a transaction.'],
      },
      {
        name: 'call',
        typeParameters: [{ name: 'M', constraint: 'Method' }],
        parameters: [
          { name: 'method', type: 'M' },
          { name: 'args', type: 'Args<M>', isRestParameter: true },
        ],
        returnType: 'Result<M>',
        docs: ['Calls a public method as a durable request, as its member does (also one the instance cannot have, such as `then`).'],
      },
      {
        name: 'dispatch',
        parameters: [
          { name: 'method', type: 'string' },
          { name: 'args', type: 'unknown[]' },
          { name: 'request', type: 'RequestContext', hasQuestionToken: true },
        ],
        returnType: 'Promise<Outcome>',
        docs: ["Runs a public method by name, its outcome as data: what a server calls with a request's JSON arguments."],
      },
      { name: 'begin', returnType: 'string', docs: ['Starts a transaction spanning several requests (startTA); pass it with with({ tx }).'] },
      { name: 'commit', parameters: [{ name: 'tx', type: 'string' }], returnType: 'Promise<Outcome>', docs: ['Makes the transaction durable (commitTA).'] },
      { name: 'abort', parameters: [{ name: 'tx', type: 'string' }], returnType: 'Promise<Outcome>', docs: ['Undoes the transaction everywhere (abortTA).'] },
      ...(role === 'backup'
        ? [
            {
              name: 'promote',
              parameters: [{ name: 'link', type: 'ReplicationLink', hasQuestionToken: true }],
              returnType: 'Promise<void>',
              docs: ['Takes over from the primary: applies what it acknowledged, raises the epoch, serves.'],
            },
          ]
        : []),
    ],
  });
}

function writeControls(cls: ClassDeclaration, name: string, role: Role): void {
  const controls = [
    'runtime,',
    `with: (request) => new ${name}(runtime, service.#service, request),`,
    `call: (method, ...args) => runtime.call({ ...service.#request, method, touches: methods[method] }, () => run(method, args)) as Result<typeof method>,`,
    'dispatch: (method, args, request = {}) => {',
    `  if (!Object.hasOwn(methods, method)) return Promise.resolve({ kind: 'unknown-method', message: \`${name} has no method '\${method}'.\` });`,
    '  // JSON arguments, checked against the declared parameters and made what they declare (a Date, a bigint…).',
    '  const read = requestArguments(method, parameters[method as Method], args);',
    "  if ('problem' in read) return Promise.resolve({ kind: 'bad-arguments', message: read.problem });",
    '  // Each run reads the arguments afresh (a request runs again when the database refused an earlier one of its group).',
    '  return runtime.execute({ ...request, method, touches: methods[method as Method], repeatable: read.repeatable }, () => run(method as Method, read.args()));',
    '},',
    'begin: () => runtime.beginTransaction(),',
    'commit: (tx) => runtime.commitTransaction(tx),',
    'abort: (tx) => runtime.abortTransaction(tx),',
    ...(role === 'backup' ? ['promote: (link) => runtime.promote(link),'] : []),
  ];
  cls.addMethod({
    name: 'controls',
    isStatic: true,
    overloads: [
      { parameters: [{ name: 'service', type: name }], returnType: 'Controls', docs: [`The run-time's controls of a running ${name}, whatever its own methods are named: what a server uses.`] },
      { parameters: [{ name: 'client', type: 'Client' }], returnType: 'ClientControls', docs: ["The transactions and calls of a client from createClient, whatever the service's methods are named."] },
    ],
    parameters: [{ name: 'target', type: `${name} | Client` }],
    returnType: 'Controls | ClientControls',
    statements: [
      `if (!(#runtime in target)) return clientControls.get(target)!;`,
      'const service = target;',
      'if (service.#controls) return service.#controls;',
      'const runtime = service.#runtime;',
      'const run = (method: Method, args: ArrayLike<unknown>): unknown => Reflect.apply(service.#service[method], service.#service, args);',
      `service.#controls = {\n${controls.map((l) => `  ${l}`).join('\n')}\n};`,
      'return service.#controls;',
    ],
  });
}

function serviceMethod(method: ExposedMethod, service: ServiceInfo): MethodDeclarationStructure {
  const { params, args } = signature(method);
  const { info } = method;
  const touches = info.touches.length > 0 ? `touches ${info.touches.join(', ')}` : 'touches no state';
  return {
    kind: StructureKind.Method,
    name: memberName(method.name),
    parameters: params,
    returnType: `Result<${quote(method.name)}>`,
    docs: [`${service.name}.${method.name} as a durable request; ${touches}${info.updates.length > 0 ? ` (updates ${info.updates.join(', ')})` : ''}.`],
    statements: [`return this.#runtime.call({ ...this.#request, method: ${quote(method.name)}, touches: ${access('methods', method.name)} }, () => ${access('this.#service', method.name)}(${args}));`],
  };
}

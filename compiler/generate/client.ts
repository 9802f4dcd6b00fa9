// Generates `createClient(urls)` in a build's service module: the service's methods over HTTP, each
// retried with the same request id on the next node until one answers (the fault-tolerant client stub).
// Like the service class, the client keeps the service's method names; its transaction controls are
// members where those names are free and always in <Service>.controls(client).
import { VariableDeclarationKind, type SourceFile } from 'ts-morph';
import { signature, type ExposedMethod } from './exposed-methods.js';
import { propertyKey, quote } from './names.js';

export function writeClient(file: SourceFile, serviceName: string, exposed: ExposedMethod[], notMembers: ReadonlySet<string>): void {
  const taken = new Set(exposed.map((m) => m.name));
  file.addInterface({
    name: 'ClientControls',
    docs: [`What a client of ${serviceName} offers besides its methods, under names that none of them can take.`],
    methods: [
      {
        name: 'call',
        typeParameters: [{ name: 'M', constraint: 'Method' }],
        parameters: [
          { name: 'method', type: 'M' },
          { name: 'args', type: 'Args<M>', isRestParameter: true },
        ],
        returnType: 'Result<M>',
        docs: ['Calls a method of the service (also one the client cannot have as a member, such as `then`).'],
      },
      { name: 'begin', returnType: 'Promise<void>', docs: ['Starts a transaction; later calls belong to it until commit() or abort().'] },
      { name: 'commit', returnType: 'Promise<void>', docs: ['Makes the transaction durable.'] },
      { name: 'abort', returnType: 'Promise<void>', docs: ['Undoes the transaction everywhere.'] },
    ],
  });
  file.addTypeAlias({ name: 'Client', type: 'ReturnType<typeof createClient>' });
  file.addVariableStatement({
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The controls of each client createClient made.'],
    declarations: [{ name: 'clientControls', initializer: 'new WeakMap<object, ClientControls>()' }],
  });

  const members = exposed
    .filter((m) => !notMembers.has(m.name))
    .map((m) => {
      const { params, args } = signature(m);
      const list = params.map((p) => `${p.isRestParameter ? '...' : ''}${p.name}${p.hasQuestionToken ? '?' : ''}: ${p.type}`).join(', ');
      return `  ${propertyKey(m.name)}: (${list}): Result<${quote(m.name)}> => controls.call(${[quote(m.name), args].filter(Boolean).join(', ')}),`;
    });
  const transactionMembers = ['begin', 'commit', 'abort'].filter((c) => !taken.has(c)).map((c) => `  ${c}: controls.${c},`);
  file.addFunction({
    name: 'createClient',
    isExported: true,
    docs: [
      `${serviceName} over HTTP, for a caller in another process: every call carries a request id and is\n` +
        'retried with it on the next node when one fails or is not the primary, so a failover is hidden and\n' +
        'nothing runs twice. Results arrive as JSON (Maps and Sets as arrays). Transactions: begin(), commit()\n' +
        `and abort(), or ${serviceName}.controls(client) where the service has methods of those names.`,
    ],
    parameters: [
      { name: 'urls', type: 'readonly string[]' },
      { name: 'options', type: 'ClientOptions', initializer: '{}' },
    ],
    statements: [
      'const client = createDurableClient(urls, options);',
      'let tx: string | undefined;',
      'const controls: ClientControls = {',
      '  call: (method, ...args) => client.call(method, args, { tx }) as Result<typeof method>,',
      '  async begin() {',
      '    tx = await client.begin();',
      '  },',
      '  async commit() {',
      '    if (tx) await client.commit(tx);',
      '    tx = undefined;',
      '  },',
      '  async abort() {',
      '    if (tx) await client.abort(tx);',
      '    tx = undefined;',
      '  },',
      '};',
      `const stub = {\n${[...members, ...transactionMembers].join('\n')}\n};`,
      'clientControls.set(stub, controls);',
      'return stub;',
    ],
  });
}

// Loaded with --import into a `durable serve` under test: says on stderr, as `package-loaded NAME`, each
// package it loads, imported (the module hooks) or required (by a CommonJS package such as knex).
import Module, { isBuiltin, register } from 'node:module';

register(new URL('./hooks.mjs', import.meta.url));

const seen = new Set();
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (!isBuiltin(request) && !request.startsWith('.') && !request.startsWith('/')) {
    const name = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
    if (!seen.has(name)) {
      seen.add(name);
      process.stderr.write(`package-loaded ${name}\n`);
    }
  }
  return load.call(this, request, parent, isMain);
};

// Module hooks: every package resolved from node_modules, once, as a line `package-loaded NAME` on stderr.
const seen = new Set();

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(resolved.url)?.[1];
  if (name && !seen.has(name)) {
    seen.add(name);
    process.stderr.write(`package-loaded ${name}\n`);
  }
  return resolved;
}

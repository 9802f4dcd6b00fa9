#!/usr/bin/env node
// The `durable` command. The CLI is TypeScript compiled into dist/ by `npm run build` (in a checkout:
// `npm start` and `npm test` run it; a packed or installed package carries dist/ already).
// Stack traces from a build name the user's TypeScript lines (the builds carry source maps).
process.setSourceMapsEnabled(true);
let cli;
try {
  cli = await import('../dist/bin/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bin/cli.js')) throw error;
  process.stderr.write('durable: the CLI is not built yet (dist/ is missing). Run `npm run build` in the durability-compiler package.\n');
  process.exit(2);
}
// `durable check … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const code = await cli.runCli(process.argv.slice(2));
process.exitCode = code;
if (code !== 0) {
  // A command that failed has nothing left to do: what a half-started node left open (a database pool,
  // a timer) must not keep the process alive. Its messages are flushed first.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
  process.exit(code);
}

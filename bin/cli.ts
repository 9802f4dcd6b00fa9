// The `durable` command line. Exit codes: 0 success, 1 a problem with the user's input (bad arguments, a
// mapping or service with errors), 2 an internal error (a bug: reported with a short message; the stack
// only with DURABLE_DEBUG=1). `runCli` takes its I/O as a parameter so tests drive it in-process.
// Each command loads its own modules when it runs: `durable serve` starts without the compiler
// (TypeScript, ts-morph), which costs a second of CPU to load and which a node never uses.
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Diagnostic } from '../mappings/index.js';
import { VERSION } from './version.js';
import type { ServeOptions } from './serve.js';
import type { CompareOptions } from './compare/run.js';
import { EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_USER_ERROR, UserError, type CliIO } from './io.js';

export { EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_USER_ERROR, UserError, type CliIO } from './io.js';

const processIO: CliIO = {
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

export async function runCli(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USER_ERROR;
    if (error instanceof UserError) {
      io.stderr(`durable: ${error.message}\n`);
      return EXIT_USER_ERROR;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(
      `durable: internal error: ${message}\nThis is a bug in durability-compiler; please report it with the command you ran.${io.env.DURABLE_DEBUG ? '' : ' Set DURABLE_DEBUG=1 for the stack trace.'}\n`,
    );
    if (io.env.DURABLE_DEBUG && error instanceof Error && error.stack) io.stderr(error.stack + '\n');
    return EXIT_INTERNAL_ERROR;
  }
}

function buildProgram(io: CliIO, setExitCode: (code: number) => void): Command {
  const program = new Command('durable')
    .description('Compile a TypeScript service with a durability mapping into primary and backup builds, run them, and compare durability configurations.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  const command = (name: string) => program.command(name).configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).exitOverride().showHelpAfterError('(run with --help for usage)');

  command('init')
    .description('Start a project: a service (src/service.ts), its durability mapping, a tsconfig, a cluster key and npm scripts (build, serve). Keeps every file you already have.')
    .argument('[dir]', 'the project directory', '.')
    .action(async (dir: string) => {
      const { describeInit, initProject, InitRefused } = await import('./init.js');
      const target = path.resolve(io.cwd, dir);
      try {
        io.stdout(describeInit(target, initProject(target), io.cwd));
      } catch (error) {
        if (error instanceof InitRefused) throw new UserError(error.message);
        throw error;
      }
    });

  command('check')
    .description('Check a durability mapping against the service it describes; prints diagnostics as path:line:col - error DURnnnn: message.')
    .argument('<service>', 'the service source file (TypeScript) with @state fields')
    .requiredOption('-m, --mapping <file>', 'the durability mapping (XML)')
    .option('--db <url>', "prepare the mapping's SQL against this database (postgres://…, mysql://…, sqlite:PATH) instead of an in-memory SQLite; nothing is kept")
    .action(async (service: string, options: { mapping: string; db?: string }) => {
      const { checkService } = await import('../compiler/check.js');
      let result: Awaited<ReturnType<typeof checkService>>;
      try {
        result = await checkService(path.resolve(io.cwd, service), path.resolve(io.cwd, options.mapping), { db: options.db });
      } catch (error) {
        if (!options.db) throw error;
        throw new UserError(`cannot check against --db: ${(error as Error).message.replace(/\/\/[^@/\s]*@/g, '//…@')}`);
      }
      await printDiagnostics(result.diagnostics, io);
      setExitCode(result.diagnostics.some((d) => d.severity === 'error') ? EXIT_USER_ERROR : EXIT_OK);
    });

  command('compile')
    .description('Compile the service under a mapping into <out>/primary, <out>/backup and <out>/manifest.json.')
    .argument('<service>', 'the service source file (TypeScript) with @state fields')
    .requiredOption('-m, --mapping <file>', 'the durability mapping (XML)')
    .requiredOption('-o, --out <dir>', 'the output directory')
    .action(async (service: string, options: { mapping: string; out: string }) => {
      const started = Date.now();
      const { compileService } = await import('../compiler/compile.js');
      const result = await compileService(path.resolve(io.cwd, service), path.resolve(io.cwd, options.mapping), path.resolve(io.cwd, options.out), VERSION);
      await printDiagnostics(result.diagnostics, io);
      if (result.files.length === 0) {
        setExitCode(EXIT_USER_ERROR);
        return;
      }
      const relative = path.relative(io.cwd, path.resolve(io.cwd, options.out));
      const out = relative.startsWith('..') ? path.resolve(io.cwd, options.out) : relative || '.';
      io.stdout(`Wrote ${out}/primary, ${out}/backup and ${out}/manifest.json (${result.files.length} files) in ${Date.now() - started} ms.\n`);
    });

  command('inspect')
    .description('Show what the analysis finds in a service: state objects, their update and read methods, and which service methods touch them.')
    .argument('<service>', 'the service source file (TypeScript) with @state fields')
    .option('-m, --mapping <file>', 'also show the mechanism each state object is mapped to')
    .option('--json', 'print JSON instead of a table')
    .action(async (service: string, options: { mapping?: string; json?: boolean }) => {
      const { formatInspection, inspectService } = await import('../compiler/inspect.js');
      const file = path.resolve(io.cwd, service);
      const result = await inspectService(file, options.mapping && path.resolve(io.cwd, options.mapping));
      if (result.diagnostics.some((d) => d.severity === 'error') || result.descriptions.length === 0) {
        await printDiagnostics(result.diagnostics, io);
        if (result.descriptions.length === 0 && !result.diagnostics.length) io.stderr(`durable: ${service} exports no class with @state fields.\n`);
        setExitCode(EXIT_USER_ERROR);
        return;
      }
      if (options.json) io.stdout(JSON.stringify(result.descriptions.length === 1 ? result.descriptions[0] : result.descriptions, null, 2) + '\n');
      else io.stdout(result.descriptions.map((d) => formatInspection(d, file, io.cwd)).join('\n'));
    });

  command('serve')
    .description('Run a compiled build as a primary or a backup: HTTP JSON RPC on --http, replication on --repl.')
    .argument('<build>', 'the directory `durable compile --out` wrote')
    .addOption(new Option('--role <role>', "this node's role").choices(['primary', 'backup']).makeOptionMandatory())
    .requiredOption('--http <host:port>', 'where to serve the HTTP JSON RPC')
    .requiredOption('--repl <host:port>', 'where to listen for replication peers')
    .option('--backups <host:port,...>', "the backups' --repl addresses (the primary connects to them)")
    .option('--join <host:port,…>', "join a running cluster (backup): its primary's --repl address, or any of its nodes' (asked in turn until one answers)")
    .option('--db <url>', 'sqlite:PATH (default <build>/durable.db), postgres://… or mysql://…')
    .option(
      '--coordinator <url>',
      "the configuration authority: postgres://…, mysql://…, etcd://HOST:PORT[,…] or sqlite:PATH (one machine); default --db when it is a server database, 'none' for none",
    )
    .option('--key-file <file>', 'the cluster key (default: $DURABLE_CLUSTER_KEY)')
    .option('--client-token-file <file>', 'the token clients must send as Authorization: Bearer <token> on /rpc, /tx and /metrics (default: $DURABLE_CLIENT_TOKEN)')
    .option('--no-client-token', 'serve a non-loopback --http without a client token, deliberately (something in front admits only your clients)')
    .option('--tls-cert <file>', 'serve HTTPS and replicate over TLS with this certificate (PEM; its names or IP addresses must match the addresses peers use)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--tls-ca <file>', "the CA that signs the nodes' certificates: peers are verified against it, and replication peers must present one (mutual TLS)")
    .option('--insecure', 'allow replication without a cluster key, on loopback addresses only')
    .option('--min-acks <n>', "backups that must acknowledge each write, and hold a new primary's snapshot before it serves; below that, writes get 503", '0')
    .option('--heartbeat-interval <ms>', 'how often peers hear from each other', '100')
    .option('--heartbeat-timeout <ms>', 'silence after which a primary drops a backup; a backup takes over only on proof the primary is gone (docs/SERVING.md)', '1000')
    .action(async (build: string, options: ServeOptions) => {
      const { startServing } = await import('./serve.js');
      const node = await startServing(path.resolve(io.cwd, build), options, io);
      await new Promise<void>((resolve) => {
        const stop = () => void node.stop().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        // Started by a tool with a channel to it (spawn.ts: the tests, compare, chaos, the benchmarks): it
        // dies with that tool, as if killed, so that no test run leaves a node behind however it ended.
        if (process.channel) {
          process.channel.unref();
          process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
        }
      });
    });

  command('compare')
    .description('Run an example under several mappings, primary and backup as real processes, and report throughput and latency side by side, with a chart.')
    .argument('<example>', 'counter or matchmaker (or a directory with service.ts and mappings/)')
    .option('--configs <names>', "comma-separated mapping names (default: all of the example's mappings)")
    .option('--clients <list>', 'client counts to measure', '1,2,4,8,12,16')
    .option('--requests <n>', 'requests per measurement', '1000')
    .option('--db <url>', 'database for database mappings (default: a fresh SQLite file per measurement)')
    .option('--sqlite-sync <levels>', 'SQLite durability levels to measure database mappings under, side by side: full (survives power loss), normal (survives a process crash)', 'full')
    .option('--json', 'print results as JSON')
    .option('--out <dir>', 'where to write results.json, chart.svg and the builds', 'compare-results/<example>')
    .action(async (example: string, options: CompareOptions) => {
      const { runCompare } = await import('./compare/run.js');
      setExitCode(await runCompare(example, { ...options, out: options.out === 'compare-results/<example>' ? undefined : options.out }, io));
    });

  return program;
}

async function printDiagnostics(diagnostics: readonly Diagnostic[], io: CliIO): Promise<void> {
  if (diagnostics.length === 0) return;
  const { formatDiagnostic } = await import('../mappings/index.js');
  for (const d of diagnostics) io.stdout(formatDiagnostic(d, io.cwd) + '\n');
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const parts = [errors > 0 ? plural(errors, 'error') : '', warnings > 0 ? plural(warnings, 'warning') : ''].filter(Boolean);
  io.stdout(`\nFound ${parts.join(' and ')}.\n`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// Runs the `durable` CLI in-process with captured output, as a user's terminal would see it.
import { runCli } from '../../bin/cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function durable(args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    cwd,
    env,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

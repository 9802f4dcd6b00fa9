// What every command shares and nothing heavy: where a command writes, its exit codes, and the error a
// command throws for a mistake of the user's. Apart from cli.ts so that a command's module need not load
// the command line (and through it every other command) to say so.

export interface CliIO {
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL_ERROR = 2;

/** Thrown by a command for a user error with a message already fit to print. */
export class UserError extends Error {}

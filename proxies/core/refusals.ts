// What the run-time refuses, where no static analysis could have seen it coming: a request whose effect
// it cannot make durable exactly as the original class would have it fails (rolled back everywhere,
// never acknowledged) with one of these, rather than diverge in silence. Each has a code, documented in
// docs/DIAGNOSTICS.md beside the check-time codes, and a message that says what happened, where and
// what to do.

export type RefusalCode =
  /** A database state object changed outside a call of one of its mapped methods. */
  | 'DUR3001'
  /** A mapped method of a database state object threw after changing the object. */
  | 'DUR3002'
  /** An object a mapped method stored changed after the call returned (its SQL was bound at the call's end). */
  | 'DUR3003'
  /** A value state cannot hold durably, or that cannot be sent to the backups or bound into SQL. */
  | 'DUR3004'
  /** An operation on state that could not be undone or followed (freezing it, making a property non-configurable, replacing a state field). */
  | 'DUR3005'
  /** State changed outside any request (a timer, an event handler, a promise callback after the reply). */
  | 'DUR3006'
  /** A backup re-running an update="repeat" call did not reach the primary's result. */
  | 'DUR3007';

/** What each refusal means; docs/DIAGNOSTICS.md lists the same table (a test keeps the two in step). */
export const REFUSAL_CATALOGUE: Record<RefusalCode, string> = {
  DUR3001: 'A database state object changed outside a call of one of its mapped methods (service code, an unmapped method, a getter, after the call returned).',
  DUR3002: 'A mapped method of a database state object threw after changing the object, and the service went on.',
  DUR3003: 'An object a mapped method stored, and its SQL was bound from, changed after the call returned.',
  DUR3004:
    'State was given a value it cannot hold durably: a function, a Symbol() key or a getter of its own in replicated state, a WeakMap, a Promise, an object held by database state and another one.',
  DUR3005:
    'An operation on state the run-time could not undo or follow: freezing or sealing it (a sealed one too), making a property non-configurable, deleting from an object that cannot be extended, replacing a state field.',
  DUR3006: 'State changed outside any request (a timer, an event handler, a promise callback after the reply).',
  DUR3007: 'A backup re-running an update="repeat" call did not reach what the primary did (module-level state, the environment).',
};

export class DurabilityRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'DurabilityRefusal';
  }
}

/** State was changed outside any request: nothing could make that change durable or undo it. */
export class StateOutsideActionError extends DurabilityRefusal {
  constructor(message: string) {
    super('DUR3006', message);
    this.name = 'StateOutsideActionError';
  }
}

/** Another open transaction holds a state object this request reached on a path its analysis did not see. */
export class LateConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LateConflictError';
  }
}

const RUNTIME_DIR = new URL('..', import.meta.url).pathname;

/**
 * Where the code that caused a refusal is: the first frame of the stack outside the run-time and Node's
 * internals, as file:line:col (relative to the working directory). Undefined when none is found.
 */
export function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const match = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    const file = match[1]!.replace(/^file:\/\//, '');
    if (file.startsWith('node:') || file.startsWith(RUNTIME_DIR) || file.includes('/node_modules/')) continue;
    const relative = file.startsWith(process.cwd() + '/') ? file.slice(process.cwd().length + 1) : file;
    return `${relative}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

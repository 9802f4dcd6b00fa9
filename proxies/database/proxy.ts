// The database proxy (Chapter IV.C.2). The state object stays in memory, where the service reads it;
// each call of a mapped update method produces its `<sql>` statements, bound from the arguments as they
// are when the call ends, and the action controller runs them in the request's (group's) transaction.
// Only that SQL reaches the database, so the run-time enforces what makes it complete: during a request,
// the object changes only inside calls of its mapped methods. A change anywhere else (service code, an
// unmapped method, a getter, after the call returned) refuses the request; so does a mapped call that
// threw after changing the object (no SQL describes half a call), and an argument the SQL was bound from
// that changed after the call. `init` runs the mapping's initialization (primary only); `recover`
// rebuilds the object from the recovery query, replaying each row, converted to the `<apply>` method's
// parameter types, through that method.
// The mapping's SQL model only, not mappings/index.js: a node reads no XML, and need not load a parser.
import { argumentReferences, knexSqlText, literalParts, resolveArgument, toKnexRaw, type ArgumentReference, type SqlStatement } from '../../mappings/sql.js';
import { statementsFor, type DatabaseStateMapping } from '../../mappings/model.js';
import { RecordingProxy, type ActionRecord, type CallRecord, type ProxyOptions } from '../core/recording-proxy.js';
import type { ActionContext } from '../core/context.js';
import { rawOf } from '../core/raw.js';
import { callerLocation, DurabilityRefusal } from '../core/refusals.js';
import type { CommitPart, SqlWork } from '../core/types.js';
import { fromColumn, sameBinding, toBindable } from './values.js';
import type { DatabaseStore } from './store.js';

/** A statement argument read from an object the state holds: checked again when the request ends. */
interface BoundFromState {
  call: CallRecord;
  reference: ArgumentReference;
  args: unknown[];
  bound: unknown;
}

interface DatabaseActionState {
  /** The fresh objects of this state as the last mapped call left them (see StateGraph.freshDigest). */
  freshDigest: string;
  bound: BoundFromState[];
}

/** Rows recovered per batch: a few milliseconds of work each. */
const RECOVERY_BATCH = 2_000;

export class DatabaseProxy<T extends object = object> extends RecordingProxy<T> {
  readonly mechanism = 'database' as const;
  private readonly statements = new Map<string, SqlStatement[]>();
  /** Outermost calls of this object's methods running now. */
  private readonly running: { method: string; mapped: boolean }[] = [];
  private readonly checks = new Map<number, DatabaseActionState>();
  private readonly texts = new Map<SqlStatement, { sql: string; parts: readonly string[] }>();

  constructor(
    options: ProxyOptions<T>,
    private readonly mapping: DatabaseStateMapping,
    private readonly store: DatabaseStore,
  ) {
    super({ ...options, checkpointMethod: mapping.checkpoint?.name, restoreMethod: mapping.restore?.name });
    for (const method of mapping.methods) {
      const chosen = statementsFor(method.steps, store.dialect);
      if (!chosen) throw new Error(`Method '${method.name}' of database state '${options.name}' has no SQL for ${store.dialect}: add <sql dialect="${store.dialect}"> or a default <sql>.`);
      this.statements.set(method.name, chosen);
    }
  }

  override async init(): Promise<void> {
    const statements = statementsFor(this.mapping.initialization, this.store.dialect);
    if (!statements) throw new Error(`The <initialization> of database state '${this.name}' has no SQL for ${this.store.dialect}.`);
    for (const statement of statements) {
      const { sql, bindings } = toKnexRaw(statement, []);
      await this.store.knex.raw(sql, bindings as never[]);
    }
  }

  async recover(): Promise<void> {
    const recovery = this.mapping.recovery;
    const fresh = this.options.create();
    if (recovery) {
      const [query, ...rest] = statementsFor(recovery.query, this.store.dialect) ?? [];
      if (!query || rest.length > 0) throw new Error(`The recovery of database state '${this.name}' must be exactly one query for ${this.store.dialect}.`);
      const { columns, types, name } = recovery.apply;
      const apply = (fresh as Record<string, unknown>)[name];
      if (typeof apply !== 'function') throw new Error(`State object '${this.name}' has no method '${name}' for <apply>.`);
      // Streamed in batches (DatabaseStore.eachRows): millions of rows are never all in memory at once.
      await this.store.eachRows(toKnexRaw(query, []).sql, RECOVERY_BATCH, (rows) => {
        for (const row of rows) {
          const missing = columns.find((c) => !(c in row));
          if (missing) throw new Error(`The recovery query of '${this.name}' returned no column '${missing}' (it returned ${Object.keys(row).join(', ')}); <apply args> must name its columns.`);
          (apply as (...a: unknown[]) => unknown).apply(
            fresh,
            columns.map((c, i) => fromColumn(row[c], types?.[i], c, this.name)),
          );
        }
      });
    }
    this.replaceObject(fresh);
  }

  // ---- the guard ----

  override beforeChange(context: ActionContext): void {
    super.beforeChange(context);
    if (this.running.some((c) => c.mapped)) return;
    const call = this.running[0];
    const where = callerLocation();
    const mapped = [...this.statements.keys()];
    const message = call
      ? `${this.className()}.${call.method} changed database state '${this.name}'${where ? ` (at ${where})` : ''}, but the mapping has no <method name="${call.method}"> with <sql> for it, so the change would be gone after a restart. Add the statement(s) that store it to the mapping.`
      : `The service changed database state '${this.name}'${where ? ` at ${where}` : ''} outside its mapped methods: only a call of a method with <sql> can change it, because only that SQL reaches the database. Call one of its mapped methods${mapped.length > 0 ? ` (${mapped.join(', ')})` : ''} instead, or move this change into a mapped method.`;
    throw this.graph.refuse(new DurabilityRefusal('DUR3001', message));
  }

  protected override runCall(record: ActionRecord, call: CallRecord, run: () => unknown): unknown {
    const context = record.context;
    const state = this.stateOf(context);
    this.graph.settleImages(); // typed arrays changed before this call: outside any mapped call
    this.checkFreshUnchanged(context, state);
    const frame = { method: call.method, mapped: this.statements.has(call.method) };
    const startDigest = this.graph.freshDigest(this.index);
    this.running.push(frame);
    const leave = () => {
      this.graph.settleImages(); // typed arrays changed by the call, inside it
      this.running.splice(this.running.indexOf(frame), 1);
    };
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      leave();
      call.to = context.log.length;
      this.callFailed(record, call, startDigest);
      throw error;
    }
    if (result instanceof Promise) {
      return this.track(record, call, result, (failed) => {
        leave();
        if (failed) this.callFailed(record, call, startDigest);
        else this.callSucceeded(record, call, state);
      });
    }
    leave();
    call.to = context.log.length;
    this.callSucceeded(record, call, state);
    return result;
  }

  /** A call that threw and changed nothing contributes nothing; one that changed the object is refused. */
  private callFailed(record: ActionRecord, call: CallRecord, startDigest: string): void {
    const changed = record.context.log.slice(call.from, call.to).some((c) => c.kind !== 'order') || this.graph.freshDigest(this.index) !== startDigest;
    if (!changed) return;
    this.graph.refuse(
      new DurabilityRefusal(
        'DUR3002',
        `${this.className()}.${call.method} threw after changing database state '${this.name}': its SQL describes the whole call, not the part that ran before the exception, so memory and the database would disagree. Make the method check before it changes anything, or let the exception fail the request.`,
      ),
    );
  }

  /** The call ended well: its statements, bound from its arguments as they are now. */
  private callSucceeded(record: ActionRecord, call: CallRecord, state: DatabaseActionState): void {
    const statements = this.statements.get(call.method);
    if (statements) {
      const args = call.args.map(rawOf);
      const work: SqlWork = { object: this.name, method: call.method, statements: [] };
      for (const statement of statements) {
        const bindings: unknown[] = [];
        for (const reference of argumentReferences(statement)) {
          const value = this.bind(call, reference, args);
          bindings.push(value);
          const argument = args[reference.index];
          if (typeof argument === 'object' && argument !== null && this.graph.membersOf(argument).includes(this.index)) {
            state.bound.push({ call, reference, args, bound: value });
          }
        }
        work.statements.push({ ...this.textOf(statement), bindings });
      }
      record.prepared.push(work);
    }
    state.freshDigest = this.graph.freshDigest(this.index);
  }

  /** A statement's text, worked out once: for knex.raw, and as the literal parts around its bindings. */
  private textOf(statement: SqlStatement): { sql: string; parts: readonly string[] } {
    let text = this.texts.get(statement);
    if (!text) this.texts.set(statement, (text = { sql: knexSqlText(statement), parts: literalParts(statement) }));
    return text;
  }

  private bind(call: CallRecord, reference: ArgumentReference, args: unknown[]): unknown {
    try {
      return toBindable(resolveArgument(reference, args), this.store.dialect);
    } catch (error) {
      if (error instanceof DurabilityRefusal) throw this.graph.refuse(error);
      const refusal = new DurabilityRefusal('DUR3004', `${this.className()}.${call.method}: ${reference.source} cannot be bound into SQL: ${(error as Error).message}`);
      throw this.graph.refuse(refusal);
    }
  }

  /** Fresh objects of this state may change only inside its mapped calls (they are not behind a proxy). */
  private checkFreshUnchanged(_context: ActionContext, state: DatabaseActionState): void {
    if (this.graph.freshDigest(this.index) === state.freshDigest) return;
    const where = callerLocation();
    throw this.graph.refuse(
      new DurabilityRefusal(
        'DUR3001',
        `An object stored in database state '${this.name}' during this request was changed outside its mapped methods${where ? ` (noticed at ${where})` : ''}: only a mapped method's SQL reaches the database. Finish the object before handing it to a mapped method, or change it through one.`,
      ),
    );
  }

  protected override requestEnded(record: ActionRecord): void {
    const state = this.stateOf(record.context);
    for (const b of state.bound) {
      let now: unknown;
      try {
        now = toBindable(resolveArgument(b.reference, b.args), this.store.dialect);
      } catch {
        now = Symbol('unreadable');
      }
      if (!sameBinding(now, b.bound)) {
        throw this.graph.refuse(
          new DurabilityRefusal(
            'DUR3003',
            `${b.reference.source} of ${this.className()}.${b.call.method} changed after the call returned (it was bound as ${JSON.stringify(describeBinding(b.bound))} and is now ${JSON.stringify(describeBinding(now))}); database state '${this.name}' holds that object, but the database got the value of the call's end. Change it before the call, or through a mapped method.`,
          ),
        );
      }
    }
    this.checkFreshUnchanged(record.context, state);
    this.checks.delete(record.context.id);
  }

  protected override partFor(record: ActionRecord): CommitPart {
    return record.prepared.length > 0 ? { sql: record.prepared as SqlWork[] } : {};
  }

  override abortA(action: Parameters<RecordingProxy['abortA']>[0]): void {
    this.checks.delete(action.context.id);
    super.abortA(action);
  }

  override rollbackToA(action: Parameters<RecordingProxy['rollbackToA']>[0], savepoint: unknown): void {
    this.checks.delete(action.context.id); // what the failed request's calls bound is gone with it
    super.rollbackToA(action, savepoint);
  }

  private stateOf(context: ActionContext): DatabaseActionState {
    let state = this.checks.get(context.id);
    if (!state) this.checks.set(context.id, (state = { freshDigest: this.graph.freshDigest(this.index), bound: [] }));
    return state;
  }

  private className(): string {
    return (Object.getPrototypeOf(this.raw) as { constructor?: { name?: string } }).constructor?.name ?? this.name;
  }
}

function describeBinding(value: unknown): unknown {
  if (typeof value === 'symbol') return 'unreadable';
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  return value;
}

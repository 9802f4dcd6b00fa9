// The database proxy (Chapter IV.C.2). The state object stays in memory, where the service reads it;
// each call of a mapped update method also produces its `<sql>` statements, with the arguments bound as
// they were when the call began, and the action controller runs them in the request's (group's)
// transaction. `init` runs the mapping's initialization (primary only); `recover` rebuilds the object
// from the recovery query, replaying each row through the `<apply>` method.
import { argumentReferences, knexSqlText, resolveArgument, statementsFor, toKnexRaw, type DatabaseStateMapping, type SqlStatement } from '../../mappings/index.js';
import { RecordingProxy, type ActionRecord, type CallRecord, type ProxyOptions } from '../core/recording-proxy.js';
import type { CommitPart, SqlWork } from '../core/types.js';
import type { DatabaseStore } from './store.js';

export class DatabaseProxy<T extends object = object> extends RecordingProxy<T> {
  readonly mechanism = 'database' as const;
  private readonly statements = new Map<string, SqlStatement[]>();

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
    this.replaceObject(fresh);
    if (!recovery) return;
    const [query, ...rest] = statementsFor(recovery.query, this.store.dialect) ?? [];
    if (!query || rest.length > 0) throw new Error(`The recovery of database state '${this.name}' must be exactly one query for ${this.store.dialect}.`);
    const rows = await this.store.rows(this.store.knex, toKnexRaw(query, []).sql);
    const columns = recovery.apply.columns;
    this.withoutRecording(() => {
      for (const row of rows) {
        const missing = columns.find((c) => !(c in row));
        if (missing) throw new Error(`The recovery query of '${this.name}' returned no column '${missing}' (it returned ${Object.keys(row).join(', ')}); <apply args> must name its columns.`);
        this.callRaw(recovery.apply.name, columns.map((c) => row[c]));
      }
    });
  }

  protected override callStarted(record: ActionRecord, call: CallRecord): void {
    const statements = this.statements.get(call.method);
    if (!statements) return;
    const args = call.args.map((a) => this.membrane.unwrap(a));
    const work: SqlWork = {
      object: this.name,
      method: call.method,
      statements: statements.map((statement) => ({
        sql: knexSqlText(statement),
        bindings: argumentReferences(statement).map((ref) => toBindable(resolveArgument(ref, args))),
      })),
    };
    record.shipped.push(work);
  }

  protected override partFor(record: ActionRecord): CommitPart {
    return record.shipped.length > 0 ? { sql: record.shipped as SqlWork[] } : {};
  }
}

/** What a driver can bind: data structures go in as JSON text. */
function toBindable(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

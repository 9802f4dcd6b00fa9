// What the database store shares with its three dialects (sqlite-store.ts, postgres-store.ts,
// mysql-store.ts): the records a group commits, the interface each dialect implements, and the small
// helpers they have in common.
import type { Dialect } from '../../mappings/model.js';

/** The dialect a database URL names (sqlite:PATH, postgres://…, mysql://… or mariadb://…), or undefined. */
export function dialectOfUrl(url: string): Dialect | undefined {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  if (/^(mysql|mariadb):\/\//.test(url)) return 'mysql';
  return undefined;
}

/** An sqlite: URL's file (sqlite:///abs/path too) and its query (`synchronous=normal`). */
export function sqliteLocation(url: string): { file: string; query: string } {
  const [location, query = ''] = url.slice('sqlite:'.length).split(/\?(.*)/s, 2) as [string, string?];
  return { file: location.replace(/^\/\/(?=\/)/, ''), query };
}
export interface SqlStatementWork {
  /** For knex.raw: `?` per binding, literal `?` escaped (messages, the simulation). */
  sql: string;
  /** The statement's literal text around its bindings: one more part than bindings, the same array for every call of the statement. */
  parts: readonly string[];
  bindings: unknown[];
}

export interface DatabaseRecord {
  /** The decision record: the first request id, or an internal key for an action without one. */
  key: string;
  /** Request ids this action answered, with the replies as sent, for retries of the same id. */
  replies: { key: string; reply: string }[];
  seq: number;
  statements: SqlStatementWork[];
  /**
   * The action as the backups receive it (its replicated updates, as JSON), kept in `durable_log` in the
   * same transaction: the group is shipped to the backups while the database commits it, so a backup
   * that never received it takes it from here when it takes over (DatabaseStore.loggedAfter).
   */
  logged?: { epoch: number; record: string };
}

/** A record a primary committed with its group (DatabaseRecord.logged), as `durable_log` stores it. */
export interface LoggedRecord {
  seq: number;
  epoch: number;
  record: string;
}

/** The rows a group stores in `durable_log`. */
export function logRows(records: readonly DatabaseRecord[]): LoggedRecord[] {
  return records.flatMap((r) => (r.logged ? [{ seq: r.seq, epoch: r.logged.epoch, record: r.logged.record }] : []));
}

export interface CommitResult {
  /** How many records (a prefix of the group) are committed. */
  committed: number;
  /** Why the record after them failed, when one did. */
  failure?: Error;
}

export class FencedError extends Error {
  constructor(
    readonly epoch: number,
    readonly current: number,
  ) {
    super(`This node's epoch ${epoch} is stale: the database is at epoch ${current}, so another node has taken over. Refusing to commit.`);
  }
}

/** What each dialect does its own way: the commit path and the streamed read. */
export interface DialectStore {
  /**
   * The whole group in one transaction, no savepoints: resolves when all of it is committed; throws
   * FencedError, a statement rejection (nothing committed), or anything else (outcome unknown).
   */
  commitAll(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<void>;
  /** The group with a savepoint per record: the records before the first refused one commit. */
  commitPrefix(epoch: number, records: readonly DatabaseRecord[], markEpoch: boolean): Promise<CommitResult>;
  eachRows(sql: string, batch: number, take: (rows: Row[]) => void): Promise<void>;
}

/** The rows a group stores in `durable_requests`: each request id with its reply, or the decision key alone. */
export function requestRows(record: DatabaseRecord): { key: string; reply: string }[] {
  return record.replies.length > 0 ? record.replies : [{ key: record.key, reply: '' }];
}

export type Row = Record<string, unknown>;

/** Rows `size` at a time. */
export function* chunksOf(rows: Iterable<Row>, size: number): Generator<Row[]> {
  let chunk: Row[] = [];
  for (const row of rows) {
    chunk.push(row);
    if (chunk.length < size) continue;
    yield chunk;
    chunk = [];
  }
  if (chunk.length > 0) yield chunk;
}

/** Hands each batch over, with a turn of the event loop after it. */
export async function handOver(batches: Iterable<Row[]> | AsyncIterable<Row[]>, take: (rows: Row[]) => void): Promise<void> {
  for await (const rows of batches) {
    take(rows);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * The database refused the statement itself (a constraint, bad data, a syntax or permission error): a
 * definitive answer about this action. SQLSTATE classes 22, 23, 42, 44 (PostgreSQL `code`, MySQL
 * `sqlState`) and SQLite's constraint, mismatch and SQL errors.
 */
export function isStatementRejection(error: unknown): boolean {
  const e = error as { code?: unknown; sqlState?: unknown };
  const state = typeof e.sqlState === 'string' ? e.sqlState : typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  // 01000 is MariaDB's 'Data truncated' in strict mode (error 1265): a refusal of this value, not a failure to retry.
  if (state) return /^(22|23|42|44)/.test(state) || state === '01000';
  return typeof e.code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|ERROR|RANGE|TOOBIG)/.test(e.code);
}

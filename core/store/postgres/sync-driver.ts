/**
 * A synchronous PostgreSQL connection for the SQL store: node-postgres runs in a worker
 * thread (worker.mjs) and synckit makes each call wait for its answer, as better-sqlite3's
 * calls do. So the store, its group commit and every rule it keeps are the same code on
 * both databases. A call blocks the event loop for one round trip on the connection
 * (loopback: a fraction of a millisecond); the numbers are in docs/performance.md.
 */
import { createSyncFn } from 'synckit';
import type { SqlDriver, SqlStatement } from '../sql-driver.js';
import { bindValues, toPostgres } from './dialect.js';

type WorkerCall = (op: string, id: number, a?: unknown, b?: unknown, c?: unknown) => unknown;

let call: WorkerCall | undefined;
/** The one worker thread (all connections of the process live there), started on first use. */
export const worker = (): WorkerCall => (call ??= createSyncFn(new URL('./worker.mjs', import.meta.url).pathname) as WorkerCall);

interface QueryResult {
  rows: Record<string, unknown>[];
  changes: number;
}

export interface PgDriverOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** How long a lost connection is waited for (ms) before a call fails. */
  outageMs: number;
  /**
   * The connection was lost inside a transaction: its writes are gone, and what the process
   * holds in memory may say otherwise. Called before the error is thrown; the bridge exits
   * (its inbox is replayed at the next start, as after a crash).
   */
  onLost?: (err: Error) => void;
}

let statementNames = 0;

export class PgSyncDriver implements SqlDriver {
  readonly dialect = 'postgres';
  private readonly id: number;
  private depth = 0;
  private closed = false;
  private readonly onLost: (err: Error) => void;
  /** Set once a transaction was lost: its writes are gone, so nothing more is done on this store. */
  private lost: Error | undefined;

  constructor(opts: PgDriverOptions) {
    this.id = worker()('open', 0, opts.url, opts.outageMs) as number;
    this.onLost = opts.onLost ?? (() => undefined);
  }

  /** Every call to the worker; a connection lost inside a transaction ends it here. */
  private call(op: string, a?: unknown, b?: unknown, c?: unknown): unknown {
    if (this.lost && op !== 'close') throw this.lost;
    try {
      return worker()(op, this.id, a, b, c);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SB_CONNECTION_LOST') {
        this.depth = 0;
        this.lost = err as Error;
        this.onLost(err as Error);
      }
      throw err;
    }
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  get open(): boolean {
    return !this.closed;
  }

  prepare(sql: string): SqlStatement {
    const translated = toPostgres(sql);
    // Named: PostgreSQL parses and plans it once per connection.
    const statement = { text: translated.text, name: `sb${++statementNames}` };
    const run = (params: unknown[]) => this.query(statement, bindValues(translated, params));
    return {
      get: (...params) => run(params).rows[0],
      all: (...params) => run(params).rows,
      run: (...params) => ({ changes: run(params).changes }),
    };
  }

  /** One statement with values, outside the prepared ones (migrations' bookkeeping, tools). */
  query(statement: { text: string; name?: string }, values: unknown[] = []): QueryResult {
    return this.call('query', statement, values, this.inTransaction) as QueryResult;
  }

  exec(sql: string): void {
    const text = toPostgres(sql).text;
    const verb = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i.exec(text)?.[1]?.toUpperCase();
    this.call('exec', text, this.inTransaction && verb !== 'BEGIN');
    if (verb === 'BEGIN') this.depth = 1;
    else if (verb === 'COMMIT' || verb === 'ROLLBACK') this.depth = 0;
  }

  transaction<T>(fn: () => T): T {
    if (this.depth === 0) {
      this.exec('BEGIN');
      try {
        const result = fn();
        this.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.depth) this.exec('ROLLBACK');
        throw err;
      }
    }
    const savepoint = `sb_nested_${this.depth++}`;
    this.exec(`SAVEPOINT ${savepoint}`);
    try {
      const result = fn();
      this.exec(`RELEASE SAVEPOINT ${savepoint}`);
      return result;
    } catch (err) {
      this.exec(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      this.exec(`RELEASE SAVEPOINT ${savepoint}`);
      throw err;
    } finally {
      this.depth--;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call('close');
  }
}

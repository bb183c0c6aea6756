/**
 * What the SQL store needs of a database connection: synchronous prepared statements and
 * transactions (better-sqlite3 is synchronous; the PostgreSQL driver makes node-postgres so
 * through a worker thread, postgres/sync-driver.ts). The SQL is SQLite's; a driver for
 * another database translates it (postgres/dialect.ts), so every statement and migration
 * is written once.
 */
import type Database from 'better-sqlite3';

export type Row = Record<string, unknown>;
/** Positional values, or one object of named values (`@name` in the SQL). */
export type Params = unknown[];

export interface SqlStatement {
  get(...params: Params): unknown;
  all(...params: Params): unknown[];
  run(...params: Params): { changes: number };
}

export interface SqlDriver {
  /** `sqlite` or `postgres`: for the few rules that differ (store maintenance, readiness). */
  readonly dialect: 'sqlite' | 'postgres';
  prepare(sql: string): SqlStatement;
  /** Statements without parameters, several at once (migrations, BEGIN, COMMIT). */
  exec(sql: string): void;
  /** Run `fn` in a transaction; a nested call joins it as a savepoint. */
  transaction<T>(fn: () => T): T;
  readonly inTransaction: boolean;
  readonly open: boolean;
  close(): void;
}

/** better-sqlite3 is already this shape. */
export function sqliteDriver(db: Database.Database): SqlDriver {
  return {
    dialect: 'sqlite',
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => void db.exec(sql),
    transaction: (fn) => db.transaction(fn)(),
    get inTransaction() { return db.inTransaction; },
    get open() { return db.open; },
    close: () => void db.close(),
  };
}

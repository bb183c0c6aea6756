/**
 * The store the in-process tiers run on: SQLite in memory (or in a file), or, with
 * SWITCHBOARD_TEST_STORE=postgres, a fresh database of a PostgreSQL cluster this test file
 * starts on first use (and stops when its tests are done). `.ci/run` runs the core and
 * contract tiers both ways.
 */
import { after } from 'node:test';
import { PostgresStore } from '../../core/store/postgres/store.js';
import type { SqlStore } from '../../core/store/sql-store.js';
import { SqliteStore } from '../../core/store/sqlite.js';
import { Postgres } from '../harness/postgres.js';

export const TEST_STORE: 'sqlite' | 'postgres' = process.env.SWITCHBOARD_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

let cluster: Promise<Postgres> | undefined;
/** A `path` names one database: opening it again (a restart) finds what was written. */
const databases = new Map<string, string>();

// Registered only where a cluster may start: a top-level hook makes any importer (a benchmark) a test run.
if (TEST_STORE === 'postgres') {
  after(async () => {
    if (cluster) await (await cluster).stop();
  });
}

async function database(path: string | undefined): Promise<string> {
  cluster ??= Postgres.create().then(async (p) => {
    await p.start();
    return p;
  });
  const pg = await cluster;
  if (path && databases.has(path)) return databases.get(path)!;
  const url = await pg.createDatabase();
  if (path) databases.set(path, url);
  return url;
}

/** `path`: a file for SQLite, a name for the database on PostgreSQL; fresh and in memory when absent. */
export async function openTestStore(opts: { path?: string; loginDataKey?: string } = {}): Promise<SqlStore> {
  const keyed = opts.loginDataKey ? { loginDataKey: opts.loginDataKey } : {};
  if (TEST_STORE === 'sqlite') return new SqliteStore({ path: opts.path ?? ':memory:', ...keyed });
  return new PostgresStore({ url: await database(opts.path), outageMs: 10_000, ...keyed });
}

/** The process dies with the store open: what was not committed is gone. */
export function crashStore(store: SqlStore): void {
  store.driver.close();
}

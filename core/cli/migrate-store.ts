/**
 * `switchboard migrate-store --to postgres://...`: copies a deployment's SQLite store into
 * a PostgreSQL database, with the bridge stopped. Every table, row for row (login data
 * stays encrypted with the same key), then the row counts of both compared. Running it
 * again copies nothing twice (rows already there are kept), so an interrupted copy is
 * finished by running it again.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { migrate } from '../store/migrate.js';
import { PgSyncDriver } from '../store/postgres/sync-driver.js';
import { sqliteDriver } from '../store/sql-driver.js';

/** In an order where nothing refers to a row not yet copied (there are no foreign keys today; kept for when there are). */
const TABLES = ['portals', 'ghosts', 'logins', 'message_map', 'reactions', 'inbox', 'transactions', 'delivered_events'];
const BATCH = 500;

export interface TableCopy {
  table: string;
  source: number;
  copied: number;
  target: number;
}

export function migrateStore(sqlitePath: string, postgresUrl: string): TableCopy[] {
  if (!existsSync(sqlitePath)) throw new Error(`no SQLite database at ${sqlitePath} (store.path)`);
  const db = new Database(sqlitePath, { fileMustExist: true });
  const target = new PgSyncDriver({ url: postgresUrl, outageMs: 30_000 });
  try {
    // Both at the newest schema, so their columns are the same.
    migrate(sqliteDriver(db));
    migrate(target);
    return TABLES.map((table) => copyTable(db, target, table));
  } finally {
    target.close();
    db.close();
  }
}

function copyTable(db: Database.Database, target: PgSyncDriver, table: string): TableCopy {
  const columns = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name);
  const count = (where: 'source' | 'target') =>
    where === 'source'
      ? (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
      : Number(target.query({ text: `SELECT count(*) AS n FROM ${table}` }).rows[0]!.n);
  let copied = 0;
  target.transaction(() => {
    // In SQLite's rowid order: PostgreSQL's rowid column (dialect.ts) numbers them in the same order.
    const rows = db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY rowid`).raw().iterate() as Iterable<unknown[]>;
    let batch: unknown[][] = [];
    const flush = () => {
      if (!batch.length) return;
      const values = batch.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
      copied += target.query({ text: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ON CONFLICT DO NOTHING` }, batch.flat()).changes;
      batch = [];
    };
    for (const row of rows) {
      batch.push(row);
      if (batch.length === BATCH) flush();
    }
    flush();
    // Rows inserted with their own seq: the identity continues after the highest.
    if (table === 'inbox') target.query({ text: "SELECT setval(pg_get_serial_sequence('inbox', 'seq'), GREATEST((SELECT max(seq) FROM inbox), 1))" });
  });
  return { table, source: count('source'), copied, target: count('target') };
}

export function copyReport(copies: TableCopy[]): { text: string; ok: boolean } {
  const lines = ['| table | SQLite rows | copied now | PostgreSQL rows |', '|---|---:|---:|---:|'];
  for (const c of copies) lines.push(`| ${c.table} | ${c.source} | ${c.copied} | ${c.target} |`);
  const bad = copies.filter((c) => c.source !== c.target);
  const ok = bad.length === 0;
  lines.push('', ok
    ? 'Every table has the same number of rows in both. Set store.url in the config (keep store.path: its .key file, or store.login_data_key, decrypts the logins) and start the bridge.'
    : `Row counts differ for ${bad.map((c) => c.table).join(', ')}: the PostgreSQL database holds rows the SQLite file does not (another bridge's, or written since a first copy). The SQLite file is unchanged; copy into an empty database.`);
  return { text: lines.join('\n'), ok };
}

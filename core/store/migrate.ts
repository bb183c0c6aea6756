/**
 * Applies the numbered SQL files in ./migrations (NNNN-name.sql), each in its own
 * transaction, in order, once. Files are never edited after they land: a change to
 * the schema is a new file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SqlDriver } from './sql-driver.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const m = /^(\d{4})-([a-z0-9-]+)\.sql$/.exec(file);
      if (!m) throw new Error(`migration file ${file} is not named NNNN-name.sql`);
      return { version: Number(m[1]), name: m[2]!, sql: readFileSync(dir + file, 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 0001, 0002, ... without gaps; found ${m.version} at position ${i + 1}`);
  });
  return migrations;
}

/** Returns the versions it applied. */
export function migrate(db: SqlDriver, migrations = loadMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const newest = migrations.at(-1)?.version ?? 0;
  const unknown = [...applied].filter((v) => v > newest);
  if (unknown.length) throw new Error(`database has schema version ${Math.max(...unknown)}, newer than this Switchboard knows (${newest}); upgrade Switchboard`);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    });
    done.push(m.version);
  }
  return done;
}

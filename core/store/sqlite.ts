/** The SQLite Store (better-sqlite3, WAL): the embedded default, `store.path`. */
import Database from 'better-sqlite3';
import { Checkpointer } from './checkpointer.js';
import { migrate } from './migrate.js';
import { sqliteDriver } from './sql-driver.js';
import { SqlStore, type SqlStoreOptions } from './sql-store.js';

export interface SqliteStoreOptions extends SqlStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /** Told when a background WAL checkpoint fails (the WAL then grows until one succeeds). */
  onCheckpointError?: (message: string) => void;
}

function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a process crash (what the inbox guards against);
  // only an OS crash or power loss can lose the last transactions.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

export class SqliteStore extends SqlStore {
  readonly db: Database.Database;
  private readonly checkpointer: Checkpointer | undefined;

  constructor(opts: SqliteStoreOptions) {
    const db = openDatabase(opts.path);
    const driver = sqliteDriver(db);
    migrate(driver);
    super(driver, opts);
    this.db = db;
    if (opts.path !== ':memory:') {
      // Checkpoints move to a worker (checkpointer.ts); the commit path never runs one.
      db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer(opts.path, opts.onCheckpointError ?? (() => undefined));
    }
  }

  writable(): boolean {
    if (!this.db.open) return false;
    if (this.db.inTransaction) return true; // a group is open: it holds the write lock already
    // Takes the write lock without writing: fails if the file is read-only or another process
    // holds the lock past a short wait (a health check must answer, not wait 5 s).
    this.db.pragma('busy_timeout = 200');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      return true;
    } catch {
      return false;
    } finally {
      this.db.pragma('busy_timeout = 5000');
    }
  }

  protected scrubFreedSpace(): void {
    // The old plain text must not linger in free pages or in the WAL's older frames.
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Resolves once the checkpoint worker has let go of the files too. */
  override async close() {
    await super.close();
    await this.checkpointer?.stop();
  }
}

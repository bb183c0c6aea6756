/**
 * The PostgreSQL Store (`store.url`): the SQL store of sql-store.ts over a synchronous
 * node-postgres connection (sync-driver.ts), the same statements and migrations translated
 * by dialect.ts. Durable before acknowledged, as on SQLite: a group commits once per
 * event-loop turn and `durable()` resolves after its COMMIT.
 */
import { migrate } from '../migrate.js';
import { SqlStore, type SqlStoreOptions } from '../sql-store.js';
import { PgSyncDriver } from './sync-driver.js';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** How long an unreachable server is waited for, at start and between transactions (default 5 minutes). */
  outageMs?: number;
  /** The connection was lost inside a transaction (see PgDriverOptions.onLost). */
  onLost?: (err: Error) => void;
}

const DEFAULT_OUTAGE_MS = 5 * 60_000;
/** Held while migrating: two bridge processes starting at once (a leader and its standby) migrate one after the other. */
const MIGRATION_LOCK_KEY = 0x53776d67;

export class PostgresStore extends SqlStore {
  declare readonly driver: PgSyncDriver;

  constructor(opts: PostgresStoreOptions) {
    const driver = new PgSyncDriver({ url: opts.url, outageMs: opts.outageMs ?? DEFAULT_OUTAGE_MS, ...(opts.onLost && { onLost: opts.onLost }) });
    driver.query({ text: 'SELECT pg_advisory_lock($1)' }, [MIGRATION_LOCK_KEY]);
    try {
      migrate(driver);
    } finally {
      driver.query({ text: 'SELECT pg_advisory_unlock($1)' }, [MIGRATION_LOCK_KEY]);
    }
    super(driver, opts);
  }

  writable(): boolean {
    try {
      // A standby server in recovery answers but takes no writes.
      return this.driver.query({ text: 'SELECT pg_is_in_recovery() AS standby' }).rows[0]?.standby === false;
    } catch {
      return false;
    }
  }

  protected scrubFreedSpace(): void {
    // Old row versions holding the plain text go; WAL segments are recycled by the server.
    this.driver.exec('VACUUM logins');
  }
}

/**
 * The store a config asks for: SQLite at `store.path` (the embedded default), or
 * PostgreSQL at `store.url`; with its login data key (configured, or kept in a key file).
 */
import { resolve } from 'node:path';
import type { Logger } from '../adapter.js';
import type { Config } from '../config.js';
import { PostgresStore } from './postgres/store.js';
import { loginDataKey, preparePrivateFiles, type PrivateFilesReport } from './private-files.js';
import type { SqlStore } from './sql-store.js';
import { SqliteStore } from './sqlite.js';

export interface OpenedStore {
  store: SqlStore;
  key: PrivateFilesReport['key'];
  /** Where the data is, for the log (never the password). */
  where: string;
}

export interface OpenStoreHooks {
  onCommit?: (seconds: number) => void;
  /** PostgreSQL's connection was lost inside a transaction: the process must end (its inbox replays at the next start). */
  onLost?: (err: Error) => void;
}

export function openStore(config: Config, baseDir: string, log: Logger, hooks: OpenStoreHooks = {}): OpenedStore {
  const { store: section } = config;
  const keyFile = section.login_data_key_file && resolve(baseDir, section.login_data_key_file);
  if (section.url) {
    // The same key file as SQLite's by default (`<store.path>.key`): a store moved there (migrate-store) keeps its key.
    const key = loginDataKey(section.login_data_key, keyFile ?? `${resolve(baseDir, section.path)}.key`);
    const url = new URL(section.url);
    const where = `postgres://${url.host}${url.pathname}`;
    log.info({ store: where }, 'connecting to PostgreSQL (waiting while it is unreachable)');
    const store = new PostgresStore({ url: section.url, outageMs: section.outage_timeout_s * 1000, loginDataKey: key.value, ...hooks });
    return { store, key, where };
  }
  const path = resolve(baseDir, section.path);
  const files = preparePrivateFiles(path, section.login_data_key, keyFile);
  for (const warning of files.warnings) log.warn({}, warning);
  const store = new SqliteStore({
    path,
    loginDataKey: files.key.value,
    onCheckpointError: (message) => log.warn({ err: message }, 'background WAL checkpoint failed; retrying'),
    ...(hooks.onCommit && { onCommit: hooks.onCommit }),
  });
  return { store, key: files.key, where: path };
}

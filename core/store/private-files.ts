/**
 * The files the bridge keeps hold secrets (login keys, message history): created 0600,
 * in a 0700 directory when the bridge makes it, and login data is never stored without
 * encryption. When no `store.login_data_key` is configured, a random key is generated on
 * first start into a key file beside the database (0600), and used from then on.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PrivateFilesReport {
  /** Where the login data key came from. */
  key: { source: 'config' | 'key-file' | 'generated'; file?: string; value: string };
  /** Things an admin should fix, said at start. */
  warnings: string[];
}

/** Everything this process creates from now on is private to its user (0600 files, 0700 directories). */
export function makeCreatedFilesPrivate(): void {
  process.umask(0o077);
}

/**
 * Prepare the database's directory and files and find the login data key. `keyFile`
 * defaults to `<database>.key`. Existing database files that others may read are made 0600.
 */
export function preparePrivateFiles(dbPath: string, configuredKey: string | undefined, keyFile = `${dbPath}.key`): PrivateFilesReport {
  const warnings: string[] = [];
  const dir = dirname(dbPath);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if (statSync(dir).mode & 0o077) warnings.push(`the database directory ${dir} may be read by other users (chmod 700 it, or move store.path into a private directory)`);
  for (const file of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
    if (existsSync(file) && statSync(file).mode & 0o077) chmodSync(file, 0o600);
  }
  return { key: loginDataKey(configuredKey, keyFile), warnings };
}

/** The login data key: configured, else read from `keyFile`, else generated into it (0600). */
export function loginDataKey(configuredKey: string | undefined, keyFile: string): PrivateFilesReport['key'] {
  if (configuredKey) return { source: 'config', value: configuredKey };
  if (existsSync(keyFile)) {
    if (statSync(keyFile).mode & 0o077) chmodSync(keyFile, 0o600);
    const value = readFileSync(keyFile, 'utf8').trim();
    if (value.length < 16) throw new Error(`the login data key file ${keyFile} holds fewer than 16 characters; restore it from your backup`);
    return { source: 'key-file', file: keyFile, value };
  }
  const value = randomBytes(32).toString('base64url');
  // 'wx': never overwrite a key another process just wrote.
  writeFileSync(keyFile, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { source: 'generated', file: keyFile, value };
}

/** Whether a file (the config, which holds tokens) may be read by users other than its owner. */
export function readableByOthers(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/**
 * `switchboard migrate-identifiers`: the bot command's work (identity/migrate.ts) from the
 * command line, with the bridge stopped: the store, the Matrix side (no listener) and the
 * engine's context, without starting any network.
 */
import { existsSync } from 'node:fs';
import { destination } from 'pino';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { Engine } from '../pipeline/engine.js';
import { createLogger } from '../log.js';
import { AppserviceMatrixSide } from '../matrix/appservice.js';
import { readRegistration } from '../matrix/registration.js';
import { Naming } from '../identity/naming.js';
import { identifiersSecretFrom } from '../identity/phone-config.js';
import { migrateIdentifiers, migrationReport } from '../identity/migrate.js';
import { openStore } from '../store/open.js';
import { makeCreatedFilesPrivate } from '../store/private-files.js';
import { builtInAdapters } from '../../bridges/index.js';

export async function migrateIdentifiersFromCli(config: Config, baseDir: string, version: string): Promise<string> {
  // Logs go to stderr: stdout is the report.
  const log = createLogger(config.logging.level === 'debug' ? 'info' : 'warn', destination(2));
  const naming = new Naming(config);
  const registration = readRegistration(resolve(baseDir, config.appservice.registration), config, naming);
  makeCreatedFilesPrivate();
  const dbPath = resolve(baseDir, config.store.path);
  if (!config.store.url && !existsSync(dbPath)) throw new Error(`no database at ${dbPath} (store.path): the bridge has not run with this config yet`);
  const { store, key } = openStore(config, baseDir, log);
  try {
    const matrix = new AppserviceMatrixSide(config, registration, naming, log.child({ part: 'matrix' }));
    await matrix.start();
    const engine = new Engine({ config, store, matrix, adapters: await builtInAdapters(config), log, version, identifiersSecret: identifiersSecretFrom(key.value) });
    return migrationReport(engine.ctx.naming, await migrateIdentifiers(engine.ctx));
  } finally {
    await store.close();
  }
}

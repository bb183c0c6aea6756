/**
 * The `switchboard` command: generate-registration, check-config, audit,
 * migrate-identifiers, start (default).
 * Exit codes: 0 ok, 1 bad config or registration, 2 start-up failure.
 */
import { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { loadConfigFile, type Config } from '../config.js';
import { Naming } from '../identity/naming.js';
import { buildRegistration, readRegistration, writeRegistration } from '../matrix/registration.js';
import { builtInAdapters } from '../../bridges/index.js';
import { runBridge } from './run.js';
import { migrateIdentifiersFromCli } from './migrate.js';
import { copyReport, migrateStore } from './migrate-store.js';
import { loadNetworks } from '../networks.js';
import { openStore } from '../store/open.js';
import { silentLogger } from '../log.js';
import { auditText, phoneAudit } from '../identity/audit.js';
import { phoneIdentifiers } from '../identity/phone-config.js';
import { packageVersion } from './version.js';

const VERSION = packageVersion();

function load(configPath: string): { config: Config; base: string } {
  const config = loadConfigFile(configPath);
  return { config, base: dirname(resolve(configPath)) };
}

function fail(code: number, message: string): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(code);
}

const program = new Command()
  .name('switchboard')
  .description('A Matrix bridge to several networks at once')
  .version(VERSION)
  .option('-c, --config <file>', 'config file', 'config.yaml');

program
  .command('generate-registration')
  .description('write the appservice registration file (with fresh random tokens) for your homeserver')
  .option('-r, --registration <file>', 'where to write it (default: appservice.registration from the config)')
  .action((opts: { registration?: string }) => {
    try {
      const { config, base } = load(program.opts<{ config: string }>().config);
      const file = resolve(base, opts.registration ?? config.appservice.registration);
      const reg = buildRegistration(config, new Naming(config));
      writeRegistration(file, reg);
      process.stdout.write(`Wrote ${file}\n  id: ${reg.id}\n  url: ${reg.url}\n  bot: @${reg.sender_localpart}:${config.homeserver.domain}\n  users: ${reg.namespaces.users.map((u) => u.regex).join('  ')}\nAdd it to homeserver.yaml:\n  app_service_config_files:\n    - ${file}\nthen restart the homeserver.\n`);
    } catch (err) {
      fail(1, (err as Error).message);
    }
  });

program
  .command('check-config')
  .description('validate the config, every network section and the registration, then exit')
  .action(async () => {
    try {
      const { config, base } = load(program.opts<{ config: string }>().config);
      loadNetworks(config, await builtInAdapters(config));
      const regFile = resolve(base, config.appservice.registration);
      let regNote = `registration ${regFile} matches`;
      try {
        readRegistration(regFile, config, new Naming(config));
      } catch (err) {
        regNote = `registration: ${(err as Error).message}`;
        process.stdout.write(`Config OK, but ${regNote}\n`);
        process.exit(1);
      }
      process.stdout.write(`Config OK: homeserver ${config.homeserver.url} (${config.homeserver.domain}), listening on ${config.appservice.bind_address}:${config.appservice.port}, networks: ${Object.keys(config.networks).join(', ') || 'none'}; ${regNote}; encryption: ${config.encryption.allow ? `on (device ${config.encryption.device_id}${config.encryption.require ? ', required' : config.encryption.default ? ', new rooms encrypted' : ''}; Synapse needs experimental_features msc2409_to_device_messages_enabled and msc3202_transaction_extensions)` : 'off'}\n`);
    } catch (err) {
      fail(1, (err as Error).message);
    }
  });

program
  .command('audit')
  .description('count the phone numbers the bridge holds, by country, network and place (never the numbers themselves)')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    try {
      const { config, base } = load(program.opts<{ config: string }>().config);
      // Reads what the running bridge keeps (SQLite WAL: a reader beside the bridge is fine); no login data is decrypted.
      const path = resolve(base, config.store.path);
      if (!config.store.url && !existsSync(path)) throw new Error(`no database at ${path} (store.path): the bridge has not run with this config yet`);
      const { store } = openStore(config, base, silentLogger());
      const audit = phoneAudit(store, phoneIdentifiers(config, undefined));
      await store.close();
      process.stdout.write(`${opts.json ? JSON.stringify(audit, null, 2) : auditText(audit)}\n`);
    } catch (err) {
      fail(1, (err as Error).message);
    }
  });

program
  .command('migrate-identifiers')
  .description('with the bridge stopped: give ghosts whose Matrix ID still holds a phone number a pseudonymous successor in their rooms')
  .action(async () => {
    try {
      const { config, base } = load(program.opts<{ config: string }>().config);
      process.stdout.write(`${await migrateIdentifiersFromCli(config, base, VERSION)}\n`);
      process.exit(0); // the Matrix library keeps timers alive
    } catch (err) {
      fail(2, (err as Error).message);
    }
  });

program
  .command('migrate-store')
  .description('with the bridge stopped: copy the SQLite store (store.path) into a PostgreSQL database, and compare the row counts')
  .requiredOption('--to <url>', 'the PostgreSQL database, postgres://user:password@host:port/database')
  .action((opts: { to: string }) => {
    try {
      const { config, base } = load(program.opts<{ config: string }>().config);
      if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new Error('--to must be a postgres:// URL');
      const report = copyReport(migrateStore(resolve(base, config.store.path), opts.to));
      process.stdout.write(`${report.text}\n`);
      process.exit(report.ok ? 0 : 1);
    } catch (err) {
      fail(2, (err as Error).message);
    }
  });

program
  .command('start', { isDefault: true })
  .description('run the bridge')
  .action(async () => {
    let loaded;
    try {
      loaded = load(program.opts<{ config: string }>().config);
    } catch (err) {
      fail(1, (err as Error).message);
    }
    try {
      await runBridge(loaded.config, loaded.base, VERSION, resolve(program.opts<{ config: string }>().config));
    } catch (err) {
      fail(2, (err as Error).message);
    }
  });

// Not a top-level await: the production bundle is CommonJS (scripts/bundle.mjs), so that
// Node 20 can keep its compiled code between starts (bin/code-cache.mjs).
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

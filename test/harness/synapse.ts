/**
 * A real Synapse on 127.0.0.1 for tests: installed from PyPI into a virtualenv cached
 * outside the clone (rebuilt when missing or at another version), SQLite, federation
 * off, the bridge's registration loaded, users created with the shared-secret admin API.
 *
 * Rate limits: the bridge's own users are exempt through `rate_limited: false` in its
 * registration, as a real admin sets it for a bridge. Human test users keep Synapse's
 * defaults except messages and logins, raised because one test user sends far faster
 * than a person would.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';
import { cachedVenvPath, ensureVenv } from './venv.js';

export const SYNAPSE_VERSION = '1.163.2';

export function synapseVenvPath(): string {
  return process.env.SWITCHBOARD_SYNAPSE_VENV ?? cachedVenvPath('synapse-venv');
}

/** Synapse's PostgreSQL driver, from PyPI into the same venv, the first time a test asks for it. */
function ensurePsycopg(venv: string): void {
  const python = join(venv, 'bin', 'python');
  try {
    execFileSync(python, ['-c', 'import psycopg2'], { stdio: 'ignore' });
  } catch {
    execFileSync(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'psycopg2-binary'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  }
}

/** Make sure the venv holds Synapse SYNAPSE_VERSION. */
export function ensureSynapse(log: (line: string) => void = () => undefined): string {
  return ensureVenv(synapseVenvPath(), {
    requirements: [`matrix-synapse==${SYNAPSE_VERSION}`],
    probe: 'import synapse; print(synapse.__version__)',
    version: SYNAPSE_VERSION,
    what: 'matrix-synapse',
  }, log);
}

export interface SynapseOptions {
  dir: string;
  serverName?: string;
  port?: number;
  /** Appservice registration files to load. */
  registrations?: string[];
  /** A PostgreSQL database for Synapse (UTF8, C collation), instead of its SQLite file. */
  postgres?: { host: string; port: number; user: string; database: string };
}

export interface MatrixAccount {
  userId: string;
  accessToken: string;
  password: string;
}

export class Synapse {
  private proc: ServerProcess | undefined;
  readonly serverName: string;
  readonly url: string;
  private readonly sharedSecret = randomBytes(24).toString('hex');

  private constructor(private readonly opts: SynapseOptions & { port: number }) {
    this.serverName = opts.serverName ?? 'switchboard.test';
    this.url = `http://127.0.0.1:${opts.port}`;
  }

  /** Write the config (once) and pick the port; `start()` runs it. */
  static async create(opts: SynapseOptions): Promise<Synapse> {
    const s = new Synapse({ ...opts, port: opts.port ?? (await freePort()) });
    s.writeConfig();
    return s;
  }

  get port(): number {
    return this.opts.port;
  }

  get process(): ServerProcess | undefined {
    return this.proc;
  }

  private get configFile(): string {
    return join(this.opts.dir, 'homeserver.yaml');
  }

  private writeConfig(): void {
    const dir = this.opts.dir;
    mkdirSync(join(dir, 'media_store'), { recursive: true });
    const config = {
      server_name: this.serverName,
      pid_file: join(dir, 'homeserver.pid'),
      public_baseurl: `${this.url}/`,
      listeners: [{ port: this.opts.port, bind_addresses: ['127.0.0.1'], type: 'http', tls: false, x_forwarded: false, resources: [{ names: ['client', 'openid'], compress: false }] }],
      database: this.opts.postgres
        ? { name: 'psycopg2', args: { host: this.opts.postgres.host, port: this.opts.postgres.port, user: this.opts.postgres.user, dbname: this.opts.postgres.database, cp_min: 5, cp_max: 10 } }
        : { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } },
      log_config: join(dir, 'log.config'),
      media_store_path: join(dir, 'media_store'),
      enable_authenticated_media: true,
      registration_shared_secret: this.sharedSecret,
      report_stats: false,
      macaroon_secret_key: randomBytes(24).toString('hex'),
      form_secret: randomBytes(24).toString('hex'),
      signing_key_path: join(dir, 'signing.key'),
      trusted_key_servers: [],
      suppress_key_server_warning: true,
      federation_domain_whitelist: [],
      presence: { enabled: true },
      app_service_config_files: this.opts.registrations ?? [],
      // What end-to-bridge encryption needs (docs/encryption.md): to-device messages, device
      // list changes and one-time key counts in appservice transactions (MSC2409/MSC3202).
      experimental_features: { msc2409_to_device_messages_enabled: true, msc3202_transaction_extensions: true },
      rc_message: { per_second: 50, burst_count: 200 },
      // Tests change a user's presence several times in a few seconds (the default allows one per 10 s).
      rc_presence: { per_user: { per_second: 10, burst_count: 100 } },
      rc_login: { address: { per_second: 10, burst_count: 100 }, account: { per_second: 10, burst_count: 100 } },
    };
    writeFileSync(this.configFile, stringify(config));
    writeFileSync(join(dir, 'log.config'), stringify({
      version: 1,
      formatters: { precise: { format: '%(asctime)s %(levelname)s %(name)s: %(message)s' } },
      handlers: { console: { class: 'logging.StreamHandler', formatter: 'precise' } },
      loggers: { 'synapse.storage.SQL': { level: 'WARNING' }, 'synapse.access.http': { level: 'INFO' } },
      root: { level: 'INFO', handlers: ['console'] },
      disable_existing_loggers: false,
    }));
    // Synapse's signing key file: "ed25519 <key id> <unpadded base64 seed>"; made here
    // rather than by a separate `--generate-keys` run, which costs seconds.
    if (!existsSync(join(dir, 'signing.key'))) {
      const der = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
      const seed = der.subarray(der.length - 32).toString('base64').replace(/=+$/, '');
      writeFileSync(join(dir, 'signing.key'), `ed25519 a_test ${seed}\n`);
    }
  }

  /** Synapse's log (its access log included: one line per request, with the path). */
  get logFile(): string {
    return join(this.opts.dir, 'homeserver.log');
  }

  async start(timeoutMs = 90_000): Promise<void> {
    const venv = ensureSynapse();
    if (this.opts.postgres) ensurePsycopg(venv);
    this.proc = spawnServer('synapse', join(venv, 'bin', 'python'), ['-m', 'synapse.app.homeserver', '-c', this.configFile], {
      cwd: this.opts.dir,
      logFile: this.logFile,
    });
    await waitReady(this.proc, `GET ${this.url}/health`, async () => (await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) })).ok, timeoutMs);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** Create a user with the shared-secret admin registration API. */
  async register(localpart: string, password = `${localpart}-pass`, admin = false): Promise<MatrixAccount> {
    const endpoint = `${this.url}/_synapse/admin/v1/register`;
    const { nonce } = (await (await fetch(endpoint)).json()) as { nonce: string };
    const mac = createHmac('sha1', this.sharedSecret).update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0')).digest('hex');
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nonce, username: localpart, password, admin, mac }) });
    const body = (await res.json()) as { user_id?: string; access_token?: string; error?: string };
    if (!res.ok || !body.user_id || !body.access_token) throw new Error(`registering ${localpart} on Synapse failed: ${res.status} ${JSON.stringify(body)}`);
    return { userId: body.user_id, accessToken: body.access_token, password };
  }
}

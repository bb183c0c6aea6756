/**
 * The bridge as a child process, through its real CLI and a real config file, so tests
 * can kill it (any signal) and start it again on the same database.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';
import { assertBuilt } from './built.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The start command admins use (README, contrib/switchboard.service): the bridge process itself, compiled (dist/). */
export const BIN = join(REPO_ROOT, 'bin', 'switchboard.mjs');

export interface BridgeOptions {
  dir: string;
  homeserverUrl: string;
  domain: string;
  /** Loopback network settings (relay_user, puppets...); the control API is added. */
  loopback?: Record<string, unknown>;
  permissions?: Record<string, string>;
  logLevel?: string;
  /** More network sections besides loopback (xmpp, ...). */
  networks?: Record<string, unknown>;
  /** More top-level config sections (provisioning, ...), merged in as given. */
  extra?: Record<string, unknown>;
  /** Serve public media links on the appservice port (public_media), at 127.0.0.1. */
  publicMedia?: boolean;
  /** The URL the homeserver calls (the registration's), when a proxy stands in front (a hot standby). */
  publicUrl?: string;
}

export class BridgeProcess {
  private proc: ServerProcess | undefined;
  private runs = 0;
  readonly configFile: string;
  readonly registrationFile: string;

  private constructor(readonly dir: string, readonly port: number, readonly controlPort: number) {
    this.configFile = join(dir, 'config.yaml');
    this.registrationFile = join(dir, 'registration.yaml');
  }

  /** Write config.yaml and, through the CLI, registration.yaml. */
  static async create(opts: BridgeOptions): Promise<BridgeProcess> {
    mkdirSync(opts.dir, { recursive: true });
    const b = new BridgeProcess(opts.dir, await freePort(), await freePort());
    const config = {
      homeserver: { url: opts.homeserverUrl, domain: opts.domain },
      appservice: { bind_address: '127.0.0.1', port: b.port, url: opts.publicUrl ?? `http://127.0.0.1:${b.port}`, registration: 'registration.yaml' },
      bridge: { permissions: opts.permissions ?? { '*': 'relay', [opts.domain]: 'user' } },
      store: { path: 'switchboard.db' },
      logging: { level: opts.logLevel ?? 'debug' },
      networks: { loopback: { state_file: join(opts.dir, 'loopback-world.json'), ...opts.loopback, control: { port: b.controlPort } }, ...opts.networks },
      ...(opts.publicMedia && { public_media: { enabled: true, url: `http://127.0.0.1:${b.port}/_switchboard/media`, signing_key: randomBytes(18).toString('base64url') } }),
      ...opts.extra,
    };
    writeFileSync(b.configFile, stringify(config));
    await b.cli('generate-registration');
    return b;
  }

  /**
   * A second process of the same bridge (a hot standby): the same registration, store and
   * login data key, its own appservice and control ports, its own dir and logs.
   */
  static async standbyOf(primary: BridgeProcess, dir: string): Promise<BridgeProcess> {
    mkdirSync(dir, { recursive: true });
    const b = new BridgeProcess(dir, await freePort(), await freePort());
    const config = parse(readFileSync(primary.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
    config.appservice = { ...config.appservice, port: b.port, registration: primary.registrationFile };
    config.store = { ...config.store, login_data_key_file: join(primary.dir, 'switchboard.db.key') };
    const networks = config.networks as Record<string, Record<string, unknown>>;
    networks.loopback = { ...networks.loopback, state_file: join(dir, 'loopback-world.json'), control: { port: b.controlPort } };
    writeFileSync(b.configFile, stringify(config));
    return b;
  }

  get controlUrl(): string {
    return `http://127.0.0.1:${this.controlPort}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get process(): ServerProcess | undefined {
    return this.proc;
  }

  /** Run a CLI subcommand to completion; resolves with its stdout. */
  async cli(...args: string[]): Promise<string> {
    assertBuilt(REPO_ROOT);
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, '-c', this.configFile, ...args], { cwd: REPO_ROOT });
    return stdout;
  }

  /** Start `switchboard start`; with `waitReady`, resolve once it logs "bridge ready". */
  /** `entry`: Node's arguments before the CLI's own (default: the compiled bin; bench/restart.ts compares the TypeScript sources). */
  async start(opts: { waitReady?: boolean; timeoutMs?: number; entry?: string[] } = {}): Promise<ServerProcess> {
    if (this.proc?.isRunning()) throw new Error('bridge already running');
    if (!opts.entry) assertBuilt(REPO_ROOT);
    const proc = spawnServer('bridge', process.execPath, [...(opts.entry ?? [BIN]), '-c', this.configFile, 'start'], {
      cwd: REPO_ROOT,
      logFile: join(this.dir, `bridge-${++this.runs}.log`),
    });
    this.proc = proc;
    if (opts.waitReady ?? true) await this.ready(opts.timeoutMs);
    return proc;
  }

  /** Wait for this run's "bridge ready" log line. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const proc = this.proc;
    if (!proc) throw new Error('bridge not started');
    await waitReady(proc, '"bridge ready" in its log', async () => proc.output().includes('"msg":"bridge ready"'), timeoutMs);
  }

  /** SIGTERM (clean drain) by default; SIGKILL for a crash. Resolves when it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string | undefined> {
    const proc = this.proc;
    if (!proc?.isRunning()) return undefined;
    if (signal === 'SIGTERM') await proc.stop();
    else proc.signal(signal);
    return proc.exited;
  }
}

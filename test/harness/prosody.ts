/**
 * A real Prosody (Debian package) on 127.0.0.1 for tests: its own config, data dir and
 * self-signed certificate, s2s off, a MUC component with room locking off, HTTP File
 * Upload, and test users. Clients trust the certificate through NODE_EXTRA_CA_CERTS
 * (`certFile`), so TLS verification stays on.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages, PROSODY } from './apt.js';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';
import { canConnect } from './tcp.js';

export interface ProsodyOptions {
  dir: string;
  domain?: string;
}

const lua = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal for our paths

export class Prosody {
  private proc: ServerProcess | undefined;
  readonly domain: string;
  readonly mucDomain: string;
  readonly uploadDomain: string;
  /** The XMPP federation gateway's component (XEP-0114) and its secret. */
  readonly gatewayDomain: string;
  /** Its second component, where Matrix rooms are MUCs. */
  readonly gatewayMucDomain: string;
  readonly gatewaySecret = randomBytes(12).toString('hex');
  readonly configFile: string;
  readonly certFile: string;

  private constructor(readonly dir: string, readonly c2sPort: number, readonly httpPort: number, readonly componentPort: number, domain: string) {
    this.domain = domain;
    this.gatewayDomain = `matrix.${domain}`;
    this.gatewayMucDomain = `muc.matrix.${domain}`;
    this.mucDomain = `conference.${domain}`;
    this.uploadDomain = `upload.${domain}`;
    this.configFile = join(dir, 'prosody.cfg.lua');
    this.certFile = join(dir, 'certs', `${domain}.crt`);
  }

  static async create(opts: ProsodyOptions): Promise<Prosody> {
    ensureDebianPackages([PROSODY]);
    const p = new Prosody(opts.dir, await freePort(), await freePort(), await freePort(), opts.domain ?? 'xmpp.test');
    p.writeConfig();
    return p;
  }

  get process(): ServerProcess | undefined {
    return this.proc;
  }

  private writeConfig(): void {
    const certs = join(this.dir, 'certs');
    mkdirSync(certs, { recursive: true });
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const key = join(certs, `${this.domain}.key`);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-keyout', key, '-out', this.certFile, '-subj', `/CN=${this.domain}`,
      '-addext', `subjectAltName=DNS:${this.domain},DNS:*.${this.domain}`,
    ], { stdio: 'ignore' });
    writeFileSync(this.configFile, `-- Written by the Switchboard test harness.
run_as_root = true
pidfile = ${lua(join(this.dir, 'prosody.pid'))}
data_path = ${lua(join(this.dir, 'data'))}
interfaces = { "127.0.0.1" }
c2s_ports = { ${this.c2sPort} }
c2s_direct_tls_ports = {}
s2s_ports = {}
http_ports = { ${this.httpPort} }
component_ports = { ${this.componentPort} }
component_interfaces = { "127.0.0.1" }
http_interfaces = { "127.0.0.1" }
https_ports = {}
http_host = "127.0.0.1"
http_external_url = "http://127.0.0.1:${this.httpPort}/"
modules_enabled = {
  "roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private"; "blocklist";
  "vcard4"; "vcard_legacy"; "version"; "uptime"; "time"; "ping"; "mam"; "smacks";
  "bookmarks"; "csi_simple"; "admin_shell";
}
modules_disabled = { "s2s"; "offline" }
allow_registration = false
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
archive_expires_after = "never"
log = { { levels = { min = "info" }, to = "console" } }
certificates = ${lua(certs)}
ssl = { certificate = ${lua(this.certFile)}, key = ${lua(key)} }

VirtualHost ${lua(this.domain)}

Component ${lua(this.mucDomain)} "muc"
  modules_enabled = { "muc_mam" }
  muc_room_locking = false
  -- Rooms outlive their last occupant and a server restart, as most public MUCs do.
  muc_room_default_persistent = true
  restrict_room_creation = false

Component ${lua(this.uploadDomain)} "http_file_share"
  http_file_share_size_limit = 10485760

Component ${lua(this.gatewayDomain)}
  component_secret = ${lua(this.gatewaySecret)}

Component ${lua(this.gatewayMucDomain)}
  component_secret = ${lua(this.gatewaySecret)}
`);
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.proc = spawnServer('prosody', 'prosody', ['--config', this.configFile, '-F'], { cwd: this.dir, logFile: join(this.dir, 'prosody.log') });
    await waitReady(this.proc, `c2s port ${this.c2sPort} and component port ${this.componentPort}`, async () => (await canConnect(this.c2sPort)) && canConnect(this.componentPort), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** Create an account (works whether or not the server is running). */
  register(user: string, password = `${user}-pass`): { jid: string; password: string } {
    try {
      execFileSync('prosodyctl', ['--config', this.configFile, 'register', user, this.domain, password], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
      throw new Error(`prosodyctl register ${user}@${this.domain} failed: ${e.stderr?.toString() || e.stdout?.toString() || e.message}`);
    }
    return { jid: `${user}@${this.domain}`, password };
  }

  /**
   * Create many accounts through one admin-console session (the server must be running):
   * a thousand take a second, where `register` starts prosodyctl once per account.
   */
  registerMany(accounts: { user: string; password: string }[]): void {
    const script = accounts.map((a) => `user:create(${lua(`${a.user}@${this.domain}`)}, ${lua(a.password)})\n`).join('');
    const out = execFileSync('prosodyctl', ['--config', this.configFile, 'shell'], { input: script, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const created = out.split('OK: User created').length - 1;
    if (created !== accounts.length) throw new Error(`prosodyctl shell created ${created} of ${accounts.length} accounts:\n${out.slice(-2000)}`);
  }
}

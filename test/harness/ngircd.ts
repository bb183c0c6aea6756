/**
 * A real ngircd (Debian package) on 127.0.0.1 for the IRC adapter to come: no flood
 * penalty and no per-address connection cap (tests open many connections at once), no
 * PAM, ident or DNS lookups. Run in the foreground; the pid is ours, not a pid file's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages, NGIRCD } from './apt.js';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';
import { canConnect } from './tcp.js';

export class Ngircd {
  private proc: ServerProcess | undefined;
  readonly configFile: string;

  private constructor(readonly dir: string, readonly port: number, readonly serverName: string) {
    this.configFile = join(dir, 'ngircd.conf');
  }

  static async create(opts: { dir: string; serverName?: string }): Promise<Ngircd> {
    ensureDebianPackages([NGIRCD]);
    const n = new Ngircd(opts.dir, await freePort(), opts.serverName ?? 'irc.test');
    writeFileSync(n.configFile, `# Written by the Switchboard test harness.
[Global]
  Name = ${n.serverName}
  Info = Switchboard test IRC server
  Listen = 127.0.0.1
  Ports = ${n.port}
  MotdPhrase = "Switchboard test server"
[Limits]
  MaxConnectionsIP = 0
  MaxPenaltyTime = 0
  PingTimeout = 120
  PongTimeout = 20
[Options]
  PAM = no
  Ident = no
  DNS = no
  OperCanUseMode = yes
`);
    return n;
  }

  get process(): ServerProcess | undefined {
    return this.proc;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    this.proc = spawnServer('ngircd', NGIRCD.binary, ['--nodaemon', '--config', this.configFile], { cwd: this.dir, logFile: join(this.dir, 'ngircd.log') });
    await waitReady(this.proc, `port ${this.port}`, () => canConnect(this.port), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}

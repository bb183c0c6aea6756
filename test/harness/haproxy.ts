/**
 * A real HAProxy 2.6 (Debian's `haproxy`) in front of several bridge processes, as an
 * admin runs a hot standby: the homeserver's registration points at HAProxy, whose health
 * check (`GET /ready`, every 300 ms) sends requests to the one process that answers 200,
 * the leader. Foreground (`-db`), loopback only, its config in a temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages, HAPROXY } from './apt.js';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';
import { canConnect } from './tcp.js';

export class Haproxy {
  private proc: ServerProcess | undefined;

  private constructor(readonly dir: string, readonly port: number) {}

  static async create(opts: { dir: string }): Promise<Haproxy> {
    ensureDebianPackages([HAPROXY]);
    return new Haproxy(opts.dir, await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The config admins copy (docs/admin.md shows the same backend section). */
  static config(port: number, backends: number[]): string {
    return `# Written by the Switchboard test harness.
global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  # A request that found no leader is tried again on another server.
  retries 3
  option redispatch
frontend appservice
  bind 127.0.0.1:${port}
  default_backend switchboard
backend switchboard
  option httpchk GET /ready
  http-check expect status 200
  default-server inter 300ms fastinter 300ms downinter 300ms rise 1 fall 1
${backends.map((b, i) => `  server bridge${i + 1} 127.0.0.1:${b} check`).join('\n')}
`;
  }

  async start(backends: number[], timeoutMs = 20_000): Promise<void> {
    const file = join(this.dir, 'haproxy.cfg');
    writeFileSync(file, Haproxy.config(this.port, backends));
    this.proc = spawnServer('haproxy', HAPROXY.binary, ['-db', '-f', file], { cwd: this.dir, logFile: join(this.dir, 'haproxy.log') });
    await waitReady(this.proc, `port ${this.port}`, () => canConnect(this.port), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}

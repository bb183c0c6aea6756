/**
 * A real PostgreSQL 15 (Debian's `postgresql-15`) as a cluster of its own in a temp dir:
 * `initdb` and `postgres` run as an unprivileged user (the `postgres` account when the
 * tests run as root, which PostgreSQL refuses to be), listening on 127.0.0.1 only, trust
 * authentication for the loopback test user. Never the system service.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ensureDebianPackages, POSTGRES } from './apt.js';
import { freePort, spawnServer, tempDir, waitReady, type ServerProcess } from './proc.js';

const BIN = '/usr/lib/postgresql/15/bin';
const USER = 'switchboard';

/** As root, run as `postgres` (setpriv execs: the pid we hold is the server's own). */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', '--', command, ...args]];
}

export class Postgres {
  private proc: ServerProcess | undefined;
  private databases = 0;

  private constructor(readonly dir: string, readonly port: number, private readonly removeDir: (() => void) | undefined) {}

  /** initdb a cluster in `dir` (a fresh temp dir when absent, removed by `stop`). */
  static async create(opts: { dir?: string } = {}): Promise<Postgres> {
    ensureDebianPackages([POSTGRES]);
    const tmp = opts.dir ? undefined : tempDir('postgres');
    const dir = opts.dir ?? tmp!.path;
    mkdirSync(dir, { recursive: true });
    const p = new Postgres(dir, await freePort(), tmp?.remove);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    const [cmd, args] = asServerUser(join(BIN, 'initdb'), ['-D', p.dataDir, '-U', USER, '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return p;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get process(): ServerProcess | undefined {
    return this.proc;
  }

  /** The URL of a database of this cluster (`postgres` exists from the start). */
  url(database = 'postgres'): string {
    return `postgres://${USER}@127.0.0.1:${this.port}/${database}`;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const [cmd, args] = asServerUser(join(BIN, 'postgres'), [
      '-D', this.dataDir, '-h', '127.0.0.1', '-p', String(this.port), '-k', this.dir,
      // Tests never survive an OS crash; a process crash (what they cause) loses nothing without fsync either.
      '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    ]);
    this.proc = spawnServer('postgres', cmd, args, { cwd: this.dir, logFile: join(this.dir, 'postgres.log') });
    await waitReady(this.proc, `port ${this.port}`, () => this.answers(), timeoutMs);
  }

  private async answers(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A new, empty database; returns its URL. `collateC`: C collation and ctype, as Synapse demands. */
  async createDatabase(name = `sb_${process.pid}_${++this.databases}`, opts: { collateC?: boolean } = {}): Promise<string> {
    await this.sql(`CREATE DATABASE ${name}${opts.collateC ? " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" : ''}`);
    return this.url(name);
  }

  /** Connection parameters of a database of this cluster (for clients that take no URL). */
  params(database: string): { host: string; port: number; user: string; database: string } {
    return { host: '127.0.0.1', port: this.port, user: USER, database };
  }

  /** One statement on the `postgres` database (or `database`). */
  async sql(text: string, database = 'postgres'): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }

  /** SIGKILL the server and its backends at once: a crash (a new start recovers from the WAL). */
  async kill(): Promise<void> {
    if (!this.proc?.isRunning()) return;
    // Backends first: an orphan still holding shared memory would keep a new server from starting.
    try {
      execFileSync('pkill', ['-KILL', '-P', String(this.proc.pid)]);
    } catch {
      // none left
    }
    this.proc.signal('SIGKILL');
    await this.proc.exited;
  }

  /** A fast shutdown (SIGINT: sessions are ended; SIGTERM would wait for every client to leave). */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (this.proc?.isRunning()) {
      this.proc.signal('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      // A pending timer would keep the test process alive for its whole length.
      await Promise.race([this.proc.exited, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
      clearTimeout(timer);
      await this.proc.stop();
    }
    if (!opts.keepDir) this.removeDir?.();
  }
}

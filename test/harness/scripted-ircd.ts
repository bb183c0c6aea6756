/**
 * A scripted IRC server on 127.0.0.1, for IRCv3 drafts no real server here offers
 * (`draft/multiline`, `draft/message-redaction`): it negotiates the capabilities it is
 * given, registers one client, answers JOIN (with a key check and the NAMES it is told),
 * echoes messages with a msgid (a multiline batch as one batch, as the spec asks), and
 * keeps every line the client sent. A test writes what other people do with `send`.
 * Not a model of IRC: only enough for the adapter's side of these drafts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from './proc.js';

export interface ScriptedIrcdOptions {
  /** Capabilities offered, with values (`draft/multiline=max-bytes=4096,max-lines=24`). */
  caps: string[];
  /** NAMES of a channel when the client joins it, e.g. `@ops plain`. */
  names?: Record<string, string>;
  /** Channels that need a key. */
  keys?: Record<string, string>;
}

export class ScriptedIrcd {
  /** Every line the client sent, in order. */
  readonly received: string[] = [];
  private sock: Socket | undefined;
  private nick = '*';
  private enabled = new Set<string>();
  private msgids = 0;
  /** Registration waits for CAP END once the client started negotiating, as real servers do. */
  private negotiating = false;
  private userSeen = false;
  private batch: { ref: string; tags: string; params: string; lines: string[] } | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly server: Server, readonly port: number, private readonly opts: ScriptedIrcdOptions) {}

  static async start(opts: ScriptedIrcdOptions): Promise<ScriptedIrcd> {
    const port = await freePort();
    const server = createServer();
    const ircd = new ScriptedIrcd(server, port, opts);
    server.on('connection', (sock) => ircd.accept(sock));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return ircd;
  }

  get prefix(): string {
    return `${this.nick}!u@127.0.0.1`;
  }

  /** Write lines to the client. */
  send(...lines: string[]): void {
    this.sock?.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  /** The first line the client sent that matches, waiting for it. */
  waitFor(match: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.received.find((l) => match.test(l));
        if (!hit) return false;
        this.waiters.delete(check);
        clearTimeout(t);
        resolve(hit);
        return true;
      };
      const t = setTimeout(() => { this.waiters.delete(check); reject(new Error(`the client sent no line matching ${match}; it sent: ${JSON.stringify(this.received.slice(-6))}`)); }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  async stop(): Promise<void> {
    this.sock?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(sock: Socket): void {
    this.sock = sock;
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        this.received.push(line);
        this.handle(line);
        for (const w of [...this.waiters]) w();
      }
    });
    sock.on('error', () => undefined);
  }

  private welcome(): void {
    this.send(`:scripted 001 ${this.nick} :Welcome`, `:scripted 005 ${this.nick} PREFIX=(qaohv)~&@%+ CHANTYPES=# :are supported`, `:scripted 376 ${this.nick} :End of MOTD`);
  }

  private handle(line: string): void {
    const tags = line.startsWith('@') ? line.slice(1, line.indexOf(' ')) : '';
    const rest = tags ? line.slice(line.indexOf(' ') + 1) : line;
    const [command = '', ...args] = rest.split(' ');
    const tagOf = (name: string) => new Map(tags.split(';').map((t) => t.split('=', 2) as [string, string])).get(name);
    const echo = this.enabled.has('echo-message');
    const msgid = () => `sid${++this.msgids}`;
    const label = tagOf('label');
    switch (command.toUpperCase()) {
      case 'CAP':
        if (args[0] === 'LS') {
          this.negotiating = true;
          this.send(`:scripted CAP * LS :${this.opts.caps.join(' ')}`);
        }
        if (args[0] === 'END') {
          this.negotiating = false;
          if (this.userSeen) this.welcome();
        }
        if (args[0] === 'REQ') {
          const asked = rest.slice(rest.indexOf(':') + 1).split(' ').filter(Boolean);
          for (const c of asked) this.enabled.add(c);
          this.send(`:scripted CAP * ACK :${asked.join(' ')}`);
        }
        return;
      case 'NICK':
        this.nick = args[0] ?? 'client';
        return;
      case 'USER':
        this.userSeen = true;
        if (!this.negotiating) this.welcome();
        return;
      case 'PING':
        this.send(`:scripted PONG scripted :${args[0]}`);
        return;
      case 'JOIN': {
        const [channel = '', key] = args;
        const needed = this.opts.keys?.[channel];
        if (needed && key !== needed) return this.send(`:scripted 475 ${this.nick} ${channel} :Cannot join channel (+k)`);
        this.send(`:${this.prefix} JOIN ${channel}`, `:scripted 353 ${this.nick} = ${channel} :${this.nick} ${this.opts.names?.[channel] ?? ''}`.trimEnd(), `:scripted 366 ${this.nick} ${channel} :End of /NAMES list.`);
        return;
      }
      case 'BATCH': {
        const ref = args[0] ?? '';
        if (ref.startsWith('+')) this.batch = { ref: ref.slice(1), tags, params: args.slice(1).join(' '), lines: [] };
        else if (this.batch && ref === `-${this.batch.ref}`) {
          const b = this.batch;
          this.batch = undefined;
          // The whole batch comes back as one, with the msgid (and label) on its opening line.
          if (echo) this.send(`@msgid=${msgid()}${b.tags ? `;${b.tags}` : ''} :${this.prefix} BATCH +e${b.ref} ${b.params}`, ...b.lines.map((l) => `@batch=e${b.ref}${l}`), `:${this.prefix} BATCH -e${b.ref}`);
        }
        return;
      }
      case 'PRIVMSG':
      case 'NOTICE':
      case 'TAGMSG':
      case 'REDACT': {
        if (this.batch && tagOf('batch') === this.batch.ref) {
          const own = tags.split(';').filter((t) => !t.startsWith('batch=')).join(';');
          this.batch.lines.push(`${own ? `;${own}` : ''} :${this.prefix} ${rest}`);
          return;
        }
        if (echo) this.send(`@msgid=${msgid()}${label ? `;label=${label}` : ''} :${this.prefix} ${rest}`);
        return;
      }
    }
  }
}

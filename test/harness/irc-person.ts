/**
 * A person on IRC, for tests: their own irc-framework connection (not the adapter), with
 * every line they receive kept, so a test can wait for what the bridge did.
 */
import { Client } from 'irc-framework';

export interface Heard {
  command: 'privmsg' | 'notice' | 'action' | 'tagmsg' | 'join' | 'part' | 'quit' | 'kick' | 'topic' | 'nick';
  nick: string;
  target?: string;
  message?: string;
  tags: Record<string, string>;
}

export class IrcPerson {
  readonly heard: Heard[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly nick: string, readonly client: Client) {}

  static async connect(port: number, nick: string, opts: { caps?: boolean; sasl?: { account: string; password: string } } = {}): Promise<IrcPerson> {
    const client = new Client();
    const person = new IrcPerson(nick, client);
    const keep = (command: Heard['command']) => (e: { nick: string; target?: string; channel?: string; message?: string; topic?: string; new_nick?: string; tags?: Record<string, string> }) => {
      person.heard.push({ command, nick: e.nick, target: e.target ?? e.channel, message: e.message ?? e.topic ?? e.new_nick, tags: e.tags ?? {} });
      for (const w of [...person.waiters]) w();
    };
    for (const c of ['privmsg', 'notice', 'action', 'tagmsg', 'join', 'part', 'quit', 'kick', 'topic', 'nick'] as const) client.on(c, keep(c));
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('registered', () => resolve());
      client.once('close', () => reject(new Error(`${nick} could not connect to 127.0.0.1:${port}`)));
      client.connect({ host: '127.0.0.1', port, nick, username: nick.slice(0, 10), gecos: nick, auto_reconnect: false, enable_echomessage: false, ...(opts.sasl && { account: opts.sasl }) });
    });
    return person;
  }

  say(target: string, text: string, tags?: Record<string, string>): void {
    if (tags && Object.keys(tags).length) this.client.raw(`@${Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(';')} PRIVMSG ${target} :${text}`);
    else this.client.raw(`PRIVMSG ${target} :${text}`);
  }

  raw(line: string): void {
    this.client.raw(line);
  }

  async join(channel: string): Promise<void> {
    this.client.join(channel);
    await this.waitFor((h) => h.command === 'join' && h.nick === this.nick && h.target?.toLowerCase() === channel.toLowerCase(), `${this.nick} joining ${channel}`);
  }

  waitFor(match: (h: Heard) => boolean, what: string, timeoutMs = 20_000): Promise<Heard> {
    const found = this.heard.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const h = this.heard.find(match);
        if (!h) return;
        clearTimeout(t);
        this.waiters.delete(check);
        resolve(h);
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.nick} did not get ${what} within ${timeoutMs} ms; heard: ${JSON.stringify(this.heard.slice(-8))}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  async stop(): Promise<void> {
    if (!this.client.connected) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2_000);
      this.client.once('close', () => { clearTimeout(t); resolve(); });
      this.client.quit('bye');
    });
  }
}

/** The `networks.irc` config section (one section per IRC network). */
import { ircNickProblem } from './names.js';

export interface IrcConfig {
  host: string;
  port: number;
  tls: boolean;
  /** PEM file of an extra CA to trust, for a private network's certificate. */
  tlsCaFile?: string;
  /** The bridge-owned connection that joins linked channels and speaks for Matrix users without their own. */
  relay?: { nick: string; sasl?: { account: string; password: string } };
  /** `realname` (GECOS) of every connection the bridge makes. */
  realname: string;
  /** Most personal connections at once on this network (the least recently active is closed first). */
  maxConnections: number;
  /** A personal connection idle this long is closed, and opened again at the person's next message (0: never). */
  idleTimeoutS: number;
  /** Lines one connection sends at once, then per second (IRC servers disconnect floods). */
  flood: { burst: number; perSecond: number };
}

const KEYS = ['host', 'port', 'tls', 'tls_ca_file', 'relay', 'realname', 'max_connections', 'idle_timeout_s', 'flood'];

const wholeAtLeast = (v: unknown, min: number, what: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${what}: must be a whole number, at least ${min}`);
  return v;
};

export function parseIrcConfig(raw: unknown): IrcConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (irc takes ${KEYS.join(', ')})`);
  if (typeof o.host !== 'string' || !/^[A-Za-z0-9.:\[\]-]{1,253}$/.test(o.host)) throw new Error('host: the IRC server\'s host name, e.g. irc.libera.chat');
  const tls = o.tls ?? true;
  if (typeof tls !== 'boolean') throw new Error('tls: must be true or false');
  const port = o.port === undefined ? (tls ? 6697 : 6667) : wholeAtLeast(o.port, 1, 'port');
  if (port > 65535) throw new Error('port: must be at most 65535');
  if (o.tls_ca_file !== undefined && (typeof o.tls_ca_file !== 'string' || !o.tls_ca_file)) throw new Error('tls_ca_file: must be the path of a PEM file');
  let relay: IrcConfig['relay'];
  if (o.relay !== undefined) {
    const r = (o.relay ?? {}) as Record<string, unknown>;
    const nickProblem = typeof r.nick === 'string' ? ircNickProblem(r.nick) : 'it is missing';
    if (nickProblem) throw new Error(`relay.nick: ${nickProblem}`);
    let sasl: NonNullable<IrcConfig['relay']>['sasl'];
    if (r.sasl !== undefined) {
      const sa = (r.sasl ?? {}) as Record<string, unknown>;
      if (typeof sa.account !== 'string' || !sa.account || typeof sa.password !== 'string' || !sa.password) throw new Error('relay.sasl: must be { account: "...", password: "${IRC_RELAY_PASSWORD}" }');
      sasl = { account: sa.account, password: sa.password };
    }
    relay = { nick: r.nick as string, ...(sasl && { sasl }) };
  }
  const realname = o.realname ?? 'Switchboard Matrix bridge';
  if (typeof realname !== 'string' || !realname.trim() || /[\u0000-\u001f]/.test(realname)) throw new Error('realname: must be a one-line name');
  const flood = (o.flood ?? {}) as Record<string, unknown>;
  const perSecond = flood.per_second ?? 0.5;
  if (typeof perSecond !== 'number' || !(perSecond > 0)) throw new Error('flood.per_second: must be a number above 0');
  return {
    host: o.host,
    port,
    tls,
    ...(typeof o.tls_ca_file === 'string' && { tlsCaFile: o.tls_ca_file }),
    ...(relay && { relay }),
    realname,
    maxConnections: o.max_connections === undefined ? 50 : wholeAtLeast(o.max_connections, 1, 'max_connections'),
    idleTimeoutS: o.idle_timeout_s === undefined ? 0 : wholeAtLeast(o.idle_timeout_s, 0, 'idle_timeout_s'),
    flood: { burst: flood.burst === undefined ? 5 : wholeAtLeast(flood.burst, 1, 'flood.burst'), perSecond },
  };
}

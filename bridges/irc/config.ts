/** The `networks.irc` config section (one section per IRC network). */
import { foldCase, ircNickProblem, isChannel } from './names.js';

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
  /** Keys (+k) of channels that have one, by case-folded channel name; used by every connection's JOIN. */
  channelKeys: Record<string, string>;
  /** Without draft/multiline: a message of more lines sends this many and a link to the whole text (0: every line). */
  maxLines: number;
}

const KEYS = ['host', 'port', 'tls', 'tls_ca_file', 'relay', 'realname', 'max_connections', 'idle_timeout_s', 'flood', 'channel_keys', 'max_lines'];

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
  const channelKeys: Record<string, string> = {};
  if (o.channel_keys !== undefined) {
    if (!o.channel_keys || typeof o.channel_keys !== 'object' || Array.isArray(o.channel_keys)) throw new Error('channel_keys: must map channels to keys, e.g. { "#team": "${IRC_TEAM_KEY}" }');
    for (const [channel, key] of Object.entries(o.channel_keys as Record<string, unknown>)) {
      if (!isChannel(channel)) throw new Error(`channel_keys: ${JSON.stringify(channel.slice(0, 60))} is not a channel name`);
      // A key is one IRC parameter: no spaces, commas or control characters.
      if (typeof key !== 'string' || !/^[^\s,\u0000-\u001f]{1,64}$/.test(key)) throw new Error(`channel_keys.${channel}: must be one word of at most 64 characters`);
      channelKeys[foldCase(channel)] = key;
    }
  }
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
    channelKeys,
    maxLines: o.max_lines === undefined ? 10 : wholeAtLeast(o.max_lines, 0, 'max_lines'),
  };
}

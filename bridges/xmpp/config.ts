/** The `networks.xmpp` config section. */
import jid from '@xmpp/jid';

export interface XmppConfig {
  /** `xmpp://host:port` to connect to instead of resolving each JID's domain (SRV, then 5222). */
  service?: string;
  /** PEM file of an extra CA to trust, for servers with a private or self-signed certificate. */
  tlsCaFile?: string;
  /** The bridge-owned account that relays Matrix users into MUCs; none when absent. */
  relay?: { jid: string; password: string };
  /** The relay account's nick in MUCs. */
  mucNick: string;
  /** Let file downloads and uploads reach private and loopback addresses (test setups, or a server on your LAN). */
  allowPrivateMedia: boolean;
  /** How often each joined MUC is asked whether we are still in it (XEP-0410), in seconds. */
  mucPingIntervalS: number;
}

const KEYS = ['service', 'tls_ca_file', 'relay', 'muc_nick', 'allow_private_media', 'muc_ping_interval_s'];

export function parseXmppConfig(raw: unknown): XmppConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (xmpp takes ${KEYS.join(', ')})`);
  if (o.service !== undefined && (typeof o.service !== 'string' || !/^xmpps?:\/\/[^/\s]+$/.test(o.service))) throw new Error('service: must look like xmpp://host:5222');
  if (o.tls_ca_file !== undefined && (typeof o.tls_ca_file !== 'string' || !o.tls_ca_file)) throw new Error('tls_ca_file: must be the path of a PEM file');
  let relay: XmppConfig['relay'];
  if (o.relay !== undefined) {
    const r = (o.relay ?? {}) as Record<string, unknown>;
    if (typeof r.jid !== 'string' || typeof r.password !== 'string' || !r.password) throw new Error('relay: must be { jid: "bridge@example.org", password: "${XMPP_RELAY_PASSWORD}" }');
    relay = { jid: parseBareJid(r.jid, 'relay.jid'), password: r.password };
  }
  const nick = o.muc_nick ?? 'Switchboard';
  if (typeof nick !== 'string' || !nick.trim() || /[\u0000-\u001f]/.test(nick)) throw new Error('muc_nick: must be a one-line name');
  if (o.allow_private_media !== undefined && typeof o.allow_private_media !== 'boolean') throw new Error('allow_private_media: must be true or false');
  const ping = o.muc_ping_interval_s ?? 300;
  if (typeof ping !== 'number' || !Number.isInteger(ping) || ping < 10) throw new Error('muc_ping_interval_s: must be a whole number of seconds, at least 10');
  return {
    allowPrivateMedia: o.allow_private_media === true,
    mucPingIntervalS: ping,
    ...(typeof o.service === 'string' && { service: o.service }),
    ...(typeof o.tls_ca_file === 'string' && { tlsCaFile: o.tls_ca_file }),
    ...(relay && { relay }),
    mucNick: nick,
  };
}

/** A bare JID (`local@domain`), normalised, or an Error naming what is wrong. */
export function parseBareJid(input: string, what = 'JID'): string {
  let address;
  try {
    address = jid(input.trim());
  } catch (err) {
    throw new Error(`${what}: "${input}" is not a JID (${(err as Error).message})`);
  }
  if (!address.local || !address.domain) throw new Error(`${what}: "${input}" must look like name@server`);
  if (address.resource) throw new Error(`${what}: "${input}" must not have a /resource`);
  if (/[\s<>&'"]/.test(input)) throw new Error(`${what}: "${input}" contains characters a JID cannot have`);
  return `${address.local}@${address.domain.toLowerCase()}`;
}

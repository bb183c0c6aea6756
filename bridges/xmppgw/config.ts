/** The config section of an XMPP federation gateway (`adapter: xmppgw`). */
import { parseBareJid } from '../xmpp/config.js';

export interface RateLimit {
  /** Stanzas allowed per window. */
  stanzas: number;
  windowS: number;
}

export interface GatewayConfig {
  /** The component's address, as the XMPP server's `Component` section names it. */
  component: string;
  /** The second component, hosting public Matrix rooms as MUCs; none when absent. Same server and, by default, secret. */
  muc?: { component: string; secret: string; history: number };
  /** Where the XMPP server listens for components (XEP-0114), `host:port`. */
  host: string;
  port: number;
  secret: string;
  /** XMPP servers whose people may reach Matrix users here: `*` or a list of domains. */
  allowServers: '*' | readonly string[];
  /** Refused whatever else says: whole servers, and single addresses. */
  blockServers: readonly string[];
  blockJids: readonly string[];
  /** Per sending address and per sending server; what goes over gets `resource-constraint`. */
  rateLimits: { perJid: RateLimit; perServer: RateLimit };
  /** Presence subscription requests to a Matrix user, until they choose otherwise: `anyone`, `ask` or `never`. */
  subscriptions: SubscriptionPolicy;
  /** Let file downloads reach private and loopback addresses (test setups, or a server on your LAN). */
  allowPrivateMedia: boolean;
  /** How long the component waits before reconnecting to a server that dropped it, at most (seconds). */
  reconnectMaxS: number;
}

export type SubscriptionPolicy = 'anyone' | 'ask' | 'never';

const KEYS = ['component', 'server', 'secret', 'allow_servers', 'block_servers', 'block_jids', 'rate_limits', 'subscriptions', 'reconnect_max_s', 'allow_private_media', 'muc'];
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/;

export function parseGatewayConfig(raw: unknown): GatewayConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (xmppgw takes ${KEYS.join(', ')})`);
  const component = domain(o.component, 'component');
  if (typeof o.server !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(o.server)) throw new Error('server: must be host:port of the XMPP server\'s component port, e.g. 127.0.0.1:5347');
  const [host, portText] = [o.server.slice(0, o.server.lastIndexOf(':')), o.server.slice(o.server.lastIndexOf(':') + 1)];
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error('server: the port must be 1-65535');
  if (typeof o.secret !== 'string' || o.secret.length < 8) throw new Error('secret: must be the component secret from the XMPP server\'s config (at least 8 characters), e.g. "${XMPP_COMPONENT_SECRET}"');
  const allow = o.allow_servers ?? '*';
  if (allow !== '*' && !Array.isArray(allow)) throw new Error('allow_servers: must be "*" or a list of domains');
  const rl = (o.rate_limits ?? {}) as Record<string, unknown>;
  const subscriptions = o.subscriptions ?? 'ask';
  if (subscriptions !== 'anyone' && subscriptions !== 'ask' && subscriptions !== 'never') throw new Error('subscriptions: must be anyone, ask or never');
  const reconnect = o.reconnect_max_s ?? 60;
  if (typeof reconnect !== 'number' || !Number.isInteger(reconnect) || reconnect < 1) throw new Error('reconnect_max_s: must be a whole number of seconds, at least 1');
  if (o.allow_private_media !== undefined && typeof o.allow_private_media !== 'boolean') throw new Error('allow_private_media: must be true or false');
  let muc: GatewayConfig['muc'];
  if (o.muc !== undefined) {
    const m = (o.muc ?? {}) as Record<string, unknown>;
    const extra = Object.keys(m).filter((k) => k !== 'component' && k !== 'secret' && k !== 'history');
    if (extra.length) throw new Error(`muc: unknown key(s) ${extra.join(', ')} (muc takes component, secret, history)`);
    const history = m.history ?? 20;
    if (typeof history !== 'number' || !Number.isInteger(history) || history < 0 || history > 1000) throw new Error('muc.history: must be how many messages a joiner is shown, 0 to 1000');
    const secret = m.secret ?? o.secret;
    if (typeof secret !== 'string' || secret.length < 8) throw new Error('muc.secret: must be the MUC component\'s secret (at least 8 characters); leave it out to use secret');
    muc = { component: domain(m.component, 'muc.component'), secret, history };
    if (muc.component === component) throw new Error('muc.component: must differ from component (e.g. muc.' + component + ')');
  }
  return {
    component,
    ...(muc && { muc }),
    allowPrivateMedia: o.allow_private_media === true,
    host,
    port,
    secret: o.secret,
    allowServers: allow === '*' ? '*' : (allow as unknown[]).map((d, i) => domain(d, `allow_servers[${i}]`)),
    blockServers: list(o.block_servers, 'block_servers').map((d, i) => domain(d, `block_servers[${i}]`)),
    blockJids: list(o.block_jids, 'block_jids').map((j, i) => parseBareJid(String(j), `block_jids[${i}]`)),
    rateLimits: { perJid: limit(rl.per_jid, 'rate_limits.per_jid', 20), perServer: limit(rl.per_server, 'rate_limits.per_server', 200) },
    subscriptions,
    reconnectMaxS: reconnect,
  };
}

function domain(v: unknown, key: string): string {
  if (typeof v !== 'string' || !DOMAIN.test(v.toLowerCase())) throw new Error(`${key}: must be a domain name like matrix.example.org`);
  return v.toLowerCase();
}

function list(v: unknown, key: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${key}: must be a list`);
  return v;
}

function limit(v: unknown, key: string, stanzas: number): RateLimit {
  const o = (v ?? {}) as Record<string, unknown>;
  const n = o.stanzas ?? stanzas;
  const w = o.window_s ?? 10;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`${key}.stanzas: must be a whole number, at least 1`);
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1) throw new Error(`${key}.window_s: must be a whole number of seconds, at least 1`);
  return { stanzas: n, windowS: w };
}

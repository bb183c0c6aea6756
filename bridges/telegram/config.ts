/** The `networks.telegram` config section. */

export interface TelegramConfig {
  /** The relay bot's token (from @BotFather); none: only personal bots. */
  botToken?: string;
  /** Bot API server; another only for a local Bot API server or tests. */
  apiRoot: string;
  mode: 'polling' | 'webhook';
  webhook?: { publicUrl: string; listenHost: string; listenPort: number; secret: string };
  /** Long-polling timeout, seconds. */
  pollTimeoutS: number;
  rateLimits: { perChatPerSecond: number; perGroupPerMinute: number; globalPerSecond: number };
  /** Flood waits up to this long are waited out silently; longer ones hold the chat's queue and the sender is told once. */
  longFloodWaitS: number;
  /** Whether people may `login telegram` with a bot of their own. */
  personalBots: boolean;
}

const KEYS = ['bot_token', 'api_root', 'mode', 'webhook', 'poll_timeout_s', 'rate_limits', 'long_flood_wait_s', 'personal_bots'];
const TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/;

export function isBotToken(s: string): boolean {
  return TOKEN.test(s);
}

function positive(o: Record<string, unknown>, key: string, fallback: number, where: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || v > max) throw new Error(`${where}${key}: must be a number above 0${max < Number.MAX_SAFE_INTEGER ? ` and at most ${max}` : ''}`);
  return v;
}

export function parseTelegramConfig(raw: unknown): TelegramConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (telegram takes ${KEYS.join(', ')})`);
  if (o.bot_token !== undefined && (typeof o.bot_token !== 'string' || !isBotToken(o.bot_token))) throw new Error('bot_token: must be a token from @BotFather, like 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11 (use ${SWITCHBOARD_TELEGRAM_TOKEN})');
  const apiRoot = o.api_root ?? 'https://api.telegram.org';
  if (typeof apiRoot !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(apiRoot)) throw new Error('api_root: must be a URL like https://api.telegram.org');
  const mode = o.mode ?? 'polling';
  if (mode !== 'polling' && mode !== 'webhook') throw new Error('mode: must be polling or webhook');
  let webhook: TelegramConfig['webhook'];
  if (mode === 'webhook' || o.webhook !== undefined) {
    const w = (o.webhook ?? {}) as Record<string, unknown>;
    if (typeof w.public_url !== 'string' || !/^https?:\/\/\S+$/.test(w.public_url)) throw new Error('webhook.public_url: must be the https URL Telegram posts to, e.g. https://bridge.example.org/telegram');
    if (typeof w.secret !== 'string' || w.secret.length < 16) throw new Error('webhook.secret: must be at least 16 characters (use ${SWITCHBOARD_TELEGRAM_WEBHOOK_SECRET})');
    const port = w.listen_port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('webhook.listen_port: must be a TCP port');
    const host = w.listen_host ?? '127.0.0.1';
    if (typeof host !== 'string' || !host) throw new Error('webhook.listen_host: must be an address to listen on');
    webhook = { publicUrl: w.public_url.replace(/\/$/, ''), listenHost: host, listenPort: port, secret: w.secret };
  }
  const rl = (o.rate_limits ?? {}) as Record<string, unknown>;
  if (typeof rl !== 'object') throw new Error('rate_limits: must be a mapping');
  if (o.personal_bots !== undefined && typeof o.personal_bots !== 'boolean') throw new Error('personal_bots: must be true or false');
  return {
    ...(typeof o.bot_token === 'string' && { botToken: o.bot_token }),
    apiRoot: apiRoot.replace(/\/$/, ''),
    mode,
    ...(webhook && { webhook }),
    pollTimeoutS: positive(o, 'poll_timeout_s', 30, '', 50),
    rateLimits: {
      perChatPerSecond: positive(rl, 'per_chat_per_second', 1, 'rate_limits.'),
      perGroupPerMinute: positive(rl, 'per_group_per_minute', 20, 'rate_limits.'),
      globalPerSecond: positive(rl, 'global_per_second', 30, 'rate_limits.'),
    },
    longFloodWaitS: positive(o, 'long_flood_wait_s', 5, ''),
    personalBots: o.personal_bots !== false,
  };
}

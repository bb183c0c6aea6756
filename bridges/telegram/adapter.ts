/** The Telegram adapter: a relay bot from config, and personal bots people log in with. */
import type { AdapterSession, Capabilities, ConfiguredLogin, EventSink, LoginFlow, LoginInfo, Logger, NetworkAdapter } from '../../core/adapter.js';
import { loginId, networkId, remoteChatId, remoteUserId, type NetworkId, type RemoteChatId } from '../../core/ids.js';
import { BadToken, TelegramApi } from './api.js';
import { isBotToken, parseTelegramConfig, type TelegramConfig } from './config.js';
import { MAX_TEXT } from './outbound.js';
import { TelegramSession, type TelegramLoginData } from './session.js';
import { WebhookHub } from './webhook.js';

const MB = 1024 * 1024;
/** Bot API upload limit (50 MB); downloads stop at 20 MB (api.ts). */
const UPLOAD = { maxBytes: 50 * MB };

export const telegramCapabilities: Capabilities = {
  edits: true,
  deletes: true,
  reactions: 'emoji', // Telegram's fixed list, one per bot and message (outbound.ts)
  maxReactionsPerUser: 3, // a Premium user's limit; others have 1 (Telegram enforces it on its side)
  replies: true,
  typing: true,
  receipts: false, // bots cannot mark messages read
  presence: false, // bots are not told who is online
  maxTextLength: MAX_TEXT,
  formatting: ['bold', 'italic', 'underline', 'strike', 'code', 'pre', 'link', 'spoiler', 'blockquote', 'mention'],
  media: { image: { maxBytes: 10 * MB }, video: UPLOAD, audio: UPLOAD, voice: UPLOAD, sticker: UPLOAD, file: UPLOAD },
  chatInfo: { name: false, topic: false },
};

export class TelegramAdapter implements NetworkAdapter<TelegramConfig> {
  constructor(readonly network: NetworkId = networkId('telegram')) {}

  /** Another telegram network (a second section naming this adapter): nothing shared. */
  forNetwork(network: NetworkId): TelegramAdapter {
    return new TelegramAdapter(network);
  }
  readonly displayName = 'Telegram';
  readonly capabilities = telegramCapabilities;
  private hub: WebhookHub | undefined;

  parseConfig(raw: unknown): TelegramConfig {
    return parseTelegramConfig(raw);
  }

  configuredLogins(config: TelegramConfig): ConfiguredLogin[] {
    if (!config.botToken) return [];
    const botId = config.botToken.slice(0, config.botToken.indexOf(':'));
    return [{ id: loginId(`${this.network}:relay`), network: this.network, kind: 'relay', remoteUser: remoteUserId(botId), data: {} }];
  }

  createSession(login: LoginInfo, config: TelegramConfig, sink: EventSink): AdapterSession {
    const token = login.kind === 'relay' ? config.botToken : (login.data as TelegramLoginData).token;
    if (!token) throw new Error(`telegram login ${login.id} has no bot token`);
    return new TelegramSession(login, config, sink, token, this.hub);
  }

  /** A group's numeric id (-100..., as bots see it) or its public @username. */
  parseChatId(input: string): RemoteChatId {
    const s = input.trim();
    if (/^-\d{1,20}$/.test(s)) return remoteChatId(s);
    if (/^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(s)) return remoteChatId(s);
    throw new Error('give the group\'s id (a negative number such as -1001234567890, shown by bots like @RawDataBot) or its public @username');
  }

  async start(config: TelegramConfig, log: Logger): Promise<void> {
    if (config.mode !== 'webhook' || !config.webhook) return;
    this.hub = new WebhookHub(config.webhook, log);
    await this.hub.start();
  }

  async stop(): Promise<void> {
    await this.hub?.stop();
    this.hub = undefined;
  }

  startLogin(config: TelegramConfig): LoginFlow {
    return {
      start: async () => config.personalBots
        ? { type: 'fields', instructions: 'Log in with a Telegram bot of your own: create one with @BotFather, add it to your groups, and paste its token here.', fields: [{ id: 'token', label: 'bot token', secret: true }] }
        : { type: 'failed', reason: 'personal bots are turned off on this bridge (networks.telegram.personal_bots)' },
      submit: async (input) => {
        const token = input.token?.trim() ?? '';
        if (!isBotToken(token)) return { type: 'failed', reason: 'that is not a bot token (it looks like 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11)' };
        const api = new TelegramApi(token, config);
        try {
          const me = await api.call<Record<string, unknown>>('getMe', {});
          const data: TelegramLoginData = { token };
          return { type: 'complete', remoteUser: remoteUserId(String(me.id)), displayName: typeof me.username === 'string' ? `@${me.username}` : String(me.id), data: { ...data } };
        } catch (err) {
          return { type: 'failed', reason: err instanceof BadToken ? 'Telegram does not know that token' : `could not reach Telegram: ${(err as Error).message}` };
        } finally {
          api.close();
        }
      },
      cancel: async () => undefined,
    };
  }
}

/**
 * One bot's live session: receives updates (long polling, or the webhook listener),
 * hands them to the core and confirms them to Telegram only once recorded, sends what the
 * core asks, and answers lookups. The update offset is persisted with the login.
 */
import type { AdapterSession, ChatControlProof, Delivery, DirectInvite, EventSink, LoginInfo } from '../../core/adapter.js';
import type { Attachment, ChatInfo, OutboundEvent, RemoteEvent, SendResult, UserInfo } from '../../core/events.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import { ApiRefusal, BadToken, TelegramApi } from './api.js';
import type { TelegramConfig } from './config.js';
import { Outbound } from './outbound.js';
import { LinkProofs } from './proofs.js';
import { convertUpdate, userName } from './updates.js';
import type { WebhookHub } from './webhook.js';

export interface TelegramLoginData {
  /** A personal bot's token (the relay's comes from config). */
  token?: string;
  /** The next update to ask for: everything before it was recorded. */
  offset?: number;
  /** People who opened a direct chat with the relay bot through an invite link: their private messages are bridged. */
  dmUsers?: string[];
}

type Json = Record<string, unknown>;

/** Updates the bridge asks for; message_reaction must be named to be sent at all. */
export const ALLOWED_UPDATES = ['message', 'edited_message', 'message_reaction', 'my_chat_member'];
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export class TelegramSession implements AdapterSession {
  private readonly api: TelegramApi;
  private readonly outbound: Outbound;
  private readonly proofs: LinkProofs;
  private data: TelegramLoginData;
  private stopped = true;
  private connected = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private username = '';
  /** Names seen in updates, for lookups of users the bot cannot getChat. */
  private readonly names = new Map<string, string>();
  /** People already told in private that this bot is a bridge. */
  private readonly told = new Set<string>();

  constructor(
    private readonly login: LoginInfo,
    private readonly config: TelegramConfig,
    private readonly sink: EventSink,
    token: string,
    private readonly hub?: WebhookHub,
  ) {
    this.data = { ...(login.data as TelegramLoginData) };
    this.api = new TelegramApi(token, config);
    this.outbound = new Outbound(this.api);
    this.proofs = new LinkProofs(this.api, sink.log);
  }

  async connect(): Promise<void> {
    this.stopped = false;
    this.api.reopen();
    this.sink.state({ state: 'connecting' });
    let me: Json;
    try {
      me = await this.api.call<Json>('getMe', {});
    } catch (err) {
      this.failConnect(err);
      throw err;
    }
    this.username = typeof me.username === 'string' ? me.username : '';
    if (this.config.mode === 'webhook' && this.hub) {
      this.hub.register(this.api.botId, (update: Json) => this.handleBatch([update]));
      // One connection: Telegram then posts the next update only after we answered the last, so order holds.
      await this.api.call('setWebhook', { url: this.hub.urlFor(this.api.botId), secret_token: this.hub.secretFor(this.api.botId), allowed_updates: ALLOWED_UPDATES, max_connections: 1 });
    } else {
      // A webhook left by another mode would make getUpdates fail with 409.
      await this.api.call('deleteWebhook', { drop_pending_updates: false });
      this.loop = this.pollLoop();
    }
    this.connected = true;
    this.sink.state({ state: 'connected' });
  }

  private failConnect(err: unknown): void {
    if (err instanceof BadToken) {
      this.stopped = true;
      this.sink.state({ state: 'bad-credentials', reason: err.message });
    }
  }

  async disconnect(): Promise<void> {
    this.stopped = true;
    this.connected = false;
    this.proofs.cancelAll();
    this.hub?.unregister(this.api.botId);
    this.api.close();
    this.wake?.();
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    this.sink.state({ state: 'disconnected' });
  }

  /** getUpdates in a loop; an update is confirmed (the next offset) only after the core recorded it. */
  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const updates = await this.api.call<Json[]>('getUpdates', { offset: this.data.offset ?? 0, timeout: this.config.pollTimeoutS, allowed_updates: ALLOWED_UPDATES, limit: 100 }, { timeoutMs: (this.config.pollTimeoutS + 15) * 1000 });
        if (failures) this.sink.state({ state: 'connected' });
        failures = 0;
        await this.handleBatch(Array.isArray(updates) ? updates : []);
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof BadToken) {
          this.connected = false;
          this.stopped = true;
          this.sink.state({ state: 'bad-credentials', reason: err.message });
          return;
        }
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** failures++) * (0.5 + Math.random() / 2);
        const reason = err instanceof ApiRefusal && err.code === 409 ? 'another program polls this bot (409 Conflict)' : (err as Error).message;
        this.sink.log.warn({ err: reason, retryInMs: Math.round(delay) }, 'telegram: getUpdates failed; retrying');
        this.sink.state({ state: 'transient-error', reason, retryInMs: delay });
        await new Promise<void>((resolve) => { const t = setTimeout(resolve, delay); this.wake = () => { clearTimeout(t); resolve(); }; });
      }
    }
  }

  /**
   * Records updates in order, moving the offset past each one recorded; the offset is saved
   * after the batch, or where it stopped (a failed record: the next getUpdates asks for
   * that update again, and only it).
   */
  private async handleBatch(updates: Json[]): Promise<void> {
    const before = this.data.offset;
    try {
      for (const update of updates) {
        await this.handleUpdate(update);
        if (typeof update.update_id === 'number') this.data = { ...this.data, offset: update.update_id + 1 };
      }
    } finally {
      if (this.config.mode === 'polling' && this.data.offset !== before) await this.sink.persist({ ...this.data });
    }
  }

  /** Emits an update's events; a rejection (not recorded) propagates, so the update stays unconfirmed. */
  private async handleUpdate(update: Json): Promise<void> {
    let events: RemoteEvent[];
    try {
      events = await this.eventsOf(update);
    } catch (err) {
      this.sink.log.warn({ update: update.update_id, err: (err as Error).message }, 'telegram update could not be read; skipped');
      return;
    }
    for (const ev of events) await this.sink.emit(ev);
  }

  private async eventsOf(update: Json): Promise<RemoteEvent[]> {
    const member = update.my_chat_member as Json | undefined;
    if (member) return this.botMembership(member);
    const message = update.message as Json | undefined;
    if (message && (await this.proofs.consume(message))) return [];
    if (message && (message.chat as Json | undefined)?.type === 'private' && this.login.kind === 'relay') {
      const handled = await this.privateToRelay(message);
      if (handled) return handled;
    }
    this.rememberNames(update);
    const converted = convertUpdate(update);
    if ('skip' in converted) {
      this.sink.log.debug({ update: update.update_id, reason: converted.skip }, 'telegram update not bridged');
      return [];
    }
    return converted.events;
  }

  /** The bot was added to or removed from a chat: a removal is told to the room, once. */
  private botMembership(member: Json): RemoteEvent[] {
    const chat = member.chat as Json | undefined;
    const status = (member.new_chat_member as Json | undefined)?.status;
    const from = member.from as Json | undefined;
    if (!chat || typeof chat.id !== 'number' || (status !== 'kicked' && status !== 'left') || chat.type === 'private') {
      this.sink.log.info({ chat: chat?.id, status }, 'telegram: bot membership changed');
      return [];
    }
    this.sink.log.warn({ chat: chat.id, by: from?.id }, 'telegram: the bot was removed from a group; nothing more reaches it from Matrix');
    return [{
      type: 'message',
      chat: { id: remoteChatId(String(chat.id)), kind: 'group' },
      id: remoteMessageId(`${chat.id}:removed:${String(member.date)}`),
      sender: from && typeof from.id === 'number' ? { id: remoteUserId(String(from.id)), name: userName(from) } : { id: remoteUserId('0'), name: 'Telegram' },
      content: { kind: 'notice', text: 'removed the bridge bot from this Telegram group: messages from here no longer reach it until it is added back.' },
    }];
  }

  /**
   * Private messages to the shared relay bot: `/start <code>` from an invite link opens a
   * direct chat (the person is remembered); messages of people who did are bridged
   * (undefined: convert as usual); anyone else is told once that this bot is a bridge.
   */
  private async privateToRelay(message: Json): Promise<RemoteEvent[] | undefined> {
    const from = message.from as Json | undefined;
    const chatId = String((message.chat as Json).id);
    const start = typeof message.text === 'string' ? /^\/start(?:@\w+)?\s+([A-Za-z0-9_-]{1,64})$/.exec(message.text.trim()) : null;
    if (start && from && typeof from.id === 'number') {
      const dmUsers = new Set(this.data.dmUsers ?? []);
      dmUsers.add(chatId);
      this.data = { ...this.data, dmUsers: [...dmUsers] };
      await this.sink.persist({ ...this.data });
      return [{ type: 'dm-invite-accepted', chat: { id: remoteChatId(chatId), kind: 'dm' }, sender: { id: remoteUserId(String(from.id)), name: userName(from) }, code: start[1]! }];
    }
    if (this.data.dmUsers?.includes(chatId)) return undefined;
    if (!this.told.has(chatId)) {
      this.told.add(chatId);
      await this.api.send('sendMessage', { chat_id: chatId, text: 'Hello! This bot is a bridge between Telegram and Matrix. To talk with someone on Matrix, ask them for an invite link.' }, chatId).catch(() => undefined);
    }
    return [];
  }

  private rememberNames(update: Json): void {
    const message = (update.message ?? update.edited_message) as Json | undefined;
    const from = message?.from as Json | undefined;
    if (from && typeof from.id === 'number') this.names.set(String(from.id), userName(from));
  }

  async send(event: OutboundEvent, _delivery?: Delivery): Promise<SendResult> {
    // The Bot API has no client message id and no history search: a send whose answer was
    // lost cannot be checked, and is sent again (see docs/networks/telegram.md).
    if (!this.connected) throw new Error('the Telegram session is not connected');
    try {
      return await this.outbound.send(event);
    } catch (err) {
      if (err instanceof BadToken) this.failConnect(err);
      throw err;
    }
  }

  async getChatInfo(chat: RemoteChatId): Promise<ChatInfo> {
    const info = await this.api.call<Json>('getChat', { chat_id: chat });
    if (info.type === 'channel') throw new Error('channels are not bridged');
    const photo = info.photo as Json | undefined;
    const avatar: Attachment | undefined = typeof photo?.big_file_id === 'string' ? { kind: 'image', name: 'avatar.jpg', mime: 'image/jpeg', source: { kind: 'remote', ref: photo.big_file_id } } : undefined;
    return {
      // An @username resolves to the numeric id that updates carry.
      id: typeof info.id === 'number' ? remoteChatId(String(info.id)) : chat,
      kind: info.type === 'private' ? 'dm' : 'group',
      name: typeof info.title === 'string' ? info.title : userName(info),
      ...(typeof info.description === 'string' && { topic: info.description }),
      ...(avatar && { avatar }),
    };
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    if (!/^\d+$/.test(user)) return { id: user, ...(this.names.has(user) && { name: this.names.get(user)! }) };
    const chat = await this.api.call<Json>('getChat', { chat_id: user }).catch(() => undefined);
    const name = chat ? userName(chat) : this.names.get(user);
    const photos = await this.api.call<Json>('getUserProfilePhotos', { user_id: Number(user), limit: 1 }).catch(() => undefined);
    const sizes = ((photos?.photos as Json[][] | undefined) ?? [])[0] ?? [];
    const best = sizes.at(-1);
    const avatar: Attachment | undefined = typeof best?.file_id === 'string' ? { kind: 'image', name: 'avatar.jpg', mime: 'image/jpeg', source: { kind: 'remote', ref: best.file_id } } : undefined;
    if (!name && !avatar && !chat) throw new Error(`Telegram user ${user} is not known to the bot`);
    return { id: user, ...(name && { name }), ...(avatar && { avatar }) };
  }

  async fetchMedia(ref: string, maxBytes: number): Promise<Uint8Array> {
    const file = await this.api.call<Json>('getFile', { file_id: ref });
    if (typeof file.file_path !== 'string') throw new Error('Telegram gave no file path (the file may be larger than the 20 MB bots may download)');
    return this.api.download(file.file_path, maxBytes);
  }

  /** A t.me deep link: opening it starts the bot with `/start <code>`. */
  directInvite(code: string): DirectInvite {
    return { link: `https://t.me/${this.username}?start=${code}` };
  }

  proveChatControl(chat: RemoteChatId, code: string, signal: AbortSignal): ChatControlProof {
    return this.proofs.expect(chat, code, this.username, signal);
  }
}

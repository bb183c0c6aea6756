/**
 * The world a Bot API emulator serves: users, bots, chats, messages, files and each bot's
 * queue of updates, with the shapes of the official Bot API (https://core.telegram.org/bots/api).
 * Plain data plus the rules of who sees what; the HTTP side is in emulator.ts.
 */
import { randomBytes } from 'node:crypto';

export interface TgUser { id: number; is_bot: boolean; first_name: string; last_name?: string; username?: string }
export type ChatType = 'private' | 'group' | 'supergroup';
export interface TgChat { id: number; type: ChatType; title?: string; username?: string; first_name?: string; last_name?: string }
export interface TgEntity { type: string; offset: number; length: number; url?: string; user?: TgUser; language?: string }
export type Reaction = { type: 'emoji'; emoji: string } | { type: 'custom_emoji'; custom_emoji_id: string };
export type TgMessage = Record<string, unknown> & { message_id: number; chat: TgChat; date: number; from?: TgUser };
export type Update = Record<string, unknown> & { update_id: number };

export interface StoredFile { file_id: string; file_unique_id: string; bytes: Buffer; path: string; mime: string; name: string }

/** The reactions the Bot API accepts as `emoji` reactions (the official list). */
export { REACTION_EMOJI as ALLOWED_REACTIONS } from '../../../bridges/telegram/reactions.js';

export interface ChatState {
  chat: TgChat;
  members: Map<number, 'creator' | 'administrator' | 'member'>;
  messages: Map<number, TgMessage>;
  /** Reactions per message per user (bots included). */
  reactions: Map<number, Map<number, Reaction[]>>;
  /** Deleted message ids, for assertions. */
  deleted: Set<number>;
  nextMessageId: number;
  /** Set when a group was upgraded: calls to the old id answer with this. */
  migratedTo?: number;
  description?: string;
  photo?: StoredFile;
}

export interface BotState {
  user: TgUser;
  token: string;
  updates: Update[];
  nextUpdateId: number;
  webhook?: { url: string; secret?: string };
  /** Update kinds the bot asked for (getUpdates/setWebhook `allowed_updates`); undefined = the default set. */
  allowed?: string[];
}

/** Every update kind except the ones a bot must ask for (chat_member, message_reaction...). */
const DEFAULT_UPDATES = new Set(['message', 'edited_message', 'channel_post', 'edited_channel_post', 'my_chat_member', 'callback_query', 'inline_query']);

export class World {
  readonly users = new Map<number, TgUser>();
  readonly bots = new Map<string, BotState>();
  readonly chats = new Map<number, ChatState>();
  readonly files = new Map<string, StoredFile>();
  /** Called when a bot has a new update (long polls and webhooks wake up). */
  onUpdate: (bot: BotState) => void = () => undefined;
  private nextUserId = 1000;
  private nextGroupId = 4000;
  private nextFile = 1;

  now(): number {
    return Math.floor(Date.now() / 1000);
  }

  addUser(first_name: string, username?: string): TgUser {
    const user: TgUser = { id: this.nextUserId++, is_bot: false, first_name, ...(username && { username }) };
    this.users.set(user.id, user);
    return user;
  }

  addBot(username: string): BotState {
    const user: TgUser = { id: this.nextUserId++, is_bot: true, first_name: username, username };
    this.users.set(user.id, user);
    const bot: BotState = { user, token: `${user.id}:${randomBytes(18).toString('base64url')}`, updates: [], nextUpdateId: 1 + Math.floor(Math.random() * 1000) };
    this.bots.set(bot.token, bot);
    return bot;
  }

  addGroup(title: string, creator: TgUser, type: ChatType = 'supergroup'): ChatState {
    const id = type === 'supergroup' ? -1_000_000_000_000 - this.nextGroupId++ : -this.nextGroupId++;
    const state: ChatState = { chat: { id, type, title }, members: new Map([[creator.id, 'creator']]), messages: new Map(), reactions: new Map(), deleted: new Set(), nextMessageId: 1 };
    this.chats.set(id, state);
    return state;
  }

  /** The private chat between a user and a bot (same id as the user, as on Telegram). */
  privateChat(user: TgUser, bot: TgUser): ChatState {
    const key = privateKey(user.id, bot.id);
    let state = this.chats.get(key);
    if (!state) {
      state = { chat: { id: user.id, type: 'private', first_name: user.first_name, ...(user.username && { username: user.username }) }, members: new Map([[user.id, 'member'], [bot.id, 'member']]), messages: new Map(), reactions: new Map(), deleted: new Set(), nextMessageId: 1 };
      this.chats.set(key, state);
    }
    return state;
  }

  /** The chat a bot means by `chat_id` (a private chat's id is the user's id). */
  chatFor(bot: BotState, chatId: unknown): ChatState | undefined {
    const id = typeof chatId === 'string' && /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
    if (typeof id === 'string' && id.startsWith('@')) return [...this.chats.values()].find((c) => c.chat.username === id.slice(1));
    if (typeof id !== 'number') return undefined;
    if (id > 0) return this.chats.get(privateKey(id, bot.user.id));
    return this.chats.get(id);
  }

  addMessage(state: ChatState, from: TgUser, fields: Record<string, unknown>): TgMessage {
    const message: TgMessage = { message_id: state.nextMessageId++, from, chat: state.chat, date: this.now(), ...fields };
    state.messages.set(message.message_id, message);
    return message;
  }

  storeFile(bytes: Buffer, name: string, mime: string, folder: string): StoredFile {
    const n = this.nextFile++;
    const file: StoredFile = { file_id: `AgAC${n}${randomBytes(12).toString('base64url')}`, file_unique_id: `AQAD${n}`, bytes, name, mime, path: `${folder}/file_${n}${extension(name)}` };
    this.files.set(file.file_id, file);
    return file;
  }

  /**
   * Queue an update for every bot in the chat that may see it: bots never see messages of
   * bots (their own or others'), and only kinds they asked for.
   */
  deliver(state: ChatState, kind: string, payload: Record<string, unknown>, actor?: TgUser): void {
    if (actor?.is_bot && kind !== 'my_chat_member') return;
    for (const bot of this.bots.values()) {
      if (!state.members.has(bot.user.id) && kind !== 'my_chat_member') continue;
      this.push(bot, kind, payload);
    }
  }

  push(bot: BotState, kind: string, payload: Record<string, unknown>): void {
    const allowed = bot.allowed?.length ? new Set(bot.allowed) : DEFAULT_UPDATES;
    if (!allowed.has(kind)) return;
    bot.updates.push({ update_id: bot.nextUpdateId++, [kind]: payload });
    this.onUpdate(bot);
  }

  photoSizes(file: StoredFile, width = 640, height = 480): Record<string, unknown>[] {
    // Telegram offers several sizes; the emulator keeps the bytes once and names a thumbnail too.
    return [
      { file_id: file.file_id, file_unique_id: `${file.file_unique_id}s`, width: Math.round(width / 4), height: Math.round(height / 4), file_size: file.bytes.length },
      { file_id: file.file_id, file_unique_id: file.file_unique_id, width, height, file_size: file.bytes.length },
    ];
  }
}

function privateKey(userId: number, botId: number): number {
  // Private chats are per (user, bot); kept apart from group ids (negative) by a large offset.
  return userId * 1_000_000 + botId;
}

function extension(name: string): string {
  const m = /\.[A-Za-z0-9]{1,8}$/.exec(name);
  return m ? m[0] : '';
}

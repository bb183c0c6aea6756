/**
 * What people do on the emulated Telegram (their apps, not the Bot API): write, edit,
 * react, send photos, join, leave, rename a group, upgrade it to a supergroup. Each
 * action changes the World and queues the updates bots would get, in Telegram's shapes.
 */
import type { BotState, ChatState, Reaction, TgEntity, TgMessage, TgUser, World } from './model.js';

export interface SayOptions {
  entities?: TgEntity[];
  replyTo?: number;
  /** A forum topic (message_thread_id). */
  threadId?: number;
}

export class TelegramPeople {
  constructor(private readonly world: World) {}

  say(user: TgUser, chat: ChatState, text: string, opts: SayOptions = {}): TgMessage {
    return this.post(user, chat, { text, ...(opts.entities && { entities: opts.entities }) }, opts);
  }

  /** A private message to a bot (the chat is created on first use, as /start does). */
  sayToBot(user: TgUser, bot: BotState, text: string, opts: SayOptions = {}): TgMessage {
    return this.say(user, this.world.privateChat(user, bot.user), text, opts);
  }

  photo(user: TgUser, chat: ChatState, bytes: Buffer, caption?: string, opts: SayOptions = {}): TgMessage {
    const file = this.world.storeFile(bytes, 'photo.jpg', 'image/jpeg', 'photos');
    return this.post(user, chat, { photo: this.world.photoSizes(file), ...(caption && { caption }) }, opts);
  }

  document(user: TgUser, chat: ChatState, bytes: Buffer, name: string, mime: string): TgMessage {
    const file = this.world.storeFile(bytes, name, mime, 'documents');
    return this.post(user, chat, { document: { file_id: file.file_id, file_unique_id: file.file_unique_id, file_name: name, mime_type: mime, file_size: bytes.length } }, {});
  }

  edit(user: TgUser, chat: ChatState, messageId: number, text: string): TgMessage {
    const message = chat.messages.get(messageId);
    if (!message || message.from?.id !== user.id) throw new Error(`${user.first_name} cannot edit message ${messageId}`);
    if (typeof message.text === 'string') message.text = text;
    else message.caption = text;
    delete message.entities;
    message.edit_date = this.world.now();
    this.world.deliver(chat, 'edited_message', { ...message }, user);
    return message;
  }

  react(user: TgUser, chat: ChatState, messageId: number, emojis: string[]): void {
    const perUser = chat.reactions.get(messageId) ?? new Map<number, Reaction[]>();
    const old = perUser.get(user.id) ?? [];
    const now: Reaction[] = emojis.map((emoji) => ({ type: 'emoji', emoji }));
    perUser.set(user.id, now);
    chat.reactions.set(messageId, perUser);
    this.world.deliver(chat, 'message_reaction', { chat: chat.chat, message_id: messageId, user, date: this.world.now(), old_reaction: old, new_reaction: now }, user);
  }

  join(user: TgUser, chat: ChatState): void {
    chat.members.set(user.id, 'member');
    this.post(user, chat, { new_chat_members: [user], new_chat_member: user, new_chat_participant: user }, {});
  }

  leave(user: TgUser, chat: ChatState): void {
    this.post(user, chat, { left_chat_member: user, left_chat_participant: user }, {});
    chat.members.delete(user.id);
  }

  promote(user: TgUser, chat: ChatState): void {
    chat.members.set(user.id, 'administrator');
  }

  /** `by` adds a bot to a group (as an admin, so it sees every message and reaction). */
  addBot(bot: BotState, chat: ChatState, by: TgUser, status: 'administrator' | 'member' = 'administrator'): void {
    chat.members.set(bot.user.id, status);
    this.world.push(bot, 'my_chat_member', { chat: chat.chat, from: by, date: this.world.now(), old_chat_member: { status: 'left', user: bot.user }, new_chat_member: { status, user: bot.user } });
  }

  removeBot(bot: BotState, chat: ChatState, by: TgUser): void {
    chat.members.delete(bot.user.id);
    this.world.push(bot, 'my_chat_member', { chat: chat.chat, from: by, date: this.world.now(), old_chat_member: { status: 'administrator', user: bot.user }, new_chat_member: { status: 'kicked', user: bot.user, until_date: 0 } });
  }

  setTitle(user: TgUser, chat: ChatState, title: string): void {
    chat.chat.title = title;
    this.post(user, chat, { new_chat_title: title }, {});
  }

  /** A new group photo: the chat's picture and a service message. */
  setPhoto(user: TgUser, chat: ChatState, bytes: Buffer): void {
    const file = this.world.storeFile(bytes, 'group-photo.jpg', 'image/jpeg', 'profile_photos');
    chat.photo = file;
    this.post(user, chat, { new_chat_photo: this.world.photoSizes(file, 640, 640) }, {});
  }

  /** A basic group upgraded to a supergroup: new id, members moved, a service message in each. */
  migrate(user: TgUser, group: ChatState): ChatState {
    const sg = this.world.addGroup(group.chat.title ?? '', user, 'supergroup');
    for (const [id, status] of group.members) sg.members.set(id, status);
    this.post(user, group, { migrate_to_chat_id: sg.chat.id }, {});
    group.migratedTo = sg.chat.id;
    this.post(user, sg, { migrate_from_chat_id: group.chat.id }, {});
    return sg;
  }

  private post(user: TgUser, chat: ChatState, fields: Record<string, unknown>, opts: SayOptions): TgMessage {
    if (!chat.members.has(user.id) && !fields.new_chat_members) throw new Error(`${user.first_name} is not in ${chat.chat.title ?? chat.chat.id}`);
    const target = opts.replyTo !== undefined ? chat.messages.get(opts.replyTo) : undefined;
    const message = this.world.addMessage(chat, user, {
      ...fields,
      ...(target && { reply_to_message: target }),
      ...(opts.threadId !== undefined && { message_thread_id: opts.threadId, is_topic_message: true }),
    });
    this.world.deliver(chat, 'message', message, user);
    return message;
  }
}

/** What bots posted in a chat and is still there, oldest first. */
export function botMessages(chat: ChatState): TgMessage[] {
  return [...chat.messages.values()].filter((m) => m.from?.is_bot && !chat.deleted.has(m.message_id));
}

/** Polls `check` until it returns something truthy. */
export async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

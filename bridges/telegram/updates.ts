/**
 * Telegram updates -> the core's remote events. Pure functions over the JSON the Bot API
 * sends, checked as they are read: a malformed or unknown update yields no event and a
 * reason, never a throw.
 */
import { createHash } from 'node:crypto';
import type { Attachment, ChatRef, MessageContent, RemoteEvent, SenderRef } from '../../core/events.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteMessageId } from '../../core/ids.js';
import { entitiesToSpans } from './entities.js';

type Json = Record<string, unknown>;

export type Converted = { events: RemoteEvent[] } | { skip: string };

const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Message ids are per chat on Telegram; ours carry the chat so they stay unique after a migration. */
export function messageRef(chatId: number | string, messageId: number): RemoteMessageId {
  return remoteMessageId(`${chatId}:${messageId}`);
}

export function parseMessageRef(id: string): { chat: string; messageId: number } | undefined {
  const m = /^(-?\d+):(\d+)$/.exec(id);
  return m ? { chat: m[1]!, messageId: Number(m[2]) } : undefined;
}

export function chatRefOf(chat: Json | undefined): ChatRef | undefined {
  const id = num(chat?.id);
  if (id === undefined) return undefined;
  if (chat!.type === 'private') return { id: remoteChatId(String(id)), kind: 'dm' };
  if (chat!.type === 'group' || chat!.type === 'supergroup') return { id: remoteChatId(String(id)), kind: 'group' };
  return undefined; // channels are not bridged
}

export function userName(user: Json): string {
  return [str(user.first_name), str(user.last_name)].filter(Boolean).join(' ') || str(user.username) || String(user.id);
}

/** Who sent a message: a user, or a chat posting as itself (anonymous admins, linked channels). */
export function senderOf(message: Json): SenderRef | undefined {
  const senderChat = obj(message.sender_chat);
  if (senderChat && num(senderChat.id) !== undefined) return { id: remoteUserId(String(senderChat.id)), name: str(senderChat.title) ?? String(senderChat.id) };
  const from = obj(message.from);
  if (!from || num(from.id) === undefined) return undefined;
  return { id: remoteUserId(String(from.id)), name: userName(from) };
}

function largest(sizes: unknown): Json | undefined {
  if (!Array.isArray(sizes)) return undefined;
  return (sizes as Json[]).filter((s) => obj(s) && str(s.file_id)).sort((a, b) => (num(b.width) ?? 0) * (num(b.height) ?? 0) - (num(a.width) ?? 0) * (num(a.height) ?? 0))[0];
}

function attachment(kind: Attachment['kind'], file: Json, name: string, mime: string): Attachment {
  return {
    kind,
    name: str(file.file_name) ?? name,
    mime: str(file.mime_type) ?? mime,
    ...(num(file.file_size) !== undefined && { size: num(file.file_size)! }),
    ...(num(file.width) !== undefined && { width: num(file.width)! }),
    ...(num(file.height) !== undefined && { height: num(file.height)! }),
    ...(num(file.duration) !== undefined && { durationMs: num(file.duration)! * 1000 }),
    source: { kind: 'remote', ref: str(file.file_id)! },
  };
}

/** The attachments of a message; an animated (TGS) sticker, which Matrix cannot show, becomes its emoji. */
function attachmentsOf(message: Json): { attachments: Attachment[]; stickerText?: string } {
  const photo = largest(message.photo);
  if (photo) return { attachments: [attachment('image', photo, 'photo.jpg', 'image/jpeg')] };
  const sticker = obj(message.sticker);
  if (sticker && str(sticker.file_id)) {
    if (sticker.is_animated === true) return { attachments: [], stickerText: `${str(sticker.emoji) ?? ''} (sticker)`.trim() };
    return { attachments: [sticker.is_video === true ? attachment('video', sticker, 'sticker.webm', 'video/webm') : attachment('sticker', sticker, 'sticker.webp', 'image/webp')] };
  }
  const kinds: [string, Attachment['kind'], string, string][] = [
    ['animation', 'video', 'animation.mp4', 'video/mp4'],
    ['video', 'video', 'video.mp4', 'video/mp4'],
    ['video_note', 'video', 'video-note.mp4', 'video/mp4'],
    ['voice', 'voice', 'voice.ogg', 'audio/ogg'],
    ['audio', 'audio', 'audio.mp3', 'audio/mpeg'],
    ['document', 'file', 'file', 'application/octet-stream'],
  ];
  for (const [field, kind, name, mime] of kinds) {
    const file = obj(message[field]);
    if (file && str(file.file_id)) return { attachments: [attachment(kind, file, name, mime)] };
  }
  return { attachments: [] };
}

export function contentOf(message: Json): MessageContent {
  const text = str(message.text) ?? str(message.caption) ?? '';
  const entities = Array.isArray(message.entities) ? message.entities : Array.isArray(message.caption_entities) ? message.caption_entities : undefined;
  const { attachments, stickerText } = attachmentsOf(message);
  const spans = entitiesToSpans(text, entities);
  // A shared contact: the core shows the card, its number masked (core/convert/contact.ts).
  const contact = obj(message.contact);
  const card = contact && { name: [str(contact.first_name), str(contact.last_name)].filter(Boolean).join(' '), ...(str(contact.phone_number) && { phone: str(contact.phone_number)! }) };
  return { kind: 'text', text: stickerText ?? text, ...(spans.length && { spans }), ...(attachments.length && { attachments }), ...(card && { contact: card }) };
}

/** The message replied to; in a forum, the implicit reply to the topic's first message is not one. */
function replyOf(message: Json, chatId: number): RemoteMessageId | undefined {
  const reply = obj(message.reply_to_message);
  const id = num(reply?.message_id);
  if (id === undefined) return undefined;
  if (message.is_topic_message === true && reply!.forum_topic_created !== undefined) return undefined;
  return messageRef(chatId, id);
}

function serviceEvents(message: Json, chat: ChatRef, timestamp: number | undefined): RemoteEvent[] | undefined {
  const base = { chat, ...(timestamp !== undefined && { timestamp }) };
  const from = senderOf(message);
  if (Array.isArray(message.new_chat_members)) {
    return (message.new_chat_members as Json[]).filter((u) => num(obj(u)?.id) !== undefined).map((u) => ({ ...base, type: 'member' as const, user: { id: remoteUserId(String(u.id)), name: userName(u) }, change: 'join' as const }));
  }
  const left = obj(message.left_chat_member);
  if (left && num(left.id) !== undefined) {
    const kicked = from !== undefined && from.id !== String(left.id);
    return [{ ...base, type: 'member', user: { id: remoteUserId(String(left.id)), name: userName(left) }, change: kicked ? 'kick' : 'leave', ...(kicked && { by: from.id }) }];
  }
  if (typeof message.new_chat_title === 'string') return [{ ...base, type: 'chat-info', info: { id: chat.id, kind: chat.kind, name: message.new_chat_title } }];
  const photo = largest(message.new_chat_photo);
  if (photo) return [{ ...base, type: 'chat-info', info: { id: chat.id, kind: chat.kind, avatar: attachment('image', photo, 'avatar.jpg', 'image/jpeg') } }];
  const to = num(message.migrate_to_chat_id);
  if (to !== undefined) return [{ ...base, type: 'chat-moved', to: remoteChatId(String(to)) }];
  const service = ['migrate_from_chat_id', 'delete_chat_photo', 'pinned_message', 'group_chat_created', 'supergroup_chat_created', 'forum_topic_created', 'forum_topic_edited', 'forum_topic_closed', 'forum_topic_reopened', 'message_auto_delete_timer_changed', 'video_chat_started', 'video_chat_ended'];
  if (service.some((k) => message[k] !== undefined)) return [];
  return undefined;
}

function fromMessage(message: Json, edited: boolean): Converted {
  const chat = chatRefOf(obj(message.chat));
  const chatId = num(obj(message.chat)?.id);
  const id = num(message.message_id);
  if (!chat || chatId === undefined || id === undefined) return { skip: 'message without a usable chat or id (channels are not bridged)' };
  const timestamp = num(message.date) !== undefined ? num(message.date)! * 1000 : undefined;
  if (!edited) {
    const service = serviceEvents(message, chat, timestamp);
    if (service) return { events: service };
  }
  const sender = senderOf(message);
  if (!sender) return { skip: 'message without a sender' };
  const content = contentOf(message);
  if (!content.text && !content.attachments?.length && !content.contact) return { skip: 'a kind of message the bridge does not carry (poll, location, game...)' };
  const base = { chat, sender, ...(timestamp !== undefined && { timestamp }) };
  if (edited) {
    // One id per version of the text: a repeat of this update is a duplicate, a new edit is not.
    const version = createHash('sha256').update(`${num(message.edit_date) ?? 0}\n${content.text}`).digest('base64url').slice(0, 16);
    return { events: [{ ...base, type: 'edit', id: remoteMessageId(`${chatId}:${id}:e${version}`), target: messageRef(chatId, id), content }] };
  }
  const replyTo = replyOf(message, chatId);
  return { events: [{ ...base, type: 'message', id: messageRef(chatId, id), content, ...(replyTo && { replyTo }) }] };
}

function emojis(list: unknown): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(list)) for (const r of list as Json[]) if (obj(r)?.type === 'emoji' && typeof r.emoji === 'string') out.add(r.emoji);
  return out;
}

function fromReaction(update: Json): Converted {
  const chat = chatRefOf(obj(update.chat));
  const chatId = num(obj(update.chat)?.id);
  const id = num(update.message_id);
  const user = obj(update.user);
  const actor = obj(update.actor_chat);
  if (!chat || chatId === undefined || id === undefined) return { skip: 'reaction without a usable chat or message' };
  const sender: SenderRef | undefined = user && num(user.id) !== undefined ? { id: remoteUserId(String(user.id)), name: userName(user) } : actor && num(actor.id) !== undefined ? { id: remoteUserId(String(actor.id)), name: str(actor.title) ?? String(actor.id) } : undefined;
  if (!sender) return { skip: 'reaction without a sender' };
  const before = emojis(update.old_reaction);
  const after = emojis(update.new_reaction);
  const base = { chat, sender, target: messageRef(chatId, id), ...(num(update.date) !== undefined && { timestamp: num(update.date)! * 1000 }) };
  const events: RemoteEvent[] = [];
  for (const key of after) if (!before.has(key)) events.push({ ...base, type: 'reaction', key });
  for (const key of before) if (!after.has(key)) events.push({ ...base, type: 'reaction', key, removed: true });
  return { events };
}

/** The events one update carries. The session handles my_chat_member and link proofs before this. */
export function convertUpdate(update: Json): Converted {
  const message = obj(update.message);
  if (message) return fromMessage(message, false);
  const edited = obj(update.edited_message);
  if (edited) return fromMessage(edited, true);
  const reaction = obj(update.message_reaction);
  if (reaction) return fromReaction(reaction);
  const kinds = Object.keys(update).filter((k) => k !== 'update_id');
  return { skip: `update kind not bridged: ${kinds.join(', ') || 'none'}` };
}

/**
 * The Bot API methods the emulator answers, on the World model, with the official
 * answers and error texts (https://core.telegram.org/bots/api). A method returns its
 * result or throws ApiError; the HTTP side (emulator.ts) wraps both.
 */
import { ALLOWED_REACTIONS, type BotState, type ChatState, type Reaction, type TgMessage, type World } from './model.js';

export class ApiError extends Error {
  constructor(readonly code: number, description: string, readonly parameters?: Record<string, unknown>) {
    super(description);
  }
}

/** Parameters as they arrive: JSON, form fields (objects as JSON strings) or uploaded files. */
export type Params = Record<string, unknown>;
export interface Upload { name: string; type: string; bytes: Buffer }

export const MAX_TEXT = 4096;
export const MAX_CAPTION = 1024;
export const MAX_DOWNLOAD = 20 * 1024 * 1024;
export const MAX_UPLOAD = 50 * 1024 * 1024;

const MEDIA: Record<string, { field: string; folder: string; mime: string }> = {
  sendPhoto: { field: 'photo', folder: 'photos', mime: 'image/jpeg' },
  sendDocument: { field: 'document', folder: 'documents', mime: 'application/octet-stream' },
  sendVideo: { field: 'video', folder: 'videos', mime: 'video/mp4' },
  sendAudio: { field: 'audio', folder: 'music', mime: 'audio/mpeg' },
  sendVoice: { field: 'voice', folder: 'voice', mime: 'audio/ogg' },
  sendAnimation: { field: 'animation', folder: 'animations', mime: 'video/mp4' },
  sendSticker: { field: 'sticker', folder: 'stickers', mime: 'image/webp' },
};

function json<T>(value: unknown): T | undefined {
  if (typeof value === 'string' && /^[[{]/.test(value)) {
    try {
      return JSON.parse(value) as T;
    } catch {
      throw new ApiError(400, "Bad Request: can't parse JSON object");
    }
  }
  return value as T | undefined;
}

function int(params: Params, name: string, required = true): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') {
    if (required) throw new ApiError(400, `Bad Request: ${name} is empty`);
    return undefined;
  }
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw new ApiError(400, `Bad Request: invalid ${name} specified`);
  return n;
}

export class Methods {
  constructor(private readonly world: World) {}

  /** Calls that do not need long polling, webhooks or files; `undefined` for an unknown method. */
  call(bot: BotState, method: string, params: Params, uploads: Map<string, Upload>): unknown {
    const media = MEDIA[method];
    if (media) return this.sendMedia(bot, params, uploads, media);
    switch (method) {
      case 'getMe': return { ...bot.user, can_join_groups: true, can_read_all_group_messages: true, supports_inline_queries: false };
      case 'sendMessage': return this.sendMessage(bot, params);
      case 'editMessageText': return this.edit(bot, params, 'text');
      case 'editMessageCaption': return this.edit(bot, params, 'caption');
      case 'deleteMessage': return this.deleteMessage(bot, params);
      case 'setMessageReaction': return this.setReaction(bot, params);
      case 'sendChatAction': this.chat(bot, params); return true;
      case 'getChat': return this.getChat(bot, params);
      case 'getChatMember': return this.getChatMember(bot, params);
      case 'getUserProfilePhotos': return this.profilePhotos(params);
      case 'getFile': return this.getFile(params);
      case 'leaveChat': this.chat(bot, params).members.delete(bot.user.id); return true;
      default: return undefined;
    }
  }

  chat(bot: BotState, params: Params): ChatState {
    if (params.chat_id === undefined || params.chat_id === '') throw new ApiError(400, 'Bad Request: chat_id is empty');
    const state = this.world.chatFor(bot, params.chat_id);
    if (!state) throw new ApiError(400, 'Bad Request: chat not found');
    if (state.migratedTo !== undefined) throw new ApiError(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: state.migratedTo });
    if (!state.members.has(bot.user.id)) {
      throw state.chat.type === 'private' ? new ApiError(403, 'Forbidden: bot was blocked by the user') : new ApiError(403, `Forbidden: bot is not a member of the ${state.chat.type} chat`);
    }
    return state;
  }

  private replyTarget(state: ChatState, params: Params): TgMessage | undefined {
    const reply = json<{ message_id?: number; allow_sending_without_reply?: boolean }>(params.reply_parameters);
    const id = reply?.message_id ?? int(params, 'reply_to_message_id', false);
    if (id === undefined) return undefined;
    const target = state.messages.get(id);
    if (!target && !reply?.allow_sending_without_reply) throw new ApiError(400, 'Bad Request: message to be replied not found');
    return target;
  }

  private sendMessage(bot: BotState, params: Params): TgMessage {
    const state = this.chat(bot, params);
    const text = typeof params.text === 'string' ? params.text : '';
    if (!text.trim()) throw new ApiError(400, 'Bad Request: message text is empty');
    if (text.length > MAX_TEXT) throw new ApiError(400, 'Bad Request: message is too long');
    const entities = checkEntities(json(params.entities), text);
    const target = this.replyTarget(state, params);
    return this.world.addMessage(state, bot.user, { text, ...(entities && { entities }), ...(target && { reply_to_message: target }) });
  }

  private sendMedia(bot: BotState, params: Params, uploads: Map<string, Upload>, media: { field: string; folder: string; mime: string }): TgMessage {
    const state = this.chat(bot, params);
    const raw = params[media.field];
    const upload = typeof raw === 'string' && raw.startsWith('attach://') ? uploads.get(raw.slice(9)) : uploads.get(media.field);
    let file = typeof raw === 'string' ? this.world.files.get(raw) : undefined;
    if (upload) {
      if (upload.bytes.length > MAX_UPLOAD) throw new ApiError(413, 'Request Entity Too Large');
      file = this.world.storeFile(upload.bytes, upload.name || media.field, upload.type || media.mime, media.folder);
    }
    if (!file) throw new ApiError(400, `Bad Request: there is no ${media.field} in the request`);
    const caption = typeof params.caption === 'string' ? params.caption : undefined;
    if (caption && caption.length > MAX_CAPTION) throw new ApiError(400, 'Bad Request: message caption is too long');
    const entities = caption ? checkEntities(json(params.caption_entities), caption) : undefined;
    const target = this.replyTarget(state, params);
    const base = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.bytes.length };
    const described = media.field === 'photo'
      ? { photo: this.world.photoSizes(file) }
      : { [media.field]: { ...base, ...(media.field !== 'sticker' && media.field !== 'voice' && { file_name: file.name }), mime_type: file.mime, ...(media.field === 'sticker' && { width: 512, height: 512, is_animated: false, is_video: false, type: 'regular' }) } };
    return this.world.addMessage(state, bot.user, { ...described, ...(caption && { caption }), ...(entities && { caption_entities: entities }), ...(target && { reply_to_message: target }) });
  }

  private edit(bot: BotState, params: Params, field: 'text' | 'caption'): TgMessage {
    const state = this.chat(bot, params);
    const message = state.messages.get(int(params, 'message_id')!);
    if (!message || state.deleted.has(message.message_id)) throw new ApiError(400, 'Bad Request: message to edit not found');
    if (message.from?.id !== bot.user.id) throw new ApiError(400, "Bad Request: message can't be edited");
    const value = typeof params[field] === 'string' ? (params[field] as string) : '';
    if (field === 'text' && typeof message.text !== 'string') throw new ApiError(400, 'Bad Request: there is no text in the message to edit');
    if (field === 'caption' && typeof message.text === 'string') throw new ApiError(400, 'Bad Request: there is no caption in the message to edit');
    const entitiesKey = field === 'text' ? 'entities' : 'caption_entities';
    const entities = checkEntities(json(params[entitiesKey]), value);
    if (message[field] === value && JSON.stringify(message[entitiesKey]) === JSON.stringify(entities)) {
      throw new ApiError(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
    }
    message[field] = value;
    if (entities) message[entitiesKey] = entities;
    else delete message[entitiesKey];
    message.edit_date = this.world.now();
    return message;
  }

  private deleteMessage(bot: BotState, params: Params): true {
    const state = this.chat(bot, params);
    const id = int(params, 'message_id')!;
    const message = state.messages.get(id);
    if (!message || state.deleted.has(id)) throw new ApiError(400, 'Bad Request: message to delete not found');
    const admin = state.members.get(bot.user.id) === 'administrator' || state.members.get(bot.user.id) === 'creator';
    if (message.from?.id !== bot.user.id && !admin) throw new ApiError(400, "Bad Request: message can't be deleted");
    state.deleted.add(id);
    return true;
  }

  private setReaction(bot: BotState, params: Params): true {
    const state = this.chat(bot, params);
    const id = int(params, 'message_id')!;
    if (!state.messages.has(id) || state.deleted.has(id)) throw new ApiError(400, 'Bad Request: message to react not found');
    const reaction = json<Reaction[]>(params.reaction) ?? [];
    if (!Array.isArray(reaction)) throw new ApiError(400, 'Bad Request: reaction must be an array');
    if (reaction.length > 1) throw new ApiError(400, 'Bad Request: REACTIONS_TOO_MANY');
    for (const r of reaction) if (r.type !== 'emoji' || !ALLOWED_REACTIONS.has(r.emoji)) throw new ApiError(400, 'Bad Request: REACTION_INVALID');
    const perUser = state.reactions.get(id) ?? new Map<number, Reaction[]>();
    // A bot's own reactions reach no bot as updates (bots never see what bots do).
    perUser.set(bot.user.id, reaction);
    state.reactions.set(id, perUser);
    return true;
  }

  private getChat(bot: BotState, params: Params): Record<string, unknown> {
    const state = this.chat(bot, params);
    const photo = state.photo && { small_file_id: state.photo.file_id, small_file_unique_id: `${state.photo.file_unique_id}s`, big_file_id: state.photo.file_id, big_file_unique_id: state.photo.file_unique_id };
    return { ...state.chat, ...(state.description && { description: state.description }), ...(photo && { photo }), accent_color_id: 0, max_reaction_count: 11 };
  }

  private getChatMember(bot: BotState, params: Params): Record<string, unknown> {
    const state = this.chat(bot, params);
    const userId = int(params, 'user_id')!;
    const user = this.world.users.get(userId);
    if (!user) throw new ApiError(400, 'Bad Request: user not found');
    const status = state.members.get(userId) ?? 'left';
    return { status, user, ...(status === 'administrator' && { can_be_edited: false, can_delete_messages: true }) };
  }

  private profilePhotos(params: Params): Record<string, unknown> {
    const user = this.world.users.get(int(params, 'user_id')!);
    if (!user) throw new ApiError(400, 'Bad Request: user not found');
    const photo = [...this.world.files.values()].find((f) => f.name === `avatar-${user.id}.jpg`);
    return { total_count: photo ? 1 : 0, photos: photo ? [this.world.photoSizes(photo, 320, 320)] : [] };
  }

  private getFile(params: Params): Record<string, unknown> {
    const file = this.world.files.get(String(params.file_id ?? ''));
    if (!file) throw new ApiError(400, 'Bad Request: invalid file_id');
    if (file.bytes.length > MAX_DOWNLOAD) throw new ApiError(400, 'Bad Request: file is too big');
    return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.bytes.length, file_path: file.path };
  }
}

/** Entities must lie inside the text, counted in UTF-16 code units, as Telegram checks them. */
function checkEntities(entities: unknown, text: string): Record<string, unknown>[] | undefined {
  if (entities === undefined || entities === null) return undefined;
  if (!Array.isArray(entities)) throw new ApiError(400, "Bad Request: can't parse entities: entities must be an array");
  for (const e of entities as { type?: unknown; offset?: unknown; length?: unknown; url?: unknown }[]) {
    if (typeof e.type !== 'string' || typeof e.offset !== 'number' || typeof e.length !== 'number') throw new ApiError(400, "Bad Request: can't parse entities: bad entity");
    if (e.offset < 0 || e.length <= 0 || e.offset + e.length > text.length) throw new ApiError(400, `Bad Request: can't parse entities: entity beyond the end of the text at byte offset ${e.offset}`);
    if (e.type === 'text_link' && typeof e.url !== 'string') throw new ApiError(400, "Bad Request: can't parse entities: text_link without url");
  }
  return entities.length ? (entities as Record<string, unknown>[]) : undefined;
}

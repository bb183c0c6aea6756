/** What the core asks for -> Bot API calls, and the Bot API's refusals -> send results. */
import type { Attachment, OutboundEvent, SendResult } from '../../core/events.js';
import { ApiRefusal, type TelegramApi } from './api.js';
import { spansToEntities, truncate, type Entity } from './entities.js';
import { REACTION_EMOJI } from './reactions.js';
import { messageRef, parseMessageRef } from './updates.js';

export const MAX_TEXT = 4096;
export const MAX_CAPTION = 1024;

interface SentMessage { message_id: number; chat: { id: number } }

const MEDIA_METHOD: Record<Attachment['kind'], { method: string; field: string }> = {
  image: { method: 'sendPhoto', field: 'photo' },
  video: { method: 'sendVideo', field: 'video' },
  audio: { method: 'sendAudio', field: 'audio' },
  voice: { method: 'sendVoice', field: 'voice' },
  sticker: { method: 'sendSticker', field: 'sticker' },
  file: { method: 'sendDocument', field: 'document' },
};

/** Photos Telegram will take as photos; anything else goes as a document. */
const PHOTO_MIME = /^image\/(jpeg|png|webp)$/;
const STICKER_MIME = /^image\/webp$/;

export class Outbound {
  constructor(private readonly api: TelegramApi) {}

  async send(event: OutboundEvent): Promise<SendResult> {
    try {
      return await this.dispatch(event);
    } catch (err) {
      if (err instanceof ApiRefusal) {
        const moved = err.migrateTo !== undefined ? ` (the group is now ${err.migrateTo})` : '';
        return { status: 'rejected', reason: `Telegram: ${err.message}${moved}` };
      }
      throw err;
    }
  }

  private dispatch(event: OutboundEvent): Promise<SendResult> {
    switch (event.type) {
      case 'message': return this.message(event);
      case 'edit': return this.edit(event);
      case 'delete': return this.withTarget(event.target, async (t) => {
        await this.api.send('deleteMessage', { chat_id: t.chat, message_id: t.messageId }, t.chat);
        return { status: 'sent' };
      });
      case 'reaction': return this.reaction(event);
      case 'typing':
        if (!event.active) return Promise.resolve({ status: 'sent' }); // Telegram's indicator stops by itself after 5 s
        return this.api.call('sendChatAction', { chat_id: event.chat, action: 'typing' }).then(() => ({ status: 'sent' }));
      case 'leave': return this.api.call('leaveChat', { chat_id: event.chat }).then(() => ({ status: 'sent' }));
      case 'receipt': return Promise.resolve({ status: 'unsupported', reason: 'Telegram bots cannot mark messages as read' });
      case 'chat-info': return Promise.resolve({ status: 'unsupported', reason: 'the bridge does not rename Telegram chats' });
      case 'member': return Promise.resolve({ status: 'unsupported', reason: 'Telegram does not show Matrix members' });
    }
  }

  private async message(event: Extract<OutboundEvent, { type: 'message' }>): Promise<SendResult> {
    const { content } = event;
    const entities = spansToEntities(content.spans);
    const reply = event.replyTo ? parseMessageRef(event.replyTo) : undefined;
    const common = {
      chat_id: event.chat,
      ...(reply && reply.chat === event.chat && { reply_parameters: { message_id: reply.messageId, allow_sending_without_reply: true } }),
      // Notices (bots, status) should not buzz phones.
      ...(content.kind === 'notice' && { disable_notification: true }),
    };
    const attachments = content.attachments ?? [];
    // One attachment and a short text: a caption. Otherwise the text goes first, on its own.
    const captioned = attachments.length === 1 && content.text.length <= MAX_CAPTION;
    let first: SentMessage | undefined;
    if (content.text && !captioned) {
      first = await this.api.send<SentMessage>('sendMessage', { ...common, text: content.text, ...(entities.length && { entities }), link_preview_options: { is_disabled: true } }, event.chat);
    }
    for (const att of attachments) {
      const caption = captioned && content.text ? truncate(content.text, entities, MAX_CAPTION) : undefined;
      const sent = await this.media(event.chat, att, caption, first ? { chat_id: event.chat } : common);
      first ??= sent;
    }
    if (!first) return { status: 'rejected', reason: 'empty message' };
    return { status: 'sent', remoteId: messageRef(first.chat.id, first.message_id) };
  }

  private async media(chat: string, att: Attachment, caption: { text: string; entities: Entity[] } | undefined, common: Record<string, unknown>): Promise<SentMessage> {
    if (att.source.kind !== 'bytes') throw new Error('outbound media must carry its bytes');
    let kind = att.kind;
    if (kind === 'image' && !PHOTO_MIME.test(att.mime)) kind = 'file';
    if (kind === 'sticker' && !STICKER_MIME.test(att.mime)) kind = PHOTO_MIME.test(att.mime) ? 'image' : 'file';
    const { method, field } = MEDIA_METHOD[kind];
    const fields: Record<string, unknown> = {
      ...common,
      ...(caption?.text && kind !== 'sticker' && { caption: caption.text, ...(caption.entities.length && { caption_entities: caption.entities }) }),
    };
    // A multipart request: telegraf sends objects there as parts of their own unless they are JSON text already.
    const payload: Record<string, unknown> = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : v]));
    payload[field] = { source: Buffer.from(att.source.bytes), filename: att.name || field };
    return this.api.send<SentMessage>(method, payload, chat);
  }

  private edit(event: Extract<OutboundEvent, { type: 'edit' }>): Promise<SendResult> {
    return this.withTarget(event.target, async (t) => {
      const entities = spansToEntities(event.content.spans);
      try {
        await this.api.send('editMessageText', { chat_id: t.chat, message_id: t.messageId, text: event.content.text, ...(entities.length && { entities }), link_preview_options: { is_disabled: true } }, t.chat);
      } catch (err) {
        if (err instanceof ApiRefusal && /not modified/.test(err.message)) return { status: 'sent' };
        if (!(err instanceof ApiRefusal && /no text in the message/.test(err.message))) throw err;
        // A photo or file: its caption is the text.
        const caption = truncate(event.content.text, entities, MAX_CAPTION);
        await this.api.send('editMessageCaption', { chat_id: t.chat, message_id: t.messageId, caption: caption.text, ...(caption.entities.length && { caption_entities: caption.entities }) }, t.chat);
      }
      return { status: 'sent' };
    });
  }

  /**
   * A bot shows at most one reaction per message (Bot API: non-premium accounts), from
   * Telegram's fixed list: the newest key of the sender wins, removing the last clears it.
   */
  private reaction(event: Extract<OutboundEvent, { type: 'reaction' }>): Promise<SendResult> {
    const key = normaliseEmoji(event.key);
    if (!event.removed && !REACTION_EMOJI.has(key)) return Promise.resolve({ status: 'unsupported', reason: `Telegram bots can only react with Telegram's reaction emoji, not ${event.key}` });
    return this.withTarget(event.target, async (t) => {
      const remaining = event.keys.map(normaliseEmoji).filter((k) => REACTION_EMOJI.has(k));
      const shown = event.removed ? remaining.at(-1) : key;
      await this.api.send('setMessageReaction', { chat_id: t.chat, message_id: t.messageId, reaction: shown ? [{ type: 'emoji', emoji: shown }] : [] }, t.chat);
      return { status: 'sent' };
    });
  }

  private async withTarget(target: string, run: (t: { chat: string; messageId: number }) => Promise<SendResult>): Promise<SendResult> {
    const t = parseMessageRef(target);
    if (!t) return { status: 'rejected', reason: `${target} is not a Telegram message id` };
    return run(t);
  }
}

/** Matrix clients add VS16 (U+FE0F) to some emoji; Telegram's list has them without. */
export function normaliseEmoji(key: string): string {
  return key.replace(/\uFE0F/g, '');
}

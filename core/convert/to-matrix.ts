/** Neutral content -> Matrix m.room.message content. The core's only writer of Matrix message formats. */
import type { Attachment, MessageContent } from '../events.js';
import type { MatrixEventId, MatrixUserId, RemoteUserId } from '../ids.js';
import { spansToHtml } from './html.js';
import type { MatrixMessageContent } from './matrix-types.js';
import { sanitizeMatrixHtml } from './sanitize.js';
import { isAllowedLink } from './links.js';

const MSGTYPE = { text: 'm.text', emote: 'm.emote', notice: 'm.notice' } as const;

/** The text part of a message, or undefined when the message has no text. */
export function textToMatrix(content: MessageContent, ghostOf: (u: RemoteUserId) => MatrixUserId): MatrixMessageContent | undefined {
  if (!content.text) return undefined;
  const out: MatrixMessageContent = { msgtype: MSGTYPE[content.kind], body: content.text };
  // A remote link of a scheme not on the allow-list stays text (links.ts); sanitize-html would drop its href anyway.
  const spans = (content.spans ?? []).filter((s) => s.kind !== 'link' || isAllowedLink(s.url));
  const mentioned = [...new Set(spans.flatMap((s) => (s.kind === 'mention' ? [ghostOf(s.user)] : [])))];
  out['m.mentions'] = mentioned.length ? { user_ids: mentioned } : {};
  if (spans.length) {
    // The spans came from a remote network: their URLs are untrusted, so sanitise.
    out.format = 'org.matrix.custom.html';
    out.formatted_body = sanitizeMatrixHtml(spansToHtml(content.text, spans, ghostOf));
  }
  return out;
}

const MEDIA_MSGTYPE: Record<Attachment['kind'], string> = {
  image: 'm.image', sticker: 'm.image', video: 'm.video', audio: 'm.audio', voice: 'm.audio', file: 'm.file',
};

export function attachmentToMatrix(att: Attachment, mxc: string, size: number): MatrixMessageContent {
  const info: NonNullable<MatrixMessageContent['info']> = { mimetype: att.mime, size };
  if (att.width) info.w = att.width;
  if (att.height) info.h = att.height;
  if (att.durationMs) info.duration = att.durationMs;
  const out: MatrixMessageContent = { msgtype: MEDIA_MSGTYPE[att.kind], body: att.name, filename: att.name, url: mxc, info };
  // MSC3245: clients show a voice-message player.
  if (att.kind === 'voice') out['org.matrix.msc3245.voice'] = {};
  return out;
}

/** A notice for an attachment that could not be bridged as media. */
export function attachmentFailedToMatrix(att: Attachment, reason: string): MatrixMessageContent {
  return { msgtype: 'm.notice', body: `[${att.kind} ${att.name} could not be bridged: ${reason}]`, 'm.mentions': {} };
}

export function withReply(content: MatrixMessageContent, replyTo: MatrixEventId): MatrixMessageContent {
  return { ...content, 'm.relates_to': { ...content['m.relates_to'], 'm.in_reply_to': { event_id: replyTo } } };
}

/** An m.replace edit of `target` (https://spec.matrix.org/v1.11/client-server-api/#event-replacements). */
export function asEdit(newContent: MatrixMessageContent, target: MatrixEventId): MatrixMessageContent {
  const { 'm.relates_to': _r, ...inner } = newContent;
  const fallback: MatrixMessageContent = { ...inner, body: `* ${inner.body}`, 'm.new_content': inner, 'm.relates_to': { rel_type: 'm.replace', event_id: target } };
  if (inner.formatted_body) fallback.formatted_body = `* ${inner.formatted_body}`;
  return fallback;
}

export function reactionToMatrix(target: MatrixEventId, key: string): Record<string, unknown> {
  return { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } };
}

/** Matrix m.room.message content -> neutral content. The core's only reader of Matrix message formats. */
import type { Attachment, AttachmentKind, MessageContent } from '../events.js';
import type { MatrixEventId, RemoteUserId } from '../ids.js';
import { matrixEventId } from '../ids.js';
import { htmlToSpans, tooManyTags } from './html.js';
import type { MatrixMessageContent } from './matrix-types.js';

/** A Matrix media file described like an attachment, before its bytes are downloaded. */
export type MatrixMediaRef = Omit<Attachment, 'source'> & {
  mxc: string;
  /** In an encrypted room: the file object (key, iv, hash) the downloaded bytes are decrypted with. */
  file?: Record<string, unknown>;
};

export interface ParsedMatrixMessage {
  content: MessageContent;
  /** Media the core must download before handing the message to an adapter. */
  media?: MatrixMediaRef;
  replyTo?: MatrixEventId;
  /** Set for an edit: the event it replaces (content is the new content). */
  replaces?: MatrixEventId;
}

const KIND: Record<string, MessageContent['kind']> = { 'm.text': 'text', 'm.emote': 'emote', 'm.notice': 'notice' };
const MEDIA: Record<string, AttachmentKind> = { 'm.image': 'image', 'm.video': 'video', 'm.audio': 'audio', 'm.file': 'file' };

/** Drop the quoted lines a client puts before a reply's body (the reply fallback). */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith('> ')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

/**
 * Parse a message. `mention(userId)` maps a Matrix user to a remote user of the target
 * network (its ghosts) or undefined. Returns undefined for content that is not a message.
 */
export function fromMatrix(raw: Record<string, unknown>, mention: (userId: string) => RemoteUserId | undefined): ParsedMatrixMessage | undefined {
  const outer = raw as MatrixMessageContent;
  const rel = outer['m.relates_to'];
  const isEdit = rel?.rel_type === 'm.replace' && typeof rel.event_id === 'string';
  const c = isEdit && outer['m.new_content'] && typeof outer['m.new_content'] === 'object' ? outer['m.new_content'] : outer;
  if (typeof c.msgtype !== 'string' || typeof c.body !== 'string') return undefined;
  const replyTo = !isEdit && typeof rel?.['m.in_reply_to']?.event_id === 'string' ? matrixEventId(rel['m.in_reply_to'].event_id) : undefined;

  const out: ParsedMatrixMessage = { content: { kind: KIND[c.msgtype] ?? 'text', text: '' } };
  if (replyTo) out.replyTo = replyTo;
  if (isEdit) out.replaces = matrixEventId(rel!.event_id!);

  const mediaKind = MEDIA[c.msgtype];
  // An encrypted room's file comes as a `file` object (its url inside) instead of `url`.
  const file = c.file && typeof c.file === 'object' && !Array.isArray(c.file) ? (c.file as Record<string, unknown>) : undefined;
  const url = typeof c.url === 'string' ? c.url : typeof file?.url === 'string' ? file.url : undefined;
  if (mediaKind && url?.startsWith('mxc://')) {
    const info = c.info ?? {};
    out.media = {
      mxc: url,
      ...(typeof c.url !== 'string' && file && { file }),
      kind: c['org.matrix.msc3245.voice'] !== undefined ? 'voice' : mediaKind,
      name: typeof c.filename === 'string' ? c.filename : c.body || 'file',
      mime: info.mimetype ?? 'application/octet-stream',
      ...(info.size !== undefined && { size: info.size }),
      ...(info.w !== undefined && { width: info.w }),
      ...(info.h !== undefined && { height: info.h }),
      ...(info.duration !== undefined && { durationMs: info.duration }),
    };
    // A caption is a body that differs from the file name (MSC2530).
    const caption = typeof c.filename === 'string' && c.body !== c.filename ? c.body : '';
    out.content.text = caption;
    return out;
  }
  if (mediaKind) return undefined; // media without a usable mxc

  if (c.format === 'org.matrix.custom.html' && typeof c.formatted_body === 'string' && !tooManyTags(c.formatted_body)) {
    const parsed = htmlToSpans(c.formatted_body, mention);
    out.content.text = parsed.text;
    if (parsed.spans.length) out.content.spans = parsed.spans;
  } else {
    out.content.text = replyTo ? stripReplyFallback(c.body) : c.body;
  }
  return out;
}

/**
 * One message as IRC lines on the wire. Lines are cut to fit the server's 512 bytes after
 * the prefix it adds (split.ts). Where the server offers IRCv3 `draft/multiline`, the
 * message goes as one batch (several where it exceeds the server's limits), so clients
 * show it as one message; else line by line, and a message of more than `max_lines`
 * lines sends its first lines and a link to the whole text (the bridge's public_media
 * links), so a long paste does not flood the channel. Without links it goes whole.
 * Reactions and deletions are one line each (`annotationLine`).
 */
import { randomBytes } from 'node:crypto';
import type { MessageContent, OutboundEvent } from '../../core/events.js';
import type { RemoteUserId } from '../../core/ids.js';
import { DELIVERY_TAG } from './echoes.js';
import { toIrcFormatting } from './format.js';
import { batches, multilineLimits } from './multiline.js';
import { hasServerId } from './names.js';
import { splitOutLines, type OutLine } from './split.js';

/** What sending needs of a connection. */
export interface LineIo {
  write(command: string, params: string[], tags?: Record<string, string>): Promise<void>;
  can(cap: string): boolean;
  /** The nick to write for a mentioned user (accounts.ts). */
  nickOf(user: RemoteUserId): string;
  /** The value the server gave a capability (`max-bytes=4096`), if it listed one. */
  capValue(cap: string): string | undefined;
  /** A label for labeled-response, new each time. */
  nextLabel(): string;
  /** Resolves with the msgid of our line's echo (by label), or undefined; undefined without echo-message. */
  awaitEcho(label: string): Promise<string | undefined> | undefined;
  publishText?(text: string, name: string): Promise<string | undefined>;
  warn(fields: object, msg: string): void;
}

export interface OutgoingMessage {
  command: 'PRIVMSG' | 'NOTICE';
  target: string;
  emote: boolean;
  content: Pick<MessageContent, 'text' | 'spans'>;
  replyTo?: string;
  /** Bytes of text one line may carry (split.ts textBudget, less what an emote adds). */
  budget: number;
  /** Lines sent one by one before the rest becomes a link (0: never). */
  maxLines: number;
  /** The core's Delivery key, sent as a client tag on the first line or batch (echoes.ts). */
  deliveryKey?: string;
}

/** Sends the message; resolves with whether there was anything to send, and the server's msgid of its first line or batch, if echoed. */
export async function sendMessageLines(io: LineIo, m: OutgoingMessage): Promise<{ sent: boolean; msgid?: string }> {
  // One byte kept for the space a continuation may open with (split.ts OutLine.spaceBefore).
  const pieces = splitOutLines(m.content, m.budget - 1, (p) => toIrcFormatting(p, io.nickOf));
  if (!pieces.length) return { sent: false };
  const limits = multilineLimits(io.capValue('draft/multiline'));
  if (!m.emote && pieces.length > 1 && limits && io.can('draft/multiline') && io.can('batch')) return { sent: true, ...(await asBatches(io, m, pieces, limits)) };
  const lines = await withinMaxLines(io, m, pieces.map((p) => p.text));
  let msgid: string | undefined;
  for (const [i, text] of lines.entries()) {
    const tags: Record<string, string> = i === 0 ? firstTags(io, m) : {};
    const echoed = labelled(io, tags);
    await io.write(m.command, [m.target, m.emote ? `\x01ACTION ${text}\x01` : text], tags);
    const id = await echoed;
    if (i === 0) msgid = id;
  }
  return { sent: true, ...(msgid && { msgid }) };
}

/** Client tags of a message's first line or batch: what it answers, and its Delivery key. */
function firstTags(io: LineIo, m: OutgoingMessage): Record<string, string> {
  if (!io.can('message-tags')) return {};
  // Only a server's msgid can be answered; an id the bridge made up names nothing on IRC.
  return { ...(m.replyTo && hasServerId(m.replyTo) && { '+draft/reply': m.replyTo }), ...(m.deliveryKey && { [DELIVERY_TAG]: m.deliveryKey }) };
}

/** A label on the line where the server answers labels, and the wait for its echo. */
function labelled(io: LineIo, tags: Record<string, string>): Promise<string | undefined> | undefined {
  const label = io.nextLabel();
  const byLabel = io.can('labeled-response');
  if (byLabel) tags.label = label;
  return io.awaitEcho(byLabel ? label : '');
}

async function asBatches(io: LineIo, m: OutgoingMessage, pieces: OutLine[], limits: { maxBytes: number; maxLines: number }): Promise<{ msgid?: string }> {
  const lines = pieces.map((p): OutLine => ({ text: p.concat && p.spaceBefore ? ` ${p.text}` : p.text, concat: p.concat }));
  let msgid: string | undefined;
  for (const [i, batch] of batches(lines, limits).entries()) {
    const ref = randomBytes(6).toString('base64url');
    const tags: Record<string, string> = i === 0 ? firstTags(io, m) : {};
    const echoed = labelled(io, tags);
    await io.write('BATCH', [`+${ref}`, 'draft/multiline', m.target], tags);
    for (const l of batch) await io.write(m.command, [m.target, l.text], { batch: ref, ...(l.concat && { 'draft/multiline-concat': '' }) });
    await io.write('BATCH', [`-${ref}`]);
    const id = await echoed;
    if (i === 0) msgid = id;
  }
  return msgid ? { msgid } : {};
}

/** The lines to send one by one: all of them, or the first ones and a link to the whole text. */
async function withinMaxLines(io: LineIo, m: OutgoingMessage, lines: string[]): Promise<string[]> {
  if (!m.maxLines || lines.length <= m.maxLines || !io.publishText) return lines;
  let link: string | undefined;
  try {
    link = await io.publishText(m.content.text, 'message.txt');
  } catch (err) {
    io.warn({ err: String(err) }, 'could not publish a long message as a link; sending every line');
  }
  if (!link) return lines;
  const shown = lines.slice(0, Math.max(1, m.maxLines - 1));
  return [...shown, `… ${lines.length - shown.length} more lines, the whole message: ${link}`];
}

/** Longest reaction key sent as a client tag (servers cap a line's tags at 4,094 bytes). */
const MAX_REACTION_BYTES = 200;

/**
 * A reaction (IRCv3 `+draft/react`, `+draft/unreact` to take it back, on a TAGMSG whose
 * `+draft/reply` names the message) or a deletion (`draft/message-redaction`: REDACT; the
 * server checks who may) as its one line, or why this connection cannot send it.
 */
export function annotationLine(
  ev: Extract<OutboundEvent, { type: 'reaction' | 'delete' }>,
  target: string,
  can: (cap: string) => boolean,
): { command: string; params: string[]; tags: Record<string, string> } | { unsupported: string } {
  if (!hasServerId(ev.target)) return { unsupported: `the IRC server gave that message no id to ${ev.type === 'reaction' ? 'react to' : 'delete it by'}` };
  if (ev.type === 'delete') {
    if (!can('draft/message-redaction')) return { unsupported: 'this IRC server cannot delete messages' };
    return { command: 'REDACT', params: [target, ev.target], tags: {} };
  }
  if (!can('message-tags')) return { unsupported: 'this IRC server relays no reactions (no message-tags)' };
  if (Buffer.byteLength(ev.key) > MAX_REACTION_BYTES) return { unsupported: `a reaction longer than ${MAX_REACTION_BYTES} bytes cannot go to IRC` };
  return { command: 'TAGMSG', params: [target], tags: { '+draft/reply': ev.target, [ev.removed ? '+draft/unreact' : '+draft/react']: ev.key } };
}

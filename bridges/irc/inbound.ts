/**
 * IRC events -> the core's events, for one connection. Only the channel's reader
 * (registry.ts) reports a channel; lines from our own nicks came from Matrix and are
 * not reported; everything read from the wire is decoded field by field (wire.ts).
 */
import { createHash } from 'node:crypto';
import type { FormatSpan, RemoteEvent, SenderRef } from '../../core/events.js';
import { remoteMessageId, type RemoteMessageId } from '../../core/ids.js';
import { parseIrcLines } from './format.js';
import { chatIdOf, foldCase, isChannel } from './names.js';
import { fromWire } from './wire.js';

export interface InboundLine {
  kind: 'text' | 'notice' | 'emote';
  nick: string;
  target: string;
  message: string;
  tags: Record<string, string>;
  time?: number;
}

/** What the connection knows that reading a line needs. */
export interface InboundContext {
  /** Our own nick on this connection. */
  ownNick(): string;
  /** Whether a nick is one of the bridge's connections on this network. */
  isOwnNick(nick: string): boolean;
  /** Whether this connection reports the channel (registry.ts). */
  isReader(channel: string): boolean;
  /** Members of a channel as this connection saw them (folded nicks). */
  members(channel: string): ReadonlySet<string> | undefined;
  /** The relay connection takes no private messages (nobody's DM portal). */
  relay: boolean;
  /** Who a nick is: their account's id where the server told us one (accounts.ts). */
  senderOf(nick: string): SenderRef;
}

/**
 * The id of a message: the server's (IRCv3 `msgid`), else one made of what is stable
 * when the server replays the line (server-time, sender, text), else a local counter
 * (a server without either never replays, so a line is seen once).
 */
export function messageId(line: Pick<InboundLine, 'nick' | 'target' | 'message' | 'tags' | 'time'>, counter: () => number): RemoteMessageId {
  if (line.tags.msgid) return remoteMessageId(line.tags.msgid);
  if (line.tags.time) {
    const h = createHash('sha256').update(`${line.tags.time}\u0000${foldCase(line.nick)}\u0000${foldCase(line.target)}\u0000${line.message}`).digest('base64url').slice(0, 16);
    return remoteMessageId(`t:${h}`);
  }
  return remoteMessageId(`n:${Date.now()}:${counter()}`);
}

/** `nick: ` at the start of a line, for a member of the channel: a mention span. */
function leadingMention(text: string, members: ReadonlySet<string> | undefined, senderOf: (nick: string) => SenderRef): FormatSpan | undefined {
  const m = /^([^\s:,]{1,30})[:,] /.exec(text);
  if (!m || !members?.has(foldCase(m[1]!))) return undefined;
  return { kind: 'mention', offset: 0, length: m[1]!.length, user: senderOf(m[1]!).id };
}

/** A PRIVMSG, NOTICE or ACTION as a core event, or undefined when it is not to be reported. */
export function lineToEvent(raw: InboundLine, ctx: InboundContext, counter: () => number): Extract<RemoteEvent, { type: 'message' }> | undefined {
  const nick = fromWire(raw.nick ?? '');
  const target = fromWire(raw.target ?? '');
  if (!nick || ctx.isOwnNick(nick)) return undefined; // ours, from Matrix (or an echo)
  let chat: { id: ReturnType<typeof chatIdOf>; kind: 'dm' | 'group' };
  if (isChannel(target)) {
    if (!ctx.isReader(target)) return undefined;
    chat = { id: chatIdOf(target), kind: 'group' };
  } else {
    if (ctx.relay || foldCase(target) !== foldCase(ctx.ownNick())) return undefined;
    chat = { id: chatIdOf(nick), kind: 'dm' };
  }
  const { text, spans } = parseIrcLines(fromWire(raw.message ?? ''));
  if (!text.trim()) return undefined;
  const mention = chat.kind === 'group' ? leadingMention(text, ctx.members(target), ctx.senderOf) : undefined;
  const allSpans = mention ? [mention, ...spans] : spans;
  const replyTo = raw.tags['+draft/reply'] ?? raw.tags['+reply'];
  return {
    type: 'message',
    chat,
    id: messageId({ ...raw, nick, target }, counter),
    sender: ctx.senderOf(nick),
    content: { kind: raw.kind, text, ...(allSpans.length && { spans: allSpans }) },
    ...(replyTo && { replyTo: remoteMessageId(replyTo) }),
    ...(raw.time && { timestamp: raw.time }),
  };
}

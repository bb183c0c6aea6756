/**
 * XMPP stanzas <-> neutral events, as pure functions. Namespaces of the XEPs used:
 * 0085 chat states, 0280 carbons, 0308 corrections, 0359 stanza ids, 0424 retraction
 * (0.4+ and the older fastening form), 0444 reactions, 0461 replies (with 0428 fallback
 * bodies, or without them).
 */
import xml, { type Element } from '@xmpp/xml';
import jid from '@xmpp/jid';
import type { OwnPresence } from '../../core/adapter.js';
import type { MessageContent, OutboundEvent, RemoteEvent } from '../../core/events.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteMessageId } from '../../core/ids.js';
import { singleLineName } from '../../core/safety.js';
import { refUrl, sharedFiles } from './shared-files.js';
import { parseStyling, toStyled } from './styling.js';

export const NS = {
  chatStates: 'http://jabber.org/protocol/chatstates',
  carbons: 'urn:xmpp:carbons:2',
  delay: 'urn:xmpp:delay',
  forward: 'urn:xmpp:forward:0',
  correct: 'urn:xmpp:message-correct:0',
  sid: 'urn:xmpp:sid:0',
  retract: 'urn:xmpp:message-retract:1',
  /** XEP-0424 before 0.4 (still sent by many clients): `<apply-to xmlns=fasten:0 id=...><retract xmlns=message-retract:0/>`. */
  retract0: 'urn:xmpp:message-retract:0',
  fasten: 'urn:xmpp:fasten:0',
  reactions: 'urn:xmpp:reactions:0',
  reply: 'urn:xmpp:reply:0',
  fallback: 'urn:xmpp:fallback:0',
  hints: 'urn:xmpp:hints',
  muc: 'http://jabber.org/protocol/muc',
  styling: 'urn:xmpp:styling:0',
  markers: 'urn:xmpp:chat-markers:0',
  mucUser: 'http://jabber.org/protocol/muc#user',
} as const;

/** Longest body accepted from the network; longer bodies are cut with a note (never a crash). */
export const MAX_BODY = 256 * 1024;

export interface ParseContext {
  /** The login's own bare JID. */
  self: string;
  /** Joined MUCs: room bare JID -> our nick there. */
  mucs: ReadonlyMap<string, string>;
  /** groupchat: the MUC's stanza id of a message, by the `id` its sender gave it (corrections use the latter). */
  stanzaIdOf(room: string, id: string): string | undefined;
}

export interface Parsed {
  event?: RemoteEvent;
  /** Our own MUC message reflected back: origin id and the MUC's stanza id. */
  reflection?: { room: string; originId: string; stanzaId: string };
  /** groupchat: remember stanza id <-> id attribute for later corrections. */
  ids?: { room: string; idAttr: string; stanzaId: string };
}

const bareOf = (s: string) => jid(s).bare().toString();

/**
 * Read one incoming message stanza. Returns {} for what the bridge does not carry.
 * `archiveId` is set for a message fetched from an archive (MAM): for a room it is the
 * room's stanza id of the message.
 */
export function parseMessage(stanza: Element, ctx: ParseContext, archiveId?: string): Parsed {
  if (!stanza.is('message')) return {};
  const type = stanza.attrs.type ?? 'normal';
  if (type === 'error' || !stanza.attrs.from) return {};
  const from = jid(stanza.attrs.from);
  const fromBare = from.bare().toString();

  // Carbons: only from our own account (anyone else could forge them).
  const carbon = stanza.getChild('sent', NS.carbons) ?? stanza.getChild('received', NS.carbons);
  if (carbon) {
    if (fromBare !== ctx.self) return {};
    const inner = carbon.getChild('forwarded', NS.forward)?.getChild('message');
    if (!inner || inner.getChild('sent', NS.carbons) || inner.getChild('received', NS.carbons)) return {};
    if (carbon.name === 'received') return parseMessage(inner, ctx);
    // Sent from another client of ours: the chat is the recipient.
    const to = inner.attrs.to;
    if (!to || (inner.attrs.type ?? 'normal') === 'groupchat') return {};
    return chatEvent(inner, bareOf(to), { id: remoteUserId(ctx.self), isSelf: true });
  }

  if (type === 'groupchat') {
    const nick = ctx.mucs.get(fromBare);
    if (nick === undefined) return {};
    // A subject without a body is the room's subject (XEP-0045 8.1): sent at join, or changed
    // by an occupant. Our own change coming back is not news.
    const subject = stanza.getChildText('subject');
    if (subject !== null && stanza.getChildText('body') === null) {
      if (from.resource === nick) return {};
      return { event: { type: 'chat-info', chat: { id: remoteChatId(fromBare), kind: 'group' }, info: { id: remoteChatId(fromBare), kind: 'group', topic: cleanTopic(subject) } } };
    }
    if (!from.resource) return {}; // the room itself: configuration notices
    const stanzaId = archiveId ?? stanza.getChildren('stanza-id', NS.sid).find((s) => s.attrs.by === fromBare)?.attrs.id;
    const originId = stanza.getChild('origin-id', NS.sid)?.attrs.id;
    const idAttr = stanza.attrs.id;
    const own = from.resource === nick;
    if (own && originId && stanzaId && !stanza.getChild('replace', NS.correct)) return { reflection: { room: fromBare, originId, stanzaId } };
    const sender = { id: remoteUserId(from.toString()), name: singleLineName(from.resource), ...(own && { isSelf: true }) };
    const parsed = chatEvent(stanza, fromBare, sender, stanzaId, (id) => ctx.stanzaIdOf(fromBare, id) ?? id);
    if (idAttr && stanzaId) parsed.ids = { room: fromBare, idAttr, stanzaId };
    return parsed;
  }
  if (type !== 'chat' && type !== 'normal') return {};
  // In our own archive, what we sent (from any client) is stored too: it belongs to the recipient's chat.
  if (archiveId !== undefined && fromBare === ctx.self) {
    const to = stanza.attrs.to;
    return to ? chatEvent(stanza, bareOf(to), { id: remoteUserId(ctx.self), isSelf: true }) : {};
  }
  return chatEvent(stanza, fromBare, { id: remoteUserId(fromBare) });
}

/** The chat a message belongs to, as far as order goes: a MUC, or a direct chat with one peer. */
export type ChatOf = { room: string } | { peer: string };

/**
 * Which chat a message (live, or from our own archive) belongs to, told from its addresses
 * alone: a groupchat's room; for a direct message the other party, our own carbons
 * unwrapped. Undefined when that cannot be told (no sender, a malformed address, another
 * type); such a message keeps its place behind everything else.
 */
export function chatOf(stanza: Element, self: string): ChatOf | undefined {
  try {
    if (!stanza.attrs.from) return undefined;
    const fromBare = bareOf(stanza.attrs.from);
    const type = stanza.attrs.type ?? 'normal';
    if (type === 'groupchat') return { room: fromBare };
    if (type !== 'chat' && type !== 'normal') return undefined;
    const carbon = stanza.getChild('sent', NS.carbons) ?? stanza.getChild('received', NS.carbons);
    if (carbon) {
      const inner = carbon.getChild('forwarded', NS.forward)?.getChild('message');
      const peer = carbon.name === 'sent' ? inner?.attrs.to : inner?.attrs.from;
      return fromBare === self && peer && inner?.attrs.type !== 'groupchat' ? { peer: bareOf(peer) } : undefined;
    }
    const peer = fromBare === self ? stanza.attrs.to : fromBare;
    return peer ? { peer: bareOf(peer) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A message our server kept while we were offline and delivers now (XEP-0160; it says so
 * with a XEP-0203 delay from our domain): old news that our archive holds too.
 */
export function storedOffline(stanza: Element, self: string): boolean {
  const domain = self.slice(self.indexOf('@') + 1);
  return stanza.getChildren('delay', NS.delay).some((d) => d.attrs.from === domain);
}

/** The id our own server's archive gave a live message (XEP-0359 `stanza-id` by our account). */
export function ownArchiveId(stanza: Element, self: string): string | undefined {
  return stanza.getChildren('stanza-id', NS.sid).find((s) => s.attrs.by === self)?.attrs.id;
}

/**
 * One message of a chat (1:1 or groupchat). `mucId` is the MUC's stanza id (the id
 * replies, reactions and retractions use in rooms); `correctionTarget` maps the id a
 * correction names to the id the bridge knows the message by.
 */
function chatEvent(
  stanza: Element, chat: string, sender: { id: ReturnType<typeof remoteUserId>; name?: string; isSelf?: boolean },
  mucId?: string, correctionTarget: (id: string) => string = (id) => id,
): Parsed {
  const kind = stanza.attrs.type === 'groupchat' ? 'group' : 'dm';
  const chatRef = { id: remoteChatId(chat), kind } as const;
  const id = mucId ?? stanza.getChild('origin-id', NS.sid)?.attrs.id ?? stanza.attrs.id;

  // What we understand is acted on, and its fallback body (for clients that do not) never posted.
  const retracted = retractTarget(stanza);
  if (retracted) return { event: { type: 'delete', chat: chatRef, sender, target: remoteMessageId(retracted) } };
  const reactions = stanza.getChild('reactions', NS.reactions);
  if (reactions?.attrs.id) {
    const keys = [...new Set(reactions.getChildren('reaction').map((r) => r.text().trim()).filter(Boolean))];
    return { event: { type: 'reaction-set', chat: chatRef, sender, target: remoteMessageId(reactions.attrs.id), keys } };
  }
  // Chat markers (XEP-0333): "displayed" is what Matrix calls read. XEP-0184 delivery
  // receipts say only that a client got the message, so they are not read receipts.
  const displayed = stanza.getChild('displayed', NS.markers);
  if (displayed?.attrs.id) return { event: { type: 'receipt', chat: chatRef, sender, upTo: remoteMessageId(correctionTarget(displayed.attrs.id)) } };
  const files = sharedFiles(stanza);
  const body = stanza.getChildText('body') ?? (files.length ? '' : null);
  if (body === null) {
    const state = stanza.children.find((c): c is Element => typeof c !== 'string' && c.getNS() === NS.chatStates)?.name;
    if (state) return { event: { type: 'typing', chat: chatRef, sender, active: state === 'composing' } };
    return {};
  }
  let content = textContent(stanza, body);
  if (files.length) {
    // A file message's body is usually its link (a fallback for older clients); keep only a real caption.
    let caption = content.text;
    for (const url of files.map(refUrl)) caption = caption.split(url).join('');
    caption = caption.trim().replace(/:$/, '').trim();
    content = caption === content.text ? { ...content, attachments: files } : { kind: content.kind, text: caption, attachments: files };
  }
  const replace = stanza.getChild('replace', NS.correct);
  if (replace?.attrs.id) {
    return { event: { type: 'edit', chat: chatRef, sender, target: remoteMessageId(correctionTarget(replace.attrs.id)), content, ...(id && { id: remoteMessageId(`edit:${id}`) }) } };
  }
  if (!id) return {}; // without any id it can be neither deduplicated nor targeted later
  const reply = stanza.getChild('reply', NS.reply);
  return { event: { type: 'message', chat: chatRef, sender, id: remoteMessageId(id), content, ...(reply?.attrs.id && { replyTo: remoteMessageId(reply.attrs.id) }) } };
}

/**
 * The id a retraction names: XEP-0424 from 0.4 on (`<retract id=... xmlns=message-retract:1/>`)
 * or before it (`<apply-to id=... xmlns=fasten:0><retract xmlns=message-retract:0/></apply-to>`).
 */
function retractTarget(stanza: Element): string | undefined {
  const v1 = stanza.getChild('retract', NS.retract)?.attrs.id;
  if (v1) return v1;
  const applyTo = stanza.getChildren('apply-to', NS.fasten).find((a) => a.getChild('retract', NS.retract0));
  return applyTo?.attrs.id || undefined;
}

/**
 * The body without the text a reply (XEP-0461) quotes, cut to MAX_BODY. The quote is
 * marked by a XEP-0428 fallback range; a reply without one (clients from before the
 * markers) whose body opens with quoted lines loses those lines, as Matrix's reply
 * fallback does.
 */
function textContent(stanza: Element, body: string): MessageContent {
  let text = body;
  const fallback = stanza.getChildren('fallback', NS.fallback).find((f) => f.attrs.for === NS.reply);
  const range = fallback?.getChild('body');
  if (range) {
    // Offsets count Unicode code points (XEP-0426).
    const points = [...text];
    const start = Number(range.attrs.start ?? 0);
    const end = Number(range.attrs.end ?? points.length);
    if (Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= points.length && start <= end) text = [...points.slice(0, start), ...points.slice(end)].join('');
  } else if (!fallback && stanza.getChild('reply', NS.reply)) {
    text = withoutLeadingQuote(text);
  }
  if (text.length > MAX_BODY) text = `${text.slice(0, MAX_BODY)}\n[message cut: it was longer than ${MAX_BODY} characters]`;
  const emote = text.startsWith('/me ');
  if (emote) text = text.slice(4);
  const spans = stanza.getChild('unstyled', NS.styling) ? [] : parseStyling(text);
  return { kind: emote ? 'emote' : 'text', text, ...(spans.length && { spans }) };
}

export interface Outgoing {
  stanza: Element;
  /** The id the message goes by (origin id); for groupchat the MUC assigns its own. */
  originId: string;
}

/**
 * Build the stanza for an outbound event. `idAttrOf` gives, for a groupchat message
 * known by its MUC stanza id, the `id` attribute corrections must name.
 */
export function buildStanza(ev: OutboundEvent, type: 'chat' | 'groupchat', newId: () => string, idAttrOf: (id: RemoteMessageId) => string): Outgoing | undefined {
  const originId = newId();
  const base = (...children: (Element | undefined | false)[]) =>
    xml('message', { to: ev.chat, type, id: originId }, ...children, xml('origin-id', { xmlns: NS.sid, id: originId }));
  switch (ev.type) {
    case 'message': {
      const text = ev.content.kind === 'emote' ? `/me ${toStyled(ev.content)}` : toStyled(ev.content);
      return {
        originId,
        stanza: base(xml('body', {}, text), ev.replyTo && xml('reply', { xmlns: NS.reply, id: ev.replyTo }), xml('markable', { xmlns: NS.markers }), type === 'chat' && xml('active', { xmlns: NS.chatStates })),
      };
    }
    case 'edit':
      return { originId, stanza: base(xml('body', {}, toStyled(ev.content)), xml('replace', { xmlns: NS.correct, id: idAttrOf(ev.target) })) };
    case 'delete':
      return {
        originId,
        stanza: base(
          xml('retract', { xmlns: NS.retract, id: ev.target }),
          xml('fallback', { xmlns: NS.fallback, for: NS.retract }),
          xml('body', {}, 'This person attempted to retract a previous message, but your client does not support it.'),
          xml('store', { xmlns: NS.hints }),
        ),
      };
    case 'reaction':
      return { originId, stanza: base(xml('reactions', { xmlns: NS.reactions, id: ev.target }, ...ev.keys.map((k) => xml('reaction', {}, k))), xml('store', { xmlns: NS.hints })) };
    case 'receipt':
      return { originId, stanza: xml('message', { to: ev.chat, type, id: originId }, xml('displayed', { xmlns: NS.markers, id: ev.upTo }), xml('store', { xmlns: NS.hints })) };
    case 'typing':
      return { originId, stanza: xml('message', { to: ev.chat, type }, xml(ev.active ? 'composing' : 'active', { xmlns: NS.chatStates }), xml('no-store', { xmlns: NS.hints })) };
    case 'chat-info':
      // A room's subject; a MUC refuses it (with an error message) unless we may change it.
      if (type !== 'groupchat' || ev.topic === undefined) return undefined;
      return { originId, stanza: xml('message', { to: ev.chat, type, id: originId }, xml('subject', {}, ev.topic)) };
    default:
      return undefined;
  }
}

/** A subject as a topic: at most 1,000 characters, control characters flattened (line breaks kept). */
function cleanTopic(subject: string): string {
  return subject.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').slice(0, 1000);
}

/** A MUC join presence: no history (the bridge does not replay what Matrix never saw as live). */
export function joinPresence(room: string, nick: string): Element {
  return xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '0' })));
}

/**
 * A contact's presence (not a MUC occupant's, not ours) as a presence event: `away`,
 * `xa` and `dnd` are unavailable on Matrix, `unavailable` is offline.
 */
export function contactPresence(stanza: Element, self: string, mucs: ReadonlyMap<string, string>): RemoteEvent | undefined {
  const from = stanza.attrs.from;
  const type = stanza.attrs.type;
  if (!from || (type !== undefined && type !== 'unavailable')) return undefined;
  const bare = bareOf(from);
  if (bare === self || mucs.has(bare) || stanza.getChild('x', NS.mucUser)) return undefined;
  const show = stanza.getChildText('show');
  const state = type === 'unavailable' ? 'offline' : show === 'away' || show === 'xa' || show === 'dnd' ? 'unavailable' : 'online';
  const status = stanza.getChildText('status');
  return { type: 'presence', user: remoteUserId(bare), state, ...(status && { status: status.slice(0, 200) }) };
}

/**
 * Our own presence from the Matrix side: broadcast, or directed to our occupant address
 * in a MUC. Matrix "unavailable" is away; "offline" (every Matrix client closed) is
 * extended away, since the XMPP account itself stays connected.
 */
export function ownPresenceStanza(presence: OwnPresence | undefined, to?: string): Element {
  const show = presence?.state === 'unavailable' ? 'away' : presence?.state === 'offline' ? 'xa' : undefined;
  return xml('presence', to ? { to } : {}, show && xml('show', {}, show), presence?.status && xml('status', {}, presence.status));
}

/** A body without the `> ` lines it opens with (and the blank line after them), if anything else is left. */
function withoutLeadingQuote(body: string): string {
  if (!body.startsWith('>')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (lines[i] === '') i++;
  const rest = lines.slice(i).join('\n');
  return rest.trim() ? rest : body;
}

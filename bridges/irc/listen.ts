/**
 * What happens in a connection's channels, as core events: joins, parts, quits, kicks and
 * nick changes of others become ghost membership, the topic becomes chat info, client tags
 * become typing, and lines become messages (inbound.ts). Only the channel's reader reports
 * (registry.ts); the bridge's own nicks never come back as people.
 */
import type { Client, MessageEvent } from 'irc-framework';
import type { Logger } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';
import type { Channels } from './channels.js';
import { lineToEvent, type InboundLine } from './inbound.js';
import { chatIdOf, foldCase, isChannel, userIdOf } from './names.js';
import type { IrcRegistry, Member } from './registry.js';
import { fromWire } from './wire.js';
import { remoteMessageId } from '../../core/ids.js';

/** The part of a connection the listeners need. */
export interface ConnectionView {
  emit(ev: RemoteEvent): void;
  log: Logger;
  registry: IrcRegistry;
  member: Member;
  channels: Channels;
  relay: boolean;
  ownNick(): string;
  ownNickChanged(nick: string): void;
  /** Our own line echoed back (echo-message): consumed, never reported. */
  isOwnEcho(e: MessageEvent): boolean;
  counter(): number;
  /** How long a netsplit quit waits for the netjoin (default NETSPLIT_GRACE_MS). */
  netsplitGraceMs?: number;
}

/** Channel member modes that make an operator: op, admin (protect), owner (founder). */
const OPERATOR_MODES = new Set(['o', 'a', 'q']);

/** A netsplit's quit message: the two server names, e.g. "hub.example.net leaf.example.net". */
const NETSPLIT = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+ [A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** How long a netsplit quit waits for the netjoin before the ghost leaves. */
export const NETSPLIT_GRACE_MS = 120_000;

export function listenForEvents(client: Client, c: ConnectionView): void {
  const { emit, registry, member, channels } = c;
  const message = (kind: InboundLine['kind']) => (e: MessageEvent) => {
    if (c.isOwnEcho(e)) return;
    const ev = lineToEvent({ kind, nick: e.nick, target: e.target, message: e.message, tags: e.tags ?? {}, ...(e.time && { time: e.time }) }, {
      ownNick: c.ownNick,
      isOwnNick: (n) => registry.isOwnNick(n),
      isReader: (ch) => registry.isReader(member, ch),
      members: (ch) => channels.membersOf(ch),
      relay: c.relay,
    }, c.counter);
    if (ev) emit(ev);
  };
  client.on('privmsg', message('text'));
  client.on('notice', (e: MessageEvent) => { if (!e.from_server && e.target !== '*') message('notice')(e); });
  client.on('action', message('emote'));
  client.on('tagmsg', (e: MessageEvent) => {
    const nick = fromWire(e.nick ?? '');
    const target = fromWire(e.target ?? '');
    if (!nick || registry.isOwnNick(nick) || !isChannel(target) || !registry.isReader(member, target)) return;
    const chat = { id: chatIdOf(target), kind: 'group' as const };
    const sender = { id: userIdOf(nick), name: nick };
    const typing = e.tags?.['+typing'];
    if (typing) emit({ type: 'typing', chat, sender, active: typing === 'active' });
    // IRCv3 +draft/react: a reaction to the message its +draft/reply names.
    // IRCv3 +draft/react (and the proposed +draft/unreact): a reaction to the message its +draft/reply names.
    const to = e.tags?.['+draft/reply'];
    const react = e.tags?.['+draft/react'];
    const unreact = e.tags?.['+draft/unreact'];
    if (to && react && react.length <= 64) emit({ type: 'reaction', chat, sender, target: remoteMessageId(to), key: fromWire(react) });
    if (to && unreact && unreact.length <= 64) emit({ type: 'reaction', chat, sender, target: remoteMessageId(to), key: fromWire(unreact), removed: true });
  });
  // draft/message-redaction: `:nick!u@h REDACT <target> <msgid> [:reason]`; irc-framework does not know it.
  client.on('unknown command', (cmd: { command?: string; nick?: string; params?: string[] }) => {
    if (cmd.command !== 'REDACT' || !cmd.nick || !cmd.params?.[1]) return;
    const nick = fromWire(cmd.nick);
    const target = fromWire(cmd.params[0] ?? '');
    if (registry.isOwnNick(nick)) return;
    const msgid = remoteMessageId(cmd.params[1]);
    if (isChannel(target)) {
      if (!registry.isReader(member, target)) return;
      // The server let an operator remove someone else's line: the core applies that only for a moderator.
      emit({ type: 'delete', chat: { id: chatIdOf(target), kind: 'group' }, sender: { id: userIdOf(nick), name: nick }, target: msgid, ...(channels.isOp(target, nick) && { moderator: true }) });
    } else if (!c.relay && foldCase(target) === foldCase(c.ownNick())) {
      emit({ type: 'delete', chat: { id: chatIdOf(nick), kind: 'dm' }, sender: { id: userIdOf(nick), name: nick }, target: msgid });
    }
  });
  client.on('join', (e: { nick: string; channel: string }) => {
    const nick = fromWire(e.nick);
    const channel = fromWire(e.channel);
    channels.addMember(channel, nick);
    const held = split.get(foldCase(nick));
    if (held?.channels.includes(foldCase(channel))) {
      // Back from a netsplit: neither the quit nor this join is news.
      held.channels = held.channels.filter((ch) => ch !== foldCase(channel));
      if (!held.channels.length) {
        clearTimeout(held.timer);
        split.delete(foldCase(nick));
      }
      return;
    }
    if (foldCase(nick) === foldCase(c.ownNick())) {
      channels.want(channel);
      registry.joinedChannel(member, channel);
      channels.joined(channel);
      return;
    }
    if (!registry.isOwnNick(nick) && registry.isReader(member, channel)) emit({ type: 'member', chat: { id: chatIdOf(channel), kind: 'group' }, user: { id: userIdOf(nick), name: nick }, change: 'join' });
  });
  const left = (nick: string, channel: string, change: 'leave' | 'kick', by?: string, reason?: string) => {
    channels.removeMember(channel, nick);
    if (foldCase(nick) === foldCase(c.ownNick())) {
      registry.leftChannel(member, channel);
      if (change === 'kick') c.log.warn({ channel, by, reason }, 'kicked from an IRC channel');
      return;
    }
    if (!registry.isOwnNick(nick) && registry.isReader(member, channel)) {
      emit({ type: 'member', chat: { id: chatIdOf(channel), kind: 'group' }, user: { id: userIdOf(nick), name: nick }, change, ...(by && { by: userIdOf(by) }), ...(reason && { reason }) });
    }
  };
  // An operator's ghost is a moderator in the room (core/portal/remote/role.ts).
  const role = (channel: string, nick: string, op: boolean) => {
    if (!registry.isOwnNick(nick) && registry.isReader(member, channel)) emit({ type: 'role', chat: { id: chatIdOf(channel), kind: 'group' }, user: { id: userIdOf(nick), name: nick }, role: op ? 'moderator' : 'member' });
  };
  client.on('part', (e: { nick: string; channel: string; message?: string }) => left(fromWire(e.nick), fromWire(e.channel), 'leave'));
  client.on('kick', (e: { kicked: string; nick: string; channel: string; message?: string }) => left(fromWire(e.kicked), fromWire(e.channel), 'kick', fromWire(e.nick), e.message ? fromWire(e.message) : undefined));
  // A netsplit's mass quit (the message names the two servers that split) must not flood the
  // room with ghosts leaving and, minutes later, joining again: such a quit is held for
  // NETSPLIT_GRACE_MS, and a join of the same nick meanwhile (the netjoin) cancels both.
  const split = new Map<string, { timer: NodeJS.Timeout; channels: string[] }>();
  client.on('quit', (e: { nick: string; message?: string }) => {
    const nick = fromWire(e.nick);
    const gone = channels.channelsOf(nick);
    if (!NETSPLIT.test(fromWire(e.message ?? ''))) {
      for (const channel of gone) left(nick, channel, 'leave');
      return;
    }
    for (const channel of gone) channels.removeMember(channel, nick);
    clearTimeout(split.get(foldCase(nick))?.timer);
    const timer = setTimeout(() => {
      split.delete(foldCase(nick));
      for (const channel of gone) if (!registry.isOwnNick(nick) && registry.isReader(member, channel)) emit({ type: 'member', chat: { id: chatIdOf(channel), kind: 'group' }, user: { id: userIdOf(nick), name: nick }, change: 'leave' });
    }, c.netsplitGraceMs ?? NETSPLIT_GRACE_MS);
    timer.unref();
    split.set(foldCase(nick), { timer, channels: gone.map(foldCase) });
  });
  client.on('close', () => {
    for (const { timer } of split.values()) clearTimeout(timer);
    split.clear();
  });
  client.on('nick', (e: { nick: string; new_nick: string }) => {
    const from = fromWire(e.nick);
    const to = fromWire(e.new_nick);
    if (foldCase(from) === foldCase(c.ownNick())) {
      c.ownNickChanged(to);
      registry.setNick(member, to);
      return;
    }
    for (const display of channels.channelsOf(from)) {
      const op = channels.isOp(display, from);
      if (op) role(display, from, false); // the old nick's ghost leaves; its power goes with it
      left(from, display, 'leave');
      channels.addMember(display, to);
      if (!registry.isOwnNick(to) && registry.isReader(member, display)) emit({ type: 'member', chat: { id: chatIdOf(display), kind: 'group' }, user: { id: userIdOf(to), name: to }, change: 'join' });
      if (op && channels.setOp(display, to, true)) role(display, to, true);
    }
  });
  client.on('userlist', (e: { channel: string; users: { nick: string; modes?: string[] }[] }) => {
    const channel = fromWire(e.channel);
    const users = e.users.map((u) => ({ nick: fromWire(u.nick), op: (u.modes ?? []).some((m) => OPERATOR_MODES.has(m)) }));
    channels.setMembers(channel, users.map((u) => u.nick), users.filter((u) => u.op).map((u) => u.nick));
    // Whoever is an operator when we join: their ghost is a moderator (the core does nothing when it already is).
    for (const u of users) if (u.op) role(channel, u.nick, true);
  });
  client.on('mode', (e: { target: string; modes?: { mode: string; param?: string }[] }) => {
    const channel = fromWire(e.target ?? '');
    if (!isChannel(channel)) return;
    for (const m of e.modes ?? []) {
      const op = m.mode[0] === '+';
      if (!OPERATOR_MODES.has(m.mode.slice(1)) || !m.param) continue;
      const nick = fromWire(m.param);
      if (channels.setOp(channel, nick, op)) role(channel, nick, op);
    }
  });
  client.on('topic', (e: { channel: string; topic: string; nick?: string }) => {
    const channel = fromWire(e.channel);
    if (!registry.isReader(member, channel) || (e.nick && registry.isOwnNick(fromWire(e.nick)))) return;
    const id = chatIdOf(channel);
    emit({ type: 'chat-info', chat: { id, kind: 'group' }, info: { id, kind: 'group', topic: fromWire(e.topic ?? '') } });
  });
}

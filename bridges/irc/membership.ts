/**
 * Who is in a connection's channels, as core events: joins, parts, quits, kicks and nick
 * changes of others become ghost membership; operators (+o, +a, +q) become moderators
 * (role events); accounts (accounts.ts) keep one ghost across nick changes, so a nick
 * change of a person with an account renames their ghost instead of swapping it. A
 * netsplit's mass quit is held until the netjoin. Only the channel's reader reports
 * (registry.ts); the bridge's own nicks never come back as people.
 */
import type { Client } from 'irc-framework';
import type { SenderRef } from '../../core/events.js';
import type { ConnectionView } from './listen.js';
import { chatIdOf, foldCase, isChannel } from './names.js';
import { fromWire } from './wire.js';

/** Channel member modes that make an operator: op, admin (protect), owner (founder). */
const OPERATOR_MODES = new Set(['o', 'a', 'q']);
/** A netsplit's quit message: the two server names, e.g. "hub.example.net leaf.example.net". */
const NETSPLIT = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+ [A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** How long a netsplit quit waits for the netjoin before the ghost leaves. */
export const NETSPLIT_GRACE_MS = 120_000;

export function listenForMembership(client: Client, c: ConnectionView): void {
  const { emit, registry, member, channels, accounts } = c;
  const reports = (nick: string, channel: string) => !registry.isOwnNick(nick) && registry.isReader(member, channel);
  const group = (channel: string) => ({ id: chatIdOf(channel), kind: 'group' as const });
  const joined = (channel: string, user: SenderRef) => emit({ type: 'member', chat: group(channel), user, change: 'join' });
  // An operator's ghost is a moderator in the room (core/portal/remote/role.ts).
  const role = (channel: string, user: SenderRef, op: boolean) => emit({ type: 'role', chat: group(channel), user, role: op ? 'moderator' : 'member' });

  client.on('join', (e: { nick: string; channel: string; account?: string | false }) => {
    const nick = fromWire(e.nick);
    const channel = fromWire(e.channel);
    accounts.learn(nick, typeof e.account === 'string' ? fromWire(e.account) : e.account); // extended-join
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
      void c.learnAccounts(channel);
      return;
    }
    if (reports(nick, channel)) joined(channel, accounts.senderOf(nick));
  });

  const left = (nick: string, channel: string, change: 'leave' | 'kick', by?: string, reason?: string) => {
    const user = accounts.senderOf(nick);
    channels.removeMember(channel, nick);
    if (foldCase(nick) === foldCase(c.ownNick())) {
      registry.leftChannel(member, channel);
      if (change === 'kick') c.log.warn({ channel, by, reason }, 'kicked from an IRC channel');
      return;
    }
    if (reports(nick, channel)) emit({ type: 'member', chat: group(channel), user, change, ...(by && { by: accounts.idOf(by) }), ...(reason && { reason }) });
  };
  client.on('part', (e: { nick: string; channel: string }) => left(fromWire(e.nick), fromWire(e.channel), 'leave'));
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
      accounts.forget(nick);
      return;
    }
    const user = accounts.senderOf(nick);
    for (const channel of gone) channels.removeMember(channel, nick);
    clearTimeout(split.get(foldCase(nick))?.timer);
    const timer = setTimeout(() => {
      split.delete(foldCase(nick));
      for (const channel of gone) if (reports(nick, channel)) emit({ type: 'member', chat: group(channel), user, change: 'leave' });
    }, c.netsplitGraceMs ?? NETSPLIT_GRACE_MS);
    timer.unref();
    split.set(foldCase(nick), { timer, channels: gone.map(foldCase) });
  });
  client.on('close', () => {
    for (const { timer } of split.values()) clearTimeout(timer);
    split.clear();
    accounts.clear();
  });

  client.on('nick', (e: { nick: string; new_nick: string }) => {
    const from = fromWire(e.nick);
    const to = fromWire(e.new_nick);
    if (foldCase(from) === foldCase(c.ownNick())) {
      c.ownNickChanged(to);
      registry.setNick(member, to);
      return;
    }
    const where = channels.channelsOf(from);
    if (accounts.accountOf(from)) {
      // The same person under a new nick: the same ghost, renamed.
      accounts.renamed(from, to);
      for (const display of where) channels.renameMember(display, from, to);
      if (where.some((ch) => reports(to, ch))) emit({ type: 'user-info', info: { id: accounts.idOf(to), name: to } });
      return;
    }
    for (const display of where) {
      const op = channels.isOp(display, from);
      if (op && reports(from, display)) role(display, accounts.senderOf(from), false); // the old nick's ghost leaves; its power goes with it
      left(from, display, 'leave');
      channels.addMember(display, to);
      if (reports(to, display)) joined(display, accounts.senderOf(to));
      if (op && channels.setOp(display, to, true) && reports(to, display)) role(display, accounts.senderOf(to), true);
    }
  });

  // account-notify: someone logged in or out; their ghost is another one now.
  client.on('account', (e: { nick: string; account?: string | false }) => {
    const nick = fromWire(e.nick);
    const before = accounts.senderOf(nick);
    accounts.learn(nick, typeof e.account === 'string' ? fromWire(e.account) : false);
    const after = accounts.senderOf(nick);
    if (before.id === after.id) return;
    for (const display of channels.channelsOf(nick)) {
      if (!reports(nick, display)) continue;
      emit({ type: 'member', chat: group(display), user: before, change: 'leave' });
      joined(display, after);
      if (channels.isOp(display, nick)) role(display, after, true);
    }
  });

  client.on('userlist', (e: { channel: string; users: { nick: string; modes?: string[] }[] }) => {
    const channel = fromWire(e.channel);
    const users = e.users.map((u) => ({ nick: fromWire(u.nick), op: (u.modes ?? []).some((m) => OPERATOR_MODES.has(m)) }));
    channels.setMembers(channel, users.map((u) => u.nick), users.filter((u) => u.op).map((u) => u.nick));
    // Whoever is an operator when we join: their ghost is a moderator (the core does nothing when it already is).
    void c.learnAccounts(channel).then(() => {
      for (const u of users) if (u.op && reports(u.nick, channel)) role(channel, accounts.senderOf(u.nick), true);
    });
  });
  client.on('mode', (e: { target: string; modes?: { mode: string; param?: string }[] }) => {
    const channel = fromWire(e.target ?? '');
    if (!isChannel(channel)) return;
    for (const m of e.modes ?? []) {
      const op = m.mode[0] === '+';
      if (!OPERATOR_MODES.has(m.mode.slice(1)) || !m.param) continue;
      const nick = fromWire(m.param);
      if (channels.setOp(channel, nick, op) && reports(nick, channel)) role(channel, accounts.senderOf(nick), op);
    }
  });
}

/**
 * What happens in a connection's channels and private messages, as core events: lines
 * become messages (inbound.ts), client tags typing and reactions, REDACT deletions, the
 * topic chat info; membership is membership.ts. Only the channel's reader reports
 * (registry.ts); the bridge's own nicks never come back as people.
 */
import type { Client, MessageEvent } from 'irc-framework';
import type { Logger } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';
import type { Channels } from './channels.js';
import { lineToEvent, type InboundLine } from './inbound.js';
import { listenForMembership } from './membership.js';
import type { Accounts } from './accounts.js';
import { chatIdOf, foldCase, isChannel } from './names.js';
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
  accounts: Accounts;
  /** Whether the server granted a capability. */
  can(cap: string): boolean;
  /** Ask who in a channel has which account (WHOX); resolves when known or given up on. */
  learnAccounts(channel: string): Promise<void>;
}


export function listenForEvents(client: Client, c: ConnectionView): void {
  const { emit, registry, member, channels, accounts } = c;
  // account-tag: a line without the tag is from someone not logged in.
  const learn = (nick: string | undefined, tags: Record<string, string> | undefined) => {
    if (nick && c.can('account-tag')) accounts.learn(fromWire(nick), tags?.account ? fromWire(tags.account) : false);
  };
  const message = (kind: InboundLine['kind']) => (e: MessageEvent) => {
    learn(e.nick, e.tags);
    if (c.isOwnEcho(e)) return;
    const ev = lineToEvent({ kind, nick: e.nick, target: e.target, message: e.message, tags: e.tags ?? {}, ...(e.time && { time: e.time }) }, {
      ownNick: c.ownNick,
      isOwnNick: (n) => registry.isOwnNick(n),
      isReader: (ch) => registry.isReader(member, ch),
      members: (ch) => channels.membersOf(ch),
      relay: c.relay,
      senderOf: (n) => accounts.senderOf(n),
    }, c.counter);
    if (ev) emit(ev);
  };
  client.on('privmsg', message('text'));
  client.on('notice', (e: MessageEvent) => { if (!e.from_server && e.target !== '*') message('notice')(e); });
  client.on('action', message('emote'));
  client.on('tagmsg', (e: MessageEvent) => {
    learn(e.nick, e.tags);
    const nick = fromWire(e.nick ?? '');
    const target = fromWire(e.target ?? '');
    if (!nick || registry.isOwnNick(nick) || !isChannel(target) || !registry.isReader(member, target)) return;
    const chat = { id: chatIdOf(target), kind: 'group' as const };
    const sender = accounts.senderOf(nick);
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
      emit({ type: 'delete', chat: { id: chatIdOf(target), kind: 'group' }, sender: accounts.senderOf(nick), target: msgid, ...(channels.isOp(target, nick) && { moderator: true }) });
    } else if (!c.relay && foldCase(target) === foldCase(c.ownNick())) {
      emit({ type: 'delete', chat: { id: chatIdOf(nick), kind: 'dm' }, sender: accounts.senderOf(nick), target: msgid });
    }
  });
  listenForMembership(client, c);
  client.on('topic', (e: { channel: string; topic: string; nick?: string }) => {
    const channel = fromWire(e.channel);
    if (!registry.isReader(member, channel) || (e.nick && registry.isOwnNick(fromWire(e.nick)))) return;
    const id = chatIdOf(channel);
    emit({ type: 'chat-info', chat: { id, kind: 'group' }, info: { id, kind: 'group', topic: fromWire(e.topic ?? '') } });
  });
}

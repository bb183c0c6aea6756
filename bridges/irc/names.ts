/**
 * IRC names and ids: nicks and channel names, their rules (RFC 2812 §2.3.1 and what servers
 * accept today), and the case mapping that makes two spellings one name (`rfc1459`: the
 * default, where `[]\\~` are the upper case of `{}|^`). Ids the bridge keeps are folded,
 * so `#Chan` and `#chan` are one portal and `Bob` and `bob` one ghost.
 */
import { remoteChatId, remoteUserId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';

/** Longest nick accepted (servers announce NICKLEN; 30 covers the large networks). */
export const MAX_NICK = 30;
/** Longest channel name (CHANNELLEN is commonly 32-64). */
export const MAX_CHANNEL = 64;

/** `rfc1459` case folding. */
export function foldCase(name: string): string {
  return name.toLowerCase().replace(/[[\]\\~]/g, (c) => ({ '[': '{', ']': '}', '\\': '|', '~': '^' })[c]!);
}

/** Why a nick cannot be used, or undefined. */
export function ircNickProblem(nick: string): string | undefined {
  if (!nick) return 'it is empty';
  if (nick.length > MAX_NICK) return `it is longer than ${MAX_NICK} characters`;
  if (!/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/.test(nick)) return 'a nick is letters, digits and [ ] \\ ` _ ^ { | } -, and does not start with a digit or -';
  return undefined;
}

export function isChannel(name: string): boolean {
  return /^[#&]/.test(name);
}

/** Why a channel name cannot be used, or undefined. */
export function channelProblem(name: string): string | undefined {
  if (!isChannel(name)) return 'a channel name starts with #';
  if (name.length < 2 || name.length > MAX_CHANNEL) return `a channel name is 2 to ${MAX_CHANNEL} characters`;
  // Space, comma, BEL and every other control character end or split a channel name on the wire.
  if (/[\s,\u0000-\u001f\u007f]/.test(name)) return 'a channel name has no spaces, commas or control characters';
  return undefined;
}

/** A chat a person typed (`#channel` or a nick), checked and folded; throws saying what is wrong. */
export function parseIrcChat(input: string): RemoteChatId {
  const name = input.trim();
  const problem = isChannel(name) ? channelProblem(name) : ircNickProblem(name);
  if (problem) throw new Error(problem);
  return remoteChatId(foldCase(name));
}

export const userIdOf = (nick: string): RemoteUserId => remoteUserId(foldCase(nick));
export const chatIdOf = (name: string): RemoteChatId => remoteChatId(foldCase(name));

/** Whether an id is the server's (IRCv3 msgid) rather than one the bridge made up (inbound.ts: t:, n:; out:). */
export function hasServerId(id: string): boolean {
  return !/^(t|n|out):/.test(id);
}

/** The user name (ident) part of our prefix: the nick's letters, at most 10. */
export function usernameOf(nick: string): string {
  return (nick.replace(/[^A-Za-z0-9]/g, '').slice(0, 10) || 'switchbrd').toLowerCase();
}

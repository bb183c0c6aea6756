/**
 * Identifiers shared by the core and every adapter.
 *
 * Ids are branded strings: the compiler refuses to pass a remote chat id where a
 * remote user id is expected, at no run-time cost. Adapters build them with the
 * small constructor functions below.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Short lowercase name of a network instance, e.g. `xmpp`, `telegram`, `loopback`. */
export type NetworkId = Brand<string, 'NetworkId'>;
/** A login (one remote account the bridge drives), unique across the bridge. */
export type LoginId = Brand<string, 'LoginId'>;
/** A chat on a remote network, as that network names it. */
export type RemoteChatId = Brand<string, 'RemoteChatId'>;
/** A user on a remote network, as that network names it. */
export type RemoteUserId = Brand<string, 'RemoteUserId'>;
/** A message on a remote network, as that network names it; unique within its chat. */
export type RemoteMessageId = Brand<string, 'RemoteMessageId'>;
/** A Matrix user id, `@local:server`. */
export type MatrixUserId = Brand<string, 'MatrixUserId'>;
/** A Matrix room id, `!opaque:server`. */
export type MatrixRoomId = Brand<string, 'MatrixRoomId'>;
/** A Matrix event id, `$opaque`. */
export type MatrixEventId = Brand<string, 'MatrixEventId'>;

export const networkId = (s: string) => s as NetworkId;
export const loginId = (s: string) => s as LoginId;
export const remoteChatId = (s: string) => s as RemoteChatId;
export const remoteUserId = (s: string) => s as RemoteUserId;
export const remoteMessageId = (s: string) => s as RemoteMessageId;
export const matrixUserId = (s: string) => s as MatrixUserId;
export const matrixRoomId = (s: string) => s as MatrixRoomId;
export const matrixEventId = (s: string) => s as MatrixEventId;

/** Network names become part of Matrix ids and config keys, so keep them plain. */
export const NETWORK_ID_PATTERN = /^[a-z][a-z0-9]{0,31}$/;

/**
 * The key of a portal: one remote chat and the Matrix room it maps to.
 * `receiver` is set for direct chats only, so two Matrix users talking to the same
 * remote contact get two rooms (the same remote chat id seen by two logins).
 */
export interface PortalKey {
  readonly network: NetworkId;
  readonly chat: RemoteChatId;
  readonly receiver?: LoginId;
}

/**
 * A stable string form of a PortalKey, used as the queue key and in the store.
 * Each part is percent-escaped so that no chat id can forge another key.
 */
export function portalKeyString(key: PortalKey): string {
  const parts = [key.network, key.chat, key.receiver ?? ''].map(encodeURIComponent);
  return parts.join('/');
}

export function parsePortalKey(s: string): PortalKey {
  const parts = s.split('/');
  if (parts.length !== 3) throw new Error(`not a portal key: ${JSON.stringify(s)}`);
  const [network, chat, receiver] = parts.map(decodeURIComponent) as [string, string, string];
  return receiver
    ? { network: networkId(network), chat: remoteChatId(chat), receiver: loginId(receiver) }
    : { network: networkId(network), chat: remoteChatId(chat) };
}

/**
 * Reversible escape of an arbitrary remote id into the characters a Matrix user id
 * localpart may hold, following the spec's suggested mapping
 * (https://spec.matrix.org/v1.11/appendices/#mapping-from-other-character-sets):
 * `a-z 0-9 . -` stay, `_` becomes `__`, an upper-case letter becomes `_` plus its
 * lower-case form, and every other byte of the UTF-8 form becomes `=xx`.
 */
export function escapeLocalpart(id: string): string {
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if ((byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || ch === '.' || ch === '-') out += ch;
    else if (ch === '_') out += '__';
    else if (byte >= 0x41 && byte <= 0x5a) out += '_' + ch.toLowerCase();
    else out += '=' + byte.toString(16).padStart(2, '0');
  }
  return out;
}

/** Inverse of escapeLocalpart; throws on a string escapeLocalpart cannot produce. */
export function unescapeLocalpart(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '_') {
      const next = s[i + 1];
      if (next === '_') bytes.push(0x5f);
      else if (next !== undefined && next >= 'a' && next <= 'z') bytes.push(next.toUpperCase().charCodeAt(0));
      else throw new Error(`bad escape at ${i} in ${JSON.stringify(s)}`);
      i++;
    } else if (ch === '=') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) throw new Error(`bad escape at ${i} in ${JSON.stringify(s)}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (/^[a-z0-9.-]$/.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      throw new Error(`character ${JSON.stringify(ch)} cannot appear in an escaped localpart`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Split `@local:server` into its parts, or return undefined for anything else. */
export function splitUserId(userId: string): { localpart: string; server: string } | undefined {
  const m = /^@([^:]+):(.+)$/.exec(userId);
  return m ? { localpart: m[1]!, server: m[2]! } : undefined;
}

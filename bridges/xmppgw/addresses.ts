/**
 * Matrix users and rooms as XMPP addresses on the gateway's components, by XEP-0106 (JID Escaping):
 * `@alice:example.org` is `alice\40example.org@<component>`. The Matrix ID's `:` becomes
 * `@` and the whole `local@server` is escaped into the JID's localpart; the way back
 * unescapes and splits at the last `@` (a server name never holds one, an old-style
 * Matrix localpart may). Reversible for every Matrix ID this accepts; refused are IDs
 * with upper-case letters (XMPP folds a localpart's case, so two Matrix users could get
 * one address) and IDs whose address would be longer than XMPP allows. A room alias
 * `#room:example.org` is a MUC on the rooms component the same way: `room\40example.org@<muc>`.
 * The escaping itself is @xmpp/jid's (every backslash as `\5c`, so it is reversible).
 */
import { escapeLocal, unescapeLocal } from '@xmpp/jid';

export { escapeLocal, unescapeLocal };

/** A JID localpart may be at most 1,023 bytes (RFC 7622). */
const MAX_LOCALPART_BYTES = 1023;

/** `@local:server` (a user) or `#local:server` (a room alias) of the Matrix grammar; historical localparts included (printable ASCII but `:`). */
const MATRIX_ID = /^([@#])([\x21-\x39\x3b-\x7e]+):([A-Za-z0-9.\-[\]:]+)$/;
const WHAT = { '@': 'a Matrix user ID', '#': 'a Matrix room alias' } as const;

/** The JID localpart for a Matrix user ID or room alias, or an Error saying why it has none. */
function localpartOf(id: string, sigil: '@' | '#'): string {
  const m = MATRIX_ID.exec(id);
  if (!m || m[1] !== sigil) throw new Error(`${JSON.stringify(id.slice(0, 100))} is not ${WHAT[sigil]}`);
  if (/[A-Z]/.test(m[2]!)) throw new Error(`${id} has upper-case letters; XMPP addresses ignore case, so it cannot have one of its own`);
  const local = escapeLocal(`${m[2]}@${m[3]!.toLowerCase()}`);
  if (Buffer.byteLength(local) > MAX_LOCALPART_BYTES) throw new Error(`${id} is too long for an XMPP address`);
  return local;
}

/** The Matrix user ID or alias a localpart stands for; only its canonical spelling names one. */
function idOf(local: string, sigil: '@' | '#'): string | undefined {
  const plain = unescapeLocal(local);
  const at = plain.lastIndexOf('@');
  if (at <= 0 || at === plain.length - 1) return undefined;
  const id = `${sigil}${plain.slice(0, at)}:${plain.slice(at + 1)}`;
  try {
    return localpartOf(id, sigil) === local ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The JID localpart for a Matrix user, or an Error saying why they have none. */
export const localpartOfMatrixUser = (matrixId: string): string => localpartOf(matrixId, '@');
/** The Matrix user a JID localpart on the component stands for, or undefined when it names none. */
export const matrixUserOfLocalpart = (local: string): string | undefined => idOf(local, '@');
/** The MUC localpart for a room alias, or an Error saying why it has none. */
export const localpartOfAlias = (alias: string): string => localpartOf(alias, '#');
/** The room alias a MUC localpart stands for, or undefined when it names none. */
export const aliasOfLocalpart = (local: string): string | undefined => idOf(local, '#');

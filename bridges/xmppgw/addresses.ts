/**
 * Matrix users and rooms as XMPP addresses on the gateway's components, by XEP-0106 (JID Escaping):
 * `@alice:example.org` is `alice\40example.org@<component>`. The Matrix ID's `:` becomes
 * `@` and the whole `local@server` is escaped into the JID's localpart; the way back
 * unescapes and splits at the last `@` (a server name never holds one, an old-style
 * Matrix localpart may). Reversible for every Matrix ID this accepts; refused are IDs
 * with upper-case letters (XMPP folds a localpart's case, so two Matrix users could get
 * one address) and IDs whose address would be longer than XMPP allows. A room alias
 * `#room:example.org` is a MUC on the rooms component the same way: `room\40example.org@<muc>`.
 */

/** The ten characters XEP-0106 escapes, and their escape codes. */
const ESCAPES: ReadonlyMap<string, string> = new Map([
  [' ', '\\20'], ['"', '\\22'], ['&', '\\26'], ["'", '\\27'], ['/', '\\2f'],
  [':', '\\3a'], ['<', '\\3c'], ['>', '\\3e'], ['@', '\\40'], ['\\', '\\5c'],
]);
const UNESCAPES: ReadonlyMap<string, string> = new Map([...ESCAPES].map(([c, code]) => [code.slice(1), c]));

/** A JID localpart may be at most 1,023 bytes (RFC 7622). */
const MAX_LOCALPART_BYTES = 1023;

/**
 * XEP-0106 escaping. A backslash is escaped only where it begins something that reads
 * as an escape code (the XEP's rule), so a lone one stays as it is. One pass, linear.
 */
export function escapeLocal(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') out += UNESCAPES.has(s.slice(i + 1, i + 3).toLowerCase()) ? '\\5c' : '\\';
    else out += ESCAPES.get(c) ?? c;
  }
  return out;
}

/** The reverse of `escapeLocal`. One pass, linear. */
export function unescapeLocal(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c === '\\' ? s.slice(i + 1, i + 3).toLowerCase() : '';
    const plain = code ? UNESCAPES.get(code) : undefined;
    if (plain !== undefined) {
      out += plain;
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

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

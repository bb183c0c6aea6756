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

/** `@local:server` of the Matrix ID grammar, historical localparts included (printable ASCII but `:`). */
const MATRIX_USER = /^@([\x21-\x39\x3b-\x7e]+):([A-Za-z0-9.\-[\]:]+)$/;

/** The JID localpart for a Matrix user, or an Error saying why it has none. */
export function localpartOfMatrixUser(matrixId: string): string {
  const m = MATRIX_USER.exec(matrixId);
  if (!m) throw new Error(`${JSON.stringify(matrixId.slice(0, 100))} is not a Matrix user ID`);
  if (/[A-Z]/.test(m[1]!)) throw new Error(`${matrixId} has upper-case letters; XMPP addresses ignore case, so it cannot have one of its own`);
  const local = escapeLocal(`${m[1]}@${m[2]!.toLowerCase()}`);
  if (Buffer.byteLength(local) > MAX_LOCALPART_BYTES) throw new Error(`${matrixId} is too long for an XMPP address`);
  return local;
}

/** The Matrix user a JID localpart on the component stands for, or undefined when it names none. */
export function matrixUserOfLocalpart(local: string): string | undefined {
  const plain = unescapeLocal(local);
  const at = plain.lastIndexOf('@');
  if (at <= 0 || at === plain.length - 1) return undefined;
  const id = `@${plain.slice(0, at)}:${plain.slice(at + 1)}`;
  // Only the canonical spelling names a user: one Matrix ID, one address.
  return safeLocal(id) === local ? id : undefined;
}

function safeLocal(matrixId: string): string | undefined {
  try {
    return localpartOfMatrixUser(matrixId);
  } catch {
    return undefined;
  }
}

/** `#local:server` of the room alias grammar (the same characters as a user ID's parts). */
const ROOM_ALIAS = /^#([\x21-\x39\x3b-\x7e]+):([A-Za-z0-9.\-[\]:]+)$/;

/** The MUC localpart for a room alias, or an Error saying why it has none. */
export function localpartOfAlias(alias: string): string {
  const m = ROOM_ALIAS.exec(alias);
  if (!m) throw new Error(`${JSON.stringify(alias.slice(0, 100))} is not a Matrix room alias`);
  if (/[A-Z]/.test(m[1]!)) throw new Error(`${alias} has upper-case letters; XMPP addresses ignore case, so it cannot have one of its own`);
  const local = escapeLocal(`${m[1]}@${m[2]!.toLowerCase()}`);
  if (Buffer.byteLength(local) > MAX_LOCALPART_BYTES) throw new Error(`${alias} is too long for an XMPP address`);
  return local;
}

/** The room alias a MUC localpart stands for, or undefined when it names none. */
export function aliasOfLocalpart(local: string): string | undefined {
  const plain = unescapeLocal(local);
  const at = plain.lastIndexOf('@');
  if (at <= 0 || at === plain.length - 1) return undefined;
  const alias = `#${plain.slice(0, at)}:${plain.slice(at + 1)}`;
  try {
    return localpartOfAlias(alias) === local ? alias : undefined;
  } catch {
    return undefined;
  }
}

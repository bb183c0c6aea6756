/**
 * Rules for text that crosses into another protocol. Bridges have been exploited by
 * a CR/LF in a nick or channel name turning into a second protocol command (IRC), or
 * a newline in a relayed display name faking a second speaker. One place, one rule.
 */

/** C0 controls (CR, LF, NUL, ...), DEL, C1 controls, and Unicode line/paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Longest identifier a person may type for a remote chat or user. */
export const MAX_IDENTIFIER_LENGTH = 1024;

/**
 * Why a user-typed remote identifier (chat id, user id) is refused, or undefined when
 * it may be passed to an adapter. Adapters add their own protocol's rules on top
 * (`NetworkAdapter.parseChatId`).
 */
export function identifierProblem(input: string): string | undefined {
  if (!input) return 'it is empty';
  if (input.length > MAX_IDENTIFIER_LENGTH) return `it is longer than ${MAX_IDENTIFIER_LENGTH} characters`;
  if (CONTROL.test(input)) return 'it contains a line break or another control character';
  if (/\s/.test(input)) return 'it contains white space';
  return undefined;
}

/** A name shown inside a message on another network: control characters become spaces, one line. */
export function singleLineName(name: string): string {
  return name.replace(CONTROL_GLOBAL, ' ').replace(/ {2,}/g, ' ').trim() || '?';
}

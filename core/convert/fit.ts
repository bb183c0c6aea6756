/**
 * Matrix events are at most 64 KiB as the homeserver signs and stores them (Synapse
 * answers 413 M_TOO_LARGE past it), and a remote network may allow far more (a 1 MB
 * XMPP message, 100,000 styled characters whose HTML is larger still). Content that
 * would not fit is made to: formatting goes first, then the text is cut, marked, and the
 * whole text travels as a file beside it. Nothing is lost and nobody is left guessing.
 */
import type { MatrixMessageContent } from './matrix-types.js';

/** Room for the content in a 65,536-byte event (the rest: ids, keys, hashes, signatures, unsigned). */
export const MAX_CONTENT_BYTES = 60_000;

/** The name of the file that carries the whole text of a message that was cut. */
export const OVERFLOW_FILE = 'message.txt';
/** The line a cut text ends with when its whole text follows as a file. */
export const CONTINUES_MARKER = `\n[… the message continues in the attached file ${OVERFLOW_FILE}]`;
/** The line a cut edit ends with (an edit replaces one event: no file can follow it). */
export const EDIT_CUT_MARKER = '\n[… cut: the edit is longer than one Matrix event can hold]';

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

export interface Fitted {
  content: MatrixMessageContent;
  /** The whole text, when the content had to be cut: send it as a file too. */
  overflow?: string;
}

/** `content` as it fits in `budget` bytes of JSON. */
export function fitContent(content: MatrixMessageContent, budget = MAX_CONTENT_BYTES, marker = CONTINUES_MARKER): Fitted {
  if (jsonBytes(content) <= budget) return { content };
  const { format: _f, formatted_body: _h, ...plain } = content;
  if (jsonBytes(plain) <= budget) return { content: plain };
  const body = plain.body;
  const fits = (n: number) => jsonBytes({ ...plain, body: cut(body, n) + marker }) <= budget;
  // The longest prefix that fits, by binary search (the bytes of a prefix grow with its length).
  let lo = 0;
  let hi = body.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return { content: { ...plain, body: cut(body, lo) + marker }, overflow: body };
}

/** The first `n` UTF-16 units, one fewer if the cut would split a surrogate pair. */
function cut(text: string, n: number): string {
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

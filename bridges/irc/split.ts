/**
 * One message as IRC lines. A line on the wire is at most 512 bytes with its CR LF, and
 * the server puts `:nick!user@host ` in front when it relays it (RFC 1459 §2.3, modern
 * IRC "Message format"), so the room for text is what is left after that prefix and the
 * command. Lines are cut at line breaks, then at the last space that leaves at least half
 * a line, never inside a UTF-8 character or a surrogate pair; each line carries its own
 * formatting (a span crossing a cut is closed and opened again).
 */
import type { FormatSpan, MessageContent } from '../../core/events.js';

/** Bytes of one IRC line, CR LF included (RFC 1459). */
export const IRC_LINE_BYTES = 512;

/** Room left for the text of `PRIVMSG <target> :<text>` relayed with `:<prefix> ` in front. */
export function textBudget(prefix: string, command: string, target: string): number {
  const overhead = Buffer.byteLength(`:${prefix} ${command} ${target} :\r\n`);
  return Math.max(16, IRC_LINE_BYTES - overhead);
}

type Piece = Pick<MessageContent, 'text' | 'spans'>;

/** The part [start, end) of a text with its spans clipped to it. */
export function slicePiece(content: Piece, start: number, end: number): Piece {
  const spans = (content.spans ?? [])
    .map((s): FormatSpan => ({ ...s, offset: Math.max(s.offset, start) - start, length: Math.min(s.offset + s.length, end) - Math.max(s.offset, start) }))
    .filter((s) => s.length > 0);
  return { text: content.text.slice(start, end), ...(spans.length && { spans }) };
}

/** `render` turns a piece into its IRC body (formatting codes included); every returned line fits `maxBytes`. */
export function splitLines(content: Piece, maxBytes: number, render: (p: Piece) => string): string[] {
  return splitOutLines(content, maxBytes, render).map((l) => l.text);
}

/**
 * The same lines, each marked when it continues the line before it (a cut, not a line
 * break); a continuation that was cut at a space opens with that space (at most one byte
 * over `maxBytes - 1`), so joined directly (draft/multiline-concat) the words stay apart.
 */
export function splitOutLines(content: Piece, maxBytes: number, render: (p: Piece) => string): OutLine[] {
  const out: OutLine[] = [];
  let lineStart = 0;
  const text = content.text;
  while (lineStart <= text.length) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl < 0 ? text.length : nl;
    const line = slicePiece(content, lineStart, lineEnd);
    if (line.text.trim()) out.push(...cutLine(line, maxBytes, render));
    if (nl < 0) break;
    lineStart = nl + 1;
  }
  return out;
}

/** One IRC line of a message, and whether it continues the line before it (multiline.ts). */
export interface OutLine {
  text: string;
  concat: boolean;
  /** A continuation cut at a space: the space it lost. */
  spaceBefore?: boolean;
}

function cutLine(line: Piece, maxBytes: number, render: (p: Piece) => string): OutLine[] {
  const out: OutLine[] = [];
  let start = 0;
  const text = line.text;
  /** A piece without the spaces at its ends (they would sit inside its formatting codes). */
  const trimmed = (from: number, to: number) => {
    while (from < to && text[from] === ' ') from++;
    while (to > from && text[to - 1] === ' ') to--;
    return render(slicePiece(line, from, to));
  };
  const piece = (rendered: string, from: number): OutLine => ({ text: rendered, concat: from > 0, ...(from > 0 && (text[from - 1] === ' ' || text[from] === ' ') && { spaceBefore: true }) });
  while (start < text.length) {
    const whole = trimmed(start, text.length);
    if (Buffer.byteLength(whole) <= maxBytes) {
      out.push(piece(whole, start));
      break;
    }
    // The longest prefix that fits, by binary search on its length (the bytes grow with it).
    let lo = start + 1;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Buffer.byteLength(render(slicePiece(line, start, safeCut(text, mid)))) <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    let end = safeCut(text, lo);
    if (end <= start) end = Math.min(text.length, start + (isHigh(text.charCodeAt(start)) ? 2 : 1)); // one character always goes
    const space = text.lastIndexOf(' ', end - 1);
    if (end < text.length && space > start + (end - start) / 2) end = space + 1;
    out.push(piece(trimmed(start, end), start));
    start = end;
  }
  return out.filter((l) => l.text.length > 0);
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;

/** `at`, or one before it when `at` would split a surrogate pair. */
function safeCut(text: string, at: number): number {
  return at > 0 && at < text.length && isHigh(text.charCodeAt(at - 1)) ? at - 1 : at;
}

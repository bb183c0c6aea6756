/**
 * mIRC formatting codes <-> the core's format spans. IRC carries formatting as control
 * bytes that toggle an attribute (https://modern.ircdocs.horse/formatting.html): 0x02
 * bold, 0x1D italic, 0x1F underline, 0x1E strikethrough, 0x11 monospace, 0x03 colour
 * (with up to two digits, a comma and two more), 0x04 hex colour, 0x16 reverse, 0x0F reset.
 *
 * Inbound, the codes become spans and are removed from the text (colours and reverse are
 * dropped, their text kept); every other control byte is removed too. Outbound, the
 * text's own control bytes are removed first, so nothing a Matrix user types ever
 * reaches the wire as a control byte: only the codes this file writes do. Both
 * directions are single passes over the text.
 */
import type { FormatSpan, MessageContent } from '../../core/events.js';
import type { RemoteUserId } from '../../core/ids.js';

const TOGGLES: Record<number, 'bold' | 'italic' | 'underline' | 'strike' | 'code'> = {
  0x02: 'bold', 0x1d: 'italic', 0x1f: 'underline', 0x1e: 'strike', 0x11: 'code',
};
const CODE_OF: Partial<Record<FormatSpan['kind'], string>> = {
  bold: '\x02', italic: '\x1d', underline: '\x1f', strike: '\x1e', code: '\x11', pre: '\x11',
};
const COLOUR = 0x03;
const HEX_COLOUR = 0x04;
const REVERSE = 0x16;
const RESET = 0x0f;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Text and spans of an IRC message body; all control bytes are gone from the text. */
export function parseIrcFormatting(raw: string): { text: string; spans: FormatSpan[] } {
  let text = '';
  const spans: FormatSpan[] = [];
  const openAt = new Map<FormatSpan['kind'], number>();
  const close = (kind: FormatSpan['kind']) => {
    const start = openAt.get(kind);
    openAt.delete(kind);
    if (start !== undefined && text.length > start) spans.push({ kind, offset: start, length: text.length - start } as FormatSpan);
  };
  let i = 0;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    const toggle = TOGGLES[c];
    if (toggle) {
      if (openAt.has(toggle)) close(toggle);
      else openAt.set(toggle, text.length);
      i++;
    } else if (c === COLOUR) {
      i++;
      // fg: 1-2 digits; then optionally ",bg" with 1-2 digits.
      if (isDigit(raw.charCodeAt(i))) {
        i += isDigit(raw.charCodeAt(i + 1)) ? 2 : 1;
        if (raw[i] === ',' && isDigit(raw.charCodeAt(i + 1))) i += isDigit(raw.charCodeAt(i + 2)) ? 3 : 2;
      }
    } else if (c === HEX_COLOUR) {
      i++;
      let n = 0;
      while (n < 6 && isHex(raw.charCodeAt(i + n))) n++;
      if (n === 6) {
        i += 6;
        if (raw[i] === ',') {
          let m = 0;
          while (m < 6 && isHex(raw.charCodeAt(i + 1 + m))) m++;
          if (m === 6) i += 7;
        }
      }
    } else if (c === RESET) {
      for (const kind of [...openAt.keys()]) close(kind);
      i++;
    } else if (c === REVERSE || c < 0x20 || c === 0x7f) {
      i++; // reverse video, and any other control byte: dropped
    } else {
      // Copy the run of ordinary characters up to the next control byte in one go.
      let j = i + 1;
      while (j < raw.length) {
        const d = raw.charCodeAt(j);
        if (d < 0x20 || d === 0x7f) break;
        j++;
      }
      text += raw.slice(i, j);
      i = j;
    }
  }
  for (const kind of [...openAt.keys()]) close(kind);
  return { text, spans: spans.sort((a, b) => a.offset - b.offset || b.length - a.length) };
}

/** A body that may hold line breaks (a draft/multiline batch, multiline.ts): each line parsed on its own, as IRC clients show them. */
export function parseIrcLines(raw: string): { text: string; spans: FormatSpan[] } {
  if (!raw.includes('\n')) return parseIrcFormatting(raw);
  let text = '';
  const spans: FormatSpan[] = [];
  for (const [i, line] of raw.split('\n').entries()) {
    if (i) text += '\n';
    const parsed = parseIrcFormatting(line);
    for (const span of parsed.spans) spans.push({ ...span, offset: span.offset + text.length });
    text += parsed.text;
  }
  return { text, spans };
}

/** Every control byte (C0, DEL) out of text that goes to IRC; line breaks are the caller's (splitting). */
export function withoutControls(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');
}

/**
 * One line of text with spans as an IRC body: the text's own control bytes removed,
 * formatting as toggles, a link's address after its text when they differ, a mention as
 * the person's nick. `nickOf` gives the nick of a mentioned remote user.
 */
export function toIrcFormatting(content: Pick<MessageContent, 'text' | 'spans'>, nickOf: (u: RemoteUserId) => string = (u) => u): string {
  const text = content.text;
  type Insert = { at: number; s: string; order: number };
  const inserts: Insert[] = [];
  const replaced: { from: number; to: number; s: string }[] = [];
  for (const span of content.spans ?? []) {
    const start = Math.max(0, span.offset);
    const end = Math.min(text.length, span.offset + span.length);
    if (start >= end) continue;
    const code = CODE_OF[span.kind];
    if (code) {
      inserts.push({ at: start, s: code, order: 1 }, { at: end, s: code, order: 0 });
    } else if (span.kind === 'link') {
      if (text.slice(start, end) !== span.url) inserts.push({ at: end, s: ` (${withoutControls(span.url)})`, order: 2 });
    } else if (span.kind === 'mention') {
      replaced.push({ from: start, to: end, s: nickOf(span.user) });
    }
  }
  // Mentions replace their text; other spans never overlap a replacement meaningfully, so
  // inserts inside a replaced range are dropped.
  replaced.sort((a, b) => a.from - b.from);
  const inReplaced = (at: number) => replaced.some((r) => at > r.from && at < r.to);
  const all = inserts.filter((x) => !inReplaced(x.at)).sort((a, b) => a.at - b.at || a.order - b.order);
  const parts: string[] = [];
  let at = 0;
  let k = 0;
  let r = 0;
  while (at <= text.length) {
    while (k < all.length && all[k]!.at === at) parts.push(all[k++]!.s);
    if (at === text.length) break;
    const rep = replaced[r];
    if (rep && rep.from === at) {
      parts.push(withoutControls(rep.s));
      at = rep.to;
      r++;
      continue;
    }
    const nextInsert = k < all.length ? all[k]!.at : text.length;
    const nextRep = rep ? rep.from : text.length;
    const stop = Math.max(at + 1, Math.min(nextInsert, nextRep, text.length));
    parts.push(withoutControls(text.slice(at, stop)));
    at = stop;
  }
  return parts.join('');
}

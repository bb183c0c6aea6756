/**
 * XEP-0393 message styling <-> format spans. XMPP carries styling as plain-text
 * directives (`*bold*`, `_italic_`, `~strike~`, `` `code` ``, ``` blocks, `> quotes`);
 * the directives stay visible, as the XEP asks, and spans include them.
 */
import type { FormatSpan, MessageContent } from '../../core/events.js';

const SPAN_DIRECTIVES: Record<string, 'bold' | 'italic' | 'strike' | 'code'> = { '*': 'bold', _: 'italic', '~': 'strike', '`': 'code' };
const MARK: Partial<Record<FormatSpan['kind'], string>> = { bold: '*', italic: '_', strike: '~', code: '`' };

/** Spans of a styled text (inbound). */
export function parseStyling(text: string): FormatSpan[] {
  const spans: FormatSpan[] = [];
  let offset = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      // A preformatted block runs to a line that is only ``` (or to the end).
      let end = i + 1;
      while (end < lines.length && lines[end] !== '```') end++;
      const blockEnd = Math.min(end, lines.length - 1);
      const length = lines.slice(i, blockEnd + 1).join('\n').length;
      spans.push({ kind: 'pre', offset, length });
      offset += length + 1;
      i = blockEnd;
      continue;
    }
    if (line.startsWith('>')) spans.push({ kind: 'blockquote', offset, length: line.length });
    spans.push(...lineSpans(line, offset));
    offset += line.length + 1;
  }
  return spans;
}

/**
 * Inline directives of one line: an opening directive follows the line start or white
 * space (or starts the enclosing span's content) and precedes a non-space; the closing
 * one follows a non-space. A span's content may hold spans of the other styles; one of
 * its own style inside it is taken as text, which bounds nesting at three (bold, italic,
 * strike; code holds none). Each opening directive finds its closer by binary search
 * over the closers of its character, so an unclosed `*` never rescans the line: the
 * whole parse is linear in the line (the old rescan was quadratic).
 */
function lineSpans(line: string, base: number): FormatSpan[] {
  const closers = new Map<string, number[]>();
  for (let j = 1; j < line.length; j++) {
    const c = line[j]!;
    if (SPAN_DIRECTIVES[c] && !isSpace(line[j - 1]!)) {
      let list = closers.get(c);
      if (!list) closers.set(c, (list = []));
      list.push(j);
    }
  }
  const out: FormatSpan[] = [];
  const walk = (from: number, to: number, open: ReadonlySet<string>) => {
    let i = from;
    while (i < to) {
      const c = line[i]!;
      const kind = SPAN_DIRECTIVES[c];
      // A span may open right where the enclosing one's content starts (`*_both_*`, XEP-0393 v0.2.1).
      const opens = kind && !open.has(c) && (i === from || isSpace(line[i - 1]!)) && i + 1 < to && !isSpace(line[i + 1]!);
      const j = opens ? firstAtLeast(closers.get(c) ?? [], i + 2) : undefined;
      if (!opens || j === undefined || j >= to) {
        i++;
        continue;
      }
      out.push({ kind, offset: base + i, length: j - i + 1 });
      if (kind !== 'code') walk(i + 1, j, new Set([...open, c]));
      i = j + 1;
    }
  };
  walk(0, line.length, new Set());
  return out;
}

const isSpace = (c: string) => /\s/.test(c);

/** The first value ≥ `min` of an ascending array, by binary search. */
function firstAtLeast(sorted: readonly number[], min: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < min) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

/** Text with directives for the spans XMPP can show (outbound). */
export function toStyled(content: MessageContent): string {
  const { text } = content;
  const inserts: { at: number; s: string; rank: number }[] = [];
  for (const span of content.spans ?? []) {
    // Directives only work next to non-space characters: shrink the span to them.
    let start = span.offset;
    let end = span.offset + span.length;
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (start >= end) continue;
    const mark = MARK[span.kind];
    if (mark) {
      inserts.push({ at: start, s: mark, rank: 1 - 1 / (end - start) }, { at: end, s: mark, rank: 2 + 1 / (end - start) });
    } else if (span.kind === 'pre') {
      inserts.push({ at: start, s: `${start > 0 && text[start - 1] !== '\n' ? '\n' : ''}\`\`\`\n`, rank: 1 }, { at: end, s: '\n```', rank: 2 });
    } else if (span.kind === 'blockquote') {
      for (let p = start; p < end; p = text.indexOf('\n', p) + 1 || end) if (p === 0 || text[p - 1] === '\n') inserts.push({ at: p, s: '> ', rank: 4 });
    } else if (span.kind === 'link' && text.slice(start, end) !== span.url) {
      inserts.push({ at: end, s: ` <${span.url}>`, rank: 1.5 });
    }
  }
  // In text order; at one position the highest rank comes first: a quote mark (4), then
  // closers (rank > 2, inner ones higher), then openers (rank < 1, outer ones higher), so
  // text reads `_inner_* *outer _inner`. Built in one pass (splicing each insert into the
  // text was quadratic in the number of spans).
  inserts.sort((a, b) => a.at - b.at || b.rank - a.rank);
  const parts: string[] = [];
  let at = 0;
  for (const ins of inserts) {
    parts.push(text.slice(at, ins.at), ins.s);
    at = ins.at;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

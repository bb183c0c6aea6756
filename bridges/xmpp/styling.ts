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

/** Inline directives of one line: an opening directive follows the line start or white space and precedes a non-space; the closing one follows a non-space. */
function lineSpans(line: string, base: number): FormatSpan[] {
  const out: FormatSpan[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    const kind = SPAN_DIRECTIVES[c];
    const opens = kind && (i === 0 || /\s/.test(line[i - 1]!)) && i + 1 < line.length && !/\s/.test(line[i + 1]!);
    if (!opens) {
      i++;
      continue;
    }
    let j = i + 2;
    while (j < line.length && !(line[j] === c && !/\s/.test(line[j - 1]!))) j++;
    if (j >= line.length) {
      i++;
      continue;
    }
    out.push({ kind, offset: base + i, length: j - i + 1 });
    if (kind !== 'code') out.push(...lineSpans(line.slice(i + 1, j), base + i + 1));
    i = j + 1;
  }
  return out;
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
  // From the end, so earlier offsets stay valid. At one position the first inserted ends
  // up last: openers (rank < 1, outer ones higher) go in before closers (rank > 2, inner
  // ones higher), so text reads `_inner_* *outer _inner`, and a quote mark (4) comes first.
  inserts.sort((a, b) => b.at - a.at || a.rank - b.rank);
  let out = text;
  for (const ins of inserts) out = out.slice(0, ins.at) + ins.s + out.slice(ins.at);
  return out;
}

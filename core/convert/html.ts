/**
 * Neutral text + spans <-> HTML. The neutral form is what adapters speak; HTML is what
 * Matrix's `formatted_body` carries. Both directions live here so they stay inverse.
 */
import { Parser } from 'htmlparser2';
import type { FormatSpan } from '../events.js';
import type { RemoteUserId } from '../ids.js';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The `matrix.to` link Matrix clients render as a user pill. */
export const userLink = (userId: string) => `https://matrix.to/#/${encodeURIComponent(userId).replace(/%40/g, '@').replace(/%3A/gi, ':')}`;

function openTag(span: FormatSpan, mentionUserId: (u: RemoteUserId) => string): string {
  switch (span.kind) {
    case 'bold': return '<strong>';
    case 'italic': return '<em>';
    case 'underline': return '<u>';
    case 'strike': return '<del>';
    case 'code': return '<code>';
    case 'spoiler': return '<span data-mx-spoiler>';
    case 'blockquote': return '<blockquote>';
    case 'pre': return span.language ? `<pre><code class="language-${escapeHtml(span.language)}">` : '<pre><code>';
    case 'link': return `<a href="${escapeHtml(span.url)}">`;
    case 'mention': return `<a href="${escapeHtml(userLink(mentionUserId(span.user)))}">`;
  }
}

function closeTag(span: FormatSpan): string {
  switch (span.kind) {
    case 'bold': return '</strong>';
    case 'italic': return '</em>';
    case 'underline': return '</u>';
    case 'strike': return '</del>';
    case 'code': return '</code>';
    case 'spoiler': return '</span>';
    case 'blockquote': return '</blockquote>';
    case 'pre': return '</code></pre>';
    case 'link': case 'mention': return '</a>';
  }
}

/**
 * Render text with spans as HTML. Overlapping spans that do not nest are closed and
 * reopened around each other, so the output is always well-formed.
 */
export function spansToHtml(text: string, spans: readonly FormatSpan[], mentionUserId: (u: RemoteUserId) => string): string {
  const valid = spans
    .filter((s) => s.length > 0 && s.offset >= 0 && s.offset + s.length <= text.length)
    .map((s, i) => ({ s, i, end: s.offset + s.length }))
    .sort((a, b) => a.s.offset - b.s.offset || b.end - a.end || a.i - b.i);
  const cuts = new Set<number>([0, text.length]);
  for (const v of valid) cuts.add(v.s.offset).add(v.end);
  const points = [...cuts].sort((a, b) => a - b);
  let out = '';
  const open: typeof valid = [];
  let inPre = 0;
  for (let k = 0; k < points.length - 1; k++) {
    const at = points[k]!;
    // Close spans that end here; anything opened above them that continues is closed
    // too and reopened right after, to keep the HTML well-formed.
    const firstEnding = open.findIndex((o) => o.end <= at);
    const reopen: typeof valid = [];
    if (firstEnding >= 0) {
      while (open.length > firstEnding) {
        const top = open.pop()!;
        out += closeTag(top.s);
        if (top.s.kind === 'pre') inPre--;
        if (top.end > at) reopen.unshift(top);
      }
    }
    for (const v of [...reopen, ...valid.filter((v) => v.s.offset === at)]) {
      out += openTag(v.s, mentionUserId);
      if (v.s.kind === 'pre') inPre++;
      open.push(v);
    }
    const chunk = escapeHtml(text.slice(at, points[k + 1]));
    out += inPre ? chunk : chunk.replace(/\n/g, '<br>');
  }
  while (open.length) out += closeTag(open.pop()!.s);
  return out;
}

const SIMPLE: Record<string, FormatSpan['kind']> = {
  b: 'bold', strong: 'bold', i: 'italic', em: 'italic', u: 'underline', s: 'strike', del: 'strike', strike: 'strike',
  blockquote: 'blockquote', h1: 'bold', h2: 'bold', h3: 'bold', h4: 'bold', h5: 'bold', h6: 'bold',
};
const BLOCK = new Set(['p', 'div', 'blockquote', 'pre', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'tr']);

/** The remote user a pill's (%-encoded) user id stands for; a malformed escape is no mention, never an error. */
function mentionOf(encoded: string, mention: (userId: string) => RemoteUserId | undefined): RemoteUserId | undefined {
  try {
    return mention(decodeURIComponent(encoded));
  } catch {
    return undefined;
  }
}

export interface ParsedHtml {
  text: string;
  spans: FormatSpan[];
}

/**
 * Parse Matrix HTML into text and spans. `mention(userId)` says which Matrix users are
 * mentionable remote users (ghosts of the target network); other pills stay as text.
 * `<mx-reply>` (the reply fallback) is dropped.
 */
export function htmlToSpans(html: string, mention: (userId: string) => RemoteUserId | undefined): ParsedHtml {
  let text = '';
  const spans: FormatSpan[] = [];
  const stack: { name: string; start: number; make?: (start: number, end: number) => FormatSpan | undefined }[] = [];
  let skip = 0;
  let pre = 0;
  const listCounters: (number | undefined)[] = [];
  const newline = () => {
    text = text.replace(/ +$/, '');
    if (text.length && !text.endsWith('\n')) text += '\n';
  };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'mx-reply') skip++;
        if (skip) { stack.push({ name, start: text.length }); return; }
        if (BLOCK.has(name)) newline();
        let make: ((s: number, e: number) => FormatSpan | undefined) | undefined;
        const simple = SIMPLE[name];
        if (simple) make = (offset, end) => ({ kind: simple, offset, length: end - offset }) as FormatSpan;
        else if (name === 'code' && !pre) make = (offset, end) => ({ kind: 'code', offset, length: end - offset });
        else if (name === 'pre') {
          pre++;
          make = (offset, end) => ({ kind: 'pre', offset, length: end - offset });
        } else if (name === 'code' && pre) {
          const lang = /(?:^|\s)language-([\w+#-]+)/.exec(attrs.class ?? '')?.[1];
          const preEntry = [...stack].reverse().find((e) => e.name === 'pre');
          if (lang && preEntry) preEntry.make = (offset, end) => ({ kind: 'pre', offset, length: end - offset, language: lang });
        } else if (name === 'span' && 'data-mx-spoiler' in attrs) make = (offset, end) => ({ kind: 'spoiler', offset, length: end - offset });
        else if (name === 'a' && attrs.href) {
          const href = attrs.href;
          const m = /^https:\/\/matrix\.to\/#\/(@[^/?]+)/.exec(href);
          const user = m ? mentionOf(m[1]!, mention) : undefined;
          make = user
            ? (offset, end) => ({ kind: 'mention', offset, length: end - offset, user })
            : (offset, end) => ({ kind: 'link', offset, length: end - offset, url: href });
        } else if (name === 'br') text += '\n';
        else if (name === 'ol') listCounters.push(Number(attrs.start ?? 1));
        else if (name === 'ul') listCounters.push(undefined);
        else if (name === 'li') {
          const n = listCounters.at(-1);
          text += n === undefined ? '• ' : `${n}. `;
          if (n !== undefined) listCounters[listCounters.length - 1] = n + 1;
        } else if (name === 'img') text += attrs.alt ?? attrs.title ?? '';
        stack.push({ name, start: text.length, make });
      },
      ontext(data) {
        if (skip) return;
        if (pre) text += data;
        else {
          const collapsed = data.replace(/\s+/g, ' ');
          text += text.length === 0 || text.endsWith('\n') ? collapsed.replace(/^ /, '') : collapsed;
        }
      },
      onclosetag(name) {
        // Pop to the matching open tag (tolerates missing close tags).
        const idx = stack.map((e) => e.name).lastIndexOf(name);
        if (idx < 0) return;
        while (stack.length > idx) {
          const e = stack.pop()!;
          if (e.name === 'mx-reply') { skip--; continue; }
          if (skip) continue;
          if (e.name === 'pre') pre--;
          if (e.name === 'ol' || e.name === 'ul') listCounters.pop();
          const end = text.replace(/ +$/, '').length;
          if (e.make && end > e.start) {
            const span = e.make(e.start, end);
            if (span) spans.push(span);
          }
          if (BLOCK.has(e.name)) newline();
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  const trimmed = text.replace(/\s+$/, '');
  return {
    text: trimmed,
    spans: spans
      .map((s) => ({ ...s, length: Math.min(s.length, trimmed.length - s.offset) }))
      .filter((s) => s.length > 0)
      .sort((a, b) => a.offset - b.offset || b.length - a.length),
  };
}

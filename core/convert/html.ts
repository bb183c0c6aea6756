/**
 * Neutral text + spans <-> HTML. The neutral form is what adapters speak; HTML is what
 * Matrix's `formatted_body` carries. Both directions live here so they stay inverse.
 */
import { Parser } from 'htmlparser2';
import type { FormatSpan } from '../events.js';
import type { RemoteUserId } from '../ids.js';
import { isAllowedLink } from './links.js';

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
 * Most spans one message carries. Spans that cross instead of nesting are closed and
 * reopened around each other, so n crossing spans can make n² HTML: past this many
 * (far beyond what people write), formatting is dropped and the text stays.
 */
export const MAX_SPANS = 1_000;

/**
 * Render text with spans as HTML. Overlapping spans that do not nest are closed and
 * reopened around each other, so the output is always well-formed.
 */
export function spansToHtml(text: string, spans: readonly FormatSpan[], mentionUserId: (u: RemoteUserId) => string): string {
  const valid = spans
    .filter((s) => s.length > 0 && s.offset >= 0 && s.offset + s.length <= text.length)
    .slice(0, MAX_SPANS)
    .map((s) => offPairs(text, s))
    .filter((s) => s.length > 0)
    .map((s, i) => ({ s, i, end: s.offset + s.length }))
    .sort((a, b) => a.s.offset - b.s.offset || b.end - a.end || a.i - b.i);
  const cuts = new Set<number>([0, text.length]);
  for (const v of valid) cuts.add(v.s.offset).add(v.end);
  const points = [...cuts].sort((a, b) => a - b);
  const parts: string[] = [];
  const open: typeof valid = [];
  // lowestEnd[k]: the smallest end among open[0..k]; never increases with k, so the first
  // open span that ends at a point is found by binary search.
  const lowestEnd: number[] = [];
  const push = (v: (typeof valid)[number]) => {
    open.push(v);
    lowestEnd.push(Math.min(v.end, lowestEnd.at(-1) ?? Infinity));
  };
  let next = 0;
  let inPre = 0;
  for (let k = 0; k < points.length - 1; k++) {
    const at = points[k]!;
    // Close spans that end here; anything opened above them that continues is closed
    // too and reopened right after, to keep the HTML well-formed.
    const firstEnding = firstAtMost(lowestEnd, at);
    const reopen: typeof valid = [];
    while (open.length > firstEnding) {
      const top = open.pop()!;
      lowestEnd.pop();
      parts.push(closeTag(top.s));
      if (top.s.kind === 'pre') inPre--;
      if (top.end > at) reopen.unshift(top);
    }
    const starting: typeof valid = [];
    while (next < valid.length && valid[next]!.s.offset === at) starting.push(valid[next++]!);
    for (const v of [...reopen, ...starting]) {
      parts.push(openTag(v.s, mentionUserId));
      if (v.s.kind === 'pre') inPre++;
      push(v);
    }
    const chunk = escapeHtml(text.slice(at, points[k + 1]));
    parts.push(inPre ? chunk : chunk.replace(/\n/g, '<br>'));
  }
  while (open.length) parts.push(closeTag(open.pop()!.s));
  return parts.join('');
}

/**
 * A span whose ends do not split a surrogate pair: the contract forbids it, but a tag put
 * between the halves of an emoji makes two lone surrogates, which the homeserver refuses
 * (500), so an adapter's or a stranger's bad offset is moved to the pair's edge here.
 */
function offPairs<S extends FormatSpan>(text: string, span: S): S {
  const inPair = (at: number) => at > 0 && at < text.length && isLow(text.charCodeAt(at)) && isHigh(text.charCodeAt(at - 1));
  const start = inPair(span.offset) ? span.offset - 1 : span.offset;
  const endAt = span.offset + span.length;
  const end = inPair(endAt) ? endAt + 1 : endAt;
  return start === span.offset && end === endAt ? span : { ...span, offset: start, length: end - start };
}
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The first index whose value is at most `limit` in a non-increasing array (its length if none). */
function firstAtMost(values: readonly number[], limit: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= limit) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const SIMPLE: Record<string, FormatSpan['kind']> = {
  b: 'bold', strong: 'bold', i: 'italic', em: 'italic', u: 'underline', s: 'strike', del: 'strike', strike: 'strike',
  blockquote: 'blockquote', h1: 'bold', h2: 'bold', h3: 'bold', h4: 'bold', h5: 'bold', h6: 'bold',
};
/** Elements whose content is never text to bridge: the reply fallback, code, styles, forms, embedded documents. */
const NOT_TEXT = new Set(['mx-reply', 'script', 'style', 'textarea', 'math', 'svg', 'noscript', 'template', 'title', 'head', 'select', 'option', 'iframe', 'object', 'embed', 'canvas', 'audio', 'video']);
const BLOCK = new Set(['p', 'div', 'blockquote', 'pre', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'tr']);

/** The remote user a pill's (%-encoded) user id stands for; a malformed escape is no mention, never an error. */
function mentionOf(encoded: string, mention: (userId: string) => RemoteUserId | undefined): RemoteUserId | undefined {
  try {
    return mention(decodeURIComponent(encoded));
  } catch {
    return undefined;
  }
}

/**
 * Most tags a formatted body may hold to be parsed. htmlparser2 keeps its open tags in an
 * array it shifts and searches, so its time grows with tags × nesting depth: 40,000
 * nested tags took 1.5 s. Past this many the plain `body` is used (bench/parsers.ts).
 */
export const MAX_HTML_TAGS = 5_000;

/** Whether `html` holds more tag openings than `htmlToSpans` takes (counted without a regex). */
export function tooManyTags(html: string): boolean {
  let n = 0;
  for (let i = html.indexOf('<'); i >= 0; i = html.indexOf('<', i + 1)) if (++n > MAX_HTML_TAGS) return true;
  return false;
}

export interface ParsedHtml {
  text: string;
  spans: FormatSpan[];
}

/**
 * Parse Matrix HTML into text and spans. `mention(userId)` says which Matrix users are
 * mentionable remote users (ghosts of the target network); other pills stay as text.
 * `<mx-reply>` (the reply fallback) and elements that are not text (`<script>`,
 * `<style>`, `<math>`, `<textarea>`...) are dropped; links keep only allowed schemes.
 *
 * Linear in the size of the HTML whatever it holds (the HTML is anyone's): no regular
 * expression runs over the text built so far, and a closing tag finds its opening tag
 * in time proportional to the tags it closes.
 */
export function htmlToSpans(html: string, mention: (userId: string) => RemoteUserId | undefined): ParsedHtml {
  const text = new TextBuilder();
  const spans: FormatSpan[] = [];
  type Entry = { name: string; start: number; make?: (start: number, end: number) => FormatSpan | undefined };
  const stack: Entry[] = [];
  /** How many entries of each tag name the stack holds: a closing tag without one costs nothing. */
  const openCount = new Map<string, number>();
  const pres: Entry[] = [];
  let skip = 0;
  let pre = 0;
  const listCounters: (number | undefined)[] = [];
  const push = (e: Entry) => {
    stack.push(e);
    openCount.set(e.name, (openCount.get(e.name) ?? 0) + 1);
    if (e.name === 'pre') pres.push(e);
  };
  const pop = (): Entry => {
    const e = stack.pop()!;
    openCount.set(e.name, openCount.get(e.name)! - 1);
    if (e.name === 'pre') pres.pop();
    return e;
  };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (NOT_TEXT.has(name)) skip++;
        if (skip) { push({ name, start: text.length }); return; }
        if (BLOCK.has(name)) text.newline();
        let make: ((s: number, e: number) => FormatSpan | undefined) | undefined;
        const simple = SIMPLE[name];
        if (simple) make = (offset, end) => ({ kind: simple, offset, length: end - offset }) as FormatSpan;
        else if (name === 'code' && !pre) make = (offset, end) => ({ kind: 'code', offset, length: end - offset });
        else if (name === 'pre') {
          pre++;
          make = (offset, end) => ({ kind: 'pre', offset, length: end - offset });
        } else if (name === 'code' && pre) {
          const lang = /(?:^|\s)language-([\w+#-]{1,64})/.exec((attrs.class ?? '').slice(0, 1000))?.[1];
          const preEntry = pres.at(-1);
          if (lang && preEntry) preEntry.make = (offset, end) => ({ kind: 'pre', offset, length: end - offset, language: lang });
        } else if (name === 'span' && 'data-mx-spoiler' in attrs) make = (offset, end) => ({ kind: 'spoiler', offset, length: end - offset });
        else if (name === 'a' && attrs.href) {
          const href = attrs.href;
          const m = /^https:\/\/matrix\.to\/#\/(@[^/?]+)/.exec(href);
          const user = m ? mentionOf(m[1]!, mention) : undefined;
          // A pill of a Matrix user (not a ghost of the target network) is their name as text:
          // "Dave", as a ghost's pill is "bob", never "Dave <https://matrix.to/#/...>".
          // A link of a scheme not on the allow-list is its text only too (links.ts).
          make = user
            ? (offset, end) => ({ kind: 'mention', offset, length: end - offset, user })
            : !m && isAllowedLink(href) ? (offset, end) => ({ kind: 'link', offset, length: end - offset, url: href }) : undefined;
        } else if (name === 'br') text.append('\n');
        else if (name === 'ol') listCounters.push(Number(attrs.start ?? 1));
        else if (name === 'ul') listCounters.push(undefined);
        else if (name === 'li') {
          const n = listCounters.at(-1);
          text.append(n === undefined ? '• ' : `${n}. `);
          if (n !== undefined) listCounters[listCounters.length - 1] = n + 1;
        } else if (name === 'img') text.append(attrs.alt ?? attrs.title ?? '');
        push({ name, start: text.length, make });
      },
      ontext(data) {
        if (skip) return;
        if (pre) text.append(data);
        else {
          const collapsed = data.replace(/\s+/g, ' ');
          text.append(text.length === 0 || text.endsWithNewline() || text.endsWithSpace() ? collapsed.replace(/^ /, '') : collapsed);
        }
      },
      onclosetag(name) {
        // Pop to the matching open tag (tolerates missing close tags).
        if (!openCount.get(name)) return;
        for (;;) {
          const e = pop();
          if (NOT_TEXT.has(e.name)) skip--;
          else if (!skip) {
            if (e.name === 'pre') pre--;
            if (e.name === 'ol' || e.name === 'ul') listCounters.pop();
            const end = text.lengthWithoutTrailingSpaces;
            if (e.make && end > e.start && spans.length < MAX_SPANS) {
              const span = e.make(e.start, end);
              if (span) spans.push(span);
            }
            if (BLOCK.has(e.name)) text.newline();
          }
          if (e.name === name) break;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  const trimmed = text.trimmedEnd();
  return {
    text: trimmed,
    spans: spans
      .map((s) => ({ ...s, length: Math.min(s.length, trimmed.length - s.offset) }))
      .filter((s) => s.length > 0)
      .sort((a, b) => a.offset - b.offset || b.length - a.length),
  };
}

/**
 * Text built by appending, which always knows its length without trailing spaces, so
 * that trimming never scans back over text it has seen (a run of 60,000 spaces made
 * each trim, and so the parse, quadratic).
 */
class TextBuilder {
  private parts: string[] = [];
  length = 0;
  /** Length up to and including the last character that is not a space. */
  lengthWithoutTrailingSpaces = 0;
  private last = '';

  append(s: string): void {
    if (!s) return;
    this.parts.push(s);
    let i = s.length - 1;
    while (i >= 0 && s.charCodeAt(i) === 32) i--;
    if (i >= 0) this.lengthWithoutTrailingSpaces = this.length + i + 1;
    this.length += s.length;
    this.last = s[s.length - 1]!;
  }

  endsWithNewline(): boolean {
    return this.last === '\n';
  }

  endsWithSpace(): boolean {
    return this.last === ' ';
  }

  /** Drop trailing spaces, then end the line unless the text is empty or ends one already. */
  newline(): void {
    if (this.lengthWithoutTrailingSpaces < this.length) this.cut(this.lengthWithoutTrailingSpaces);
    if (this.length && !this.endsWithNewline()) this.append('\n');
  }

  /** The text without trailing white space of any kind. */
  trimmedEnd(): string {
    const all = this.toString();
    let end = all.length;
    while (end > 0 && /\s/.test(all[end - 1]!)) end--;
    return all.slice(0, end);
  }

  toString(): string {
    const joined = this.parts.join('');
    this.parts = [joined];
    return joined;
  }

  private cut(length: number): void {
    const kept = this.toString().slice(0, length);
    this.parts = [kept];
    this.length = kept.length;
    this.lengthWithoutTrailingSpaces = kept.length;
    this.last = kept[kept.length - 1] ?? '';
  }
}

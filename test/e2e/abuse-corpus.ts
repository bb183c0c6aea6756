/**
 * The hostile inputs the abuse suite (abuse.e2e.test.ts) sends from each side: made from
 * a seeded generator, so a failing case can be replayed. Every input carries a tag
 * (`[r-12]`, `[m-12]`) at its start so it can be found again on the other side, however
 * the rest of it is mangled, cut or refused.
 */
import type { FormatSpan, MessageContent } from '../../core/events.js';

/** A small deterministic generator (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces of text attackers use: controls, direction overrides, invisible characters, markup, schemes, emoji. */
const FRAGMENTS = [
  '\u0000', '\u0007', '\r\n', '\u2028', '\u202e', '\u2066', '\u200b', '\ufeff', '\u0301\u0301\u0301', 'A\u0338', '🏳️‍🌈', '👨‍👩‍👧‍👦', '\u{1f600}',
  '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<a href="javascript:alert(1)">x</a>', '&lt;b&gt;', '&#0;', ']]>', '<![CDATA[x]]>',
  '*bold*', '_it_', '~s~', '`c`', '```\ncode\n```', '> quote', '*_~nested~_*', '*'.repeat(50), '_ '.repeat(40),
  'javascript:alert(1)', 'data:text/html,<b>x</b>', 'file:///etc/passwd', 'https://matrix.to/#/@%E0%A4%A:x', '@room', '!sb help', 'link xmpp evil@muc',
  '%00%0d%0a', '\\u0000', '${HOME}', "'; DROP TABLE portals; --", '{"$bytes":"AAAA"}', '"', "'", '\t\t', ' '.repeat(200),
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function hostileText(rand: () => number, parts = 1 + Math.floor(rand() * 12)): string {
  let s = '';
  for (let i = 0; i < parts; i++) s += pick(rand, FRAGMENTS);
  return s;
}

export interface RemoteInput {
  tag: string;
  content: MessageContent;
  /** Reply to a message of the other chat, or to an id nobody knows. */
  replyTo?: 'other-chat' | 'unknown';
}

/** `count` remote messages (loopback), with lone surrogates, spans of every kind and sizes past Matrix's limit. */
export function remoteCorpus(count: number, seed = 19): RemoteInput[] {
  const rand = seeded(seed);
  const out: RemoteInput[] = [];
  for (let n = 0; n < count; n++) {
    const tag = `[r-${n}]`;
    let text = `${tag} ${hostileText(rand)}`;
    if (n % 7 === 0) text += 'x\ud800y\udc00'; // lone surrogates: Synapse answers 500 to them
    if (n % 100 === 50) text += 'z'.repeat(300_000); // larger than one Matrix event
    const spans: FormatSpan[] = [];
    const spanCount = n % 100 === 75 ? 5_000 : Math.floor(rand() * 6);
    for (let i = 0; i < spanCount; i++) {
      const offset = Math.floor(rand() * (text.length + 4)) - 2;
      const length = Math.floor(rand() * 20) - 2;
      const kind = pick(rand, ['bold', 'italic', 'code', 'pre', 'link', 'mention', 'spoiler', 'blockquote'] as const);
      if (kind === 'link') spans.push({ kind, offset, length, url: pick(rand, ['javascript:alert(1)', 'data:x', 'https://ok.example/', ' vbscript:x', 'file:///x']) });
      else if (kind === 'mention') spans.push({ kind, offset, length, user: pick(rand, ['nobody', 'alice', '', '@room']) as never });
      else spans.push({ kind, offset, length } as FormatSpan);
    }
    const kind = pick(rand, ['text', 'text', 'text', 'emote', 'notice'] as const);
    out.push({ tag, content: { kind, text, ...(spans.length && { spans }) }, ...(n % 13 === 0 && { replyTo: pick(rand, ['other-chat', 'unknown'] as const) }) });
  }
  return out;
}

export interface MatrixInput {
  tag: string;
  content: Record<string, unknown>;
  /** Whether a careful bridge carries it to the remote chat (a message with a text body). */
  carried: boolean;
}

/** `count` Matrix messages: HTML garbage, malformed pills, replies and edits aimed at other rooms and people. */
export function matrixCorpus(count: number, seed = 18): MatrixInput[] {
  const rand = seeded(seed);
  const out: MatrixInput[] = [];
  for (let n = 0; n < count; n++) {
    const tag = `[m-${n}]`;
    const body = `${tag} ${hostileText(rand)}`;
    const shape = n % 10;
    let content: Record<string, unknown>;
    if (shape <= 3) content = { msgtype: 'm.text', body };
    else if (shape === 4) content = { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: `${tag} ${'<b><i>'.repeat(3_500)}deep` };
    else if (shape === 5) content = { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: `${tag} <a href="https://matrix.to/#/@%E0%A4%A:x">pill</a> <a href="javascript:alert(1)">js</a> <script>steal()</script><style>*{}</style><math><mi>x</mi></math><textarea>t</textarea> ${hostileText(rand)}` };
    else if (shape === 6) content = { msgtype: pick(rand, ['m.emote', 'm.notice']), body };
    else if (shape === 7) content = { msgtype: 'm.text', body: `${tag} ${'w'.repeat(30_000)}` };
    else if (shape === 8) content = { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: `${tag} <pre>${' '.repeat(20_000)}x</pre>` };
    else content = { msgtype: 'm.text', body, 'm.mentions': { room: true, user_ids: ['@nobody:nowhere', '@_loopback_bob:switchboard.test'] } };
    out.push({ tag, content, carried: true });
  }
  return out;
}

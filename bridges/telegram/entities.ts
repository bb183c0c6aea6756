/**
 * Telegram message entities <-> the core's format spans. Both count UTF-16 code units,
 * so offsets carry over unchanged; entities a sender got wrong (beyond the text, inside a
 * surrogate pair) are dropped, their text kept.
 */
import type { FormatSpan } from '../../core/events.js';
import { remoteUserId } from '../../core/ids.js';

export interface Entity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  user?: { id: number };
  language?: string;
}

const SIMPLE: Record<string, 'bold' | 'italic' | 'underline' | 'strike' | 'code' | 'spoiler' | 'blockquote'> = {
  bold: 'bold',
  italic: 'italic',
  underline: 'underline',
  strikethrough: 'strike',
  code: 'code',
  spoiler: 'spoiler',
  blockquote: 'blockquote',
  expandable_blockquote: 'blockquote',
};

function splitsPair(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  return at > 0 && at < text.length && code >= 0xdc00 && code <= 0xdfff;
}

/** Spans for the entities of `text`; malformed ones are left out. */
export function entitiesToSpans(text: string, entities: readonly unknown[] | undefined): FormatSpan[] {
  const spans: FormatSpan[] = [];
  for (const raw of entities ?? []) {
    if (!raw || typeof raw !== 'object') continue;
    const e = raw as Partial<Entity>;
    if (typeof e.type !== 'string' || !Number.isInteger(e.offset) || !Number.isInteger(e.length)) continue;
    const offset = e.offset!;
    const length = e.length!;
    if (offset < 0 || length <= 0 || offset + length > text.length || splitsPair(text, offset) || splitsPair(text, offset + length)) continue;
    const simple = SIMPLE[e.type];
    if (simple) spans.push({ kind: simple, offset, length });
    else if (e.type === 'pre') spans.push({ kind: 'pre', offset, length, ...(typeof e.language === 'string' && e.language && { language: e.language }) });
    else if (e.type === 'text_link' && typeof e.url === 'string') spans.push({ kind: 'link', offset, length, url: e.url });
    else if (e.type === 'text_mention' && typeof e.user?.id === 'number') spans.push({ kind: 'mention', offset, length, user: remoteUserId(String(e.user.id)) });
    // url, mention (@name), hashtag, bot_command...: the text says it already.
  }
  return spans;
}

/** Entities for spans; mentions only of Telegram users (numeric ids). */
export function spansToEntities(spans: readonly FormatSpan[] | undefined): Entity[] {
  const out: Entity[] = [];
  for (const s of spans ?? []) {
    const base = { offset: s.offset, length: s.length };
    switch (s.kind) {
      case 'strike': out.push({ type: 'strikethrough', ...base }); break;
      case 'pre': out.push({ type: 'pre', ...base, ...(s.language && { language: s.language }) }); break;
      case 'link': out.push({ type: 'text_link', ...base, url: s.url }); break;
      case 'mention': if (/^\d+$/.test(s.user)) out.push({ type: 'text_mention', ...base, user: { id: Number(s.user) } }); break;
      default: out.push({ type: s.kind, ...base });
    }
  }
  return out;
}

/** Cuts text and entities at `max` UTF-16 units (captions), never inside a surrogate pair. */
export function truncate(text: string, entities: Entity[], max: number): { text: string; entities: Entity[] } {
  if (text.length <= max) return { text, entities };
  let end = max - 1;
  if (splitsPair(text, end)) end--;
  const cut = text.slice(0, end) + '…';
  const kept = entities
    .filter((e) => e.offset < end)
    .map((e) => ({ ...e, length: Math.min(e.length, end - e.offset) }));
  return { text: cut, entities: kept };
}

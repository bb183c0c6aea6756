/**
 * Capability fallbacks, in one place: what the core does when a network cannot carry
 * something as Matrix has it. Adapters never see what they declared they cannot do.
 */
import type { Capabilities } from '../../adapter.js';
import type { Attachment, FormatSpan, MessageContent } from '../../events.js';

/** Drop formatting the network cannot render (the text stays). */
export function keepSupportedSpans(content: MessageContent, caps: Capabilities): MessageContent {
  if (!content.spans?.length) return content;
  const { spans: all, ...rest } = content;
  const spans = all.filter((s) => caps.formatting.includes(s.kind));
  return spans.length ? { ...rest, spans } : rest;
}

/**
 * Split text longer than the network's limit into several messages, at a line break
 * or space where one is near the cut, never inside a surrogate pair; spans are clipped.
 */
export function splitText(content: MessageContent, max: number): MessageContent[] {
  if (content.text.length <= max) return [content];
  const chunks: MessageContent[] = [];
  let start = 0;
  const text = content.text;
  while (start < text.length) {
    let end = Math.min(start + max, text.length);
    if (end < text.length) {
      const window = text.slice(start, end);
      const brk = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
      if (brk > max / 2) end = start + brk + 1;
      const code = text.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end--; // do not cut a surrogate pair
    }
    const spans = (content.spans ?? [])
      .map((s): FormatSpan => ({ ...s, offset: Math.max(s.offset, start) - start, length: Math.min(s.offset + s.length, end) - Math.max(s.offset, start) }))
      .filter((s) => s.length > 0);
    const chunk: MessageContent = { kind: content.kind, text: text.slice(start, end) };
    if (spans.length) chunk.spans = spans;
    chunks.push(chunk);
    start = end;
  }
  if (content.attachments?.length) chunks[chunks.length - 1]!.attachments = content.attachments;
  return chunks;
}

/** Why an attachment cannot go to this network as a file, or undefined if it can. */
export function attachmentProblem(att: Pick<Attachment, 'kind' | 'size'>, caps: Capabilities): string | undefined {
  const limit = caps.media[att.kind] ?? (att.kind !== 'file' ? caps.media.file : undefined);
  if (!limit) return `this network does not take ${att.kind} files`;
  if (att.size !== undefined && att.size > limit.maxBytes) return `larger than this network's ${formatBytes(limit.maxBytes)} limit`;
  return undefined;
}

/** The kind an attachment is sent as: its own, or `file` when only files are taken. */
export function sendableKind(kind: Attachment['kind'], caps: Capabilities): Attachment['kind'] {
  return caps.media[kind] ? kind : 'file';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A reaction on a network without reactions, as a short notice (or nothing, per config). */
export function reactionAsText(key: string): MessageContent {
  return { kind: 'notice', text: `reacted ${key}` };
}

/** An edit on a network without edits, as a new message. */
export function editAsText(content: MessageContent): MessageContent {
  const spans = (content.spans ?? []).map((s) => ({ ...s, offset: s.offset + 2 }));
  const out: MessageContent = { ...content, text: `* ${content.text}` };
  if (spans.length) out.spans = spans;
  return out;
}

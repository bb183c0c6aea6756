/**
 * IRCv3 `draft/multiline` (https://ircv3.net/specs/extensions/multiline): one message
 * carried as a batch of lines. Inbound, a batch is put back together into one PRIVMSG
 * (or NOTICE) whose text holds line breaks, carrying the tags of the batch's opening
 * line (msgid, label, +draft/reply), before irc-framework sees it; so the rest of the
 * adapter reads it, and recognises its own echo, like any line. Outbound, `batches`
 * groups a message's lines within the limits the server announced.
 */
import type { OutLine } from './split.js';

/** A line as irc-framework's parser hands it to its command handler. */
export interface ParsedLine {
  command: string;
  params: string[];
  tags: Record<string, string>;
  prefix?: string;
  nick?: string;
  ident?: string;
  hostname?: string;
}

/** Open batches one connection keeps at most, and the lines and bytes one batch may hold (a bound on memory). */
const MAX_OPEN = 8;
const MAX_LINES = 200;
const MAX_BYTES = 64 * 1024;

interface Open {
  opening: ParsedLine;
  lines: ParsedLine[];
  bytes: number;
}

/**
 * Wrap a dispatch function so multiline batches arrive as one line. Anything else passes
 * through as it came. A batch past the bounds above is delivered with what it held so far.
 */
export function assembleMultiline(dispatch: (line: ParsedLine) => void): (line: ParsedLine) => void {
  const open = new Map<string, Open>();
  const finish = (ref: string) => {
    const b = open.get(ref);
    open.delete(ref);
    if (b) dispatch(joined(b));
  };
  return (line) => {
    const command = String(line.command ?? '').toUpperCase();
    const ref = line.params?.[0] ?? '';
    if (command === 'BATCH' && ref.startsWith('+') && line.params[1]?.toLowerCase() === 'draft/multiline') {
      if (open.size >= MAX_OPEN) finish(open.keys().next().value!);
      open.set(ref.slice(1), { opening: line, lines: [], bytes: 0 });
      return;
    }
    if (command === 'BATCH' && ref.startsWith('-') && open.has(ref.slice(1))) {
      finish(ref.slice(1));
      return;
    }
    const batch = line.tags?.batch;
    const b = batch === undefined ? undefined : open.get(batch);
    if (b && (command === 'PRIVMSG' || command === 'NOTICE')) {
      b.lines.push(line);
      b.bytes += (line.params[1] ?? '').length;
      if (b.lines.length >= MAX_LINES || b.bytes >= MAX_BYTES) finish(batch!);
      return;
    }
    dispatch(line);
  };
}

/** The batch as one line: texts joined by line breaks, or directly where a line says `draft/multiline-concat`. */
function joined(b: Open): ParsedLine {
  const first = b.lines[0];
  let text = '';
  for (const [i, l] of b.lines.entries()) {
    if (i > 0 && l.tags['draft/multiline-concat'] === undefined) text += '\n';
    text += l.params[1] ?? '';
  }
  const { batch: _batch, ...tags } = b.opening.tags ?? {};
  return {
    command: first ? String(first.command).toUpperCase() : 'PRIVMSG',
    params: [b.opening.params[2] ?? first?.params[0] ?? '', text],
    tags,
    prefix: b.opening.prefix ?? first?.prefix,
    nick: b.opening.nick || first?.nick,
    ident: b.opening.ident || first?.ident,
    hostname: b.opening.hostname || first?.hostname,
  } as ParsedLine;
}


/**
 * A server's `draft/multiline` value (`max-bytes=4096,max-lines=24`) as limits, or
 * undefined when it names no byte limit (the spec requires one).
 */
export function multilineLimits(value: string | undefined): { maxBytes: number; maxLines: number } | undefined {
  if (value === undefined) return undefined;
  const kv = new Map(value.split(',').map((p) => p.split('=', 2) as [string, string | undefined]));
  const maxBytes = Number(kv.get('max-bytes'));
  const maxLines = kv.has('max-lines') ? Number(kv.get('max-lines')) : Infinity;
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || !(maxLines >= 1)) return undefined;
  return { maxBytes, maxLines };
}

/** Lines grouped into batches within the server's limits; a batch never opens with a continuation. */
export function batches(lines: readonly OutLine[], limits: { maxBytes: number; maxLines: number }): OutLine[][] {
  const out: OutLine[][] = [];
  let cur: OutLine[] = [];
  let bytes = 0;
  for (const l of lines) {
    const size = Buffer.byteLength(l.text);
    if (cur.length && (cur.length + 1 > limits.maxLines || bytes + size > limits.maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(cur.length ? l : { text: l.text, concat: false });
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Bytes on the wire. IRC has no declared encoding: most clients send UTF-8, older ones
 * Latin-1. The connection reads every line as Latin-1 (one byte, one character, so
 * nothing is lost), and each field is then read as UTF-8 if it is valid UTF-8, else kept
 * as Latin-1. Lines we write are UTF-8, made into the same one-byte-per-character form.
 */
import { Message, type Client } from 'irc-framework';
import { assembleMultiline, type ParsedLine } from './multiline.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A field as received (Latin-1 bytes), as text. */
export function fromWire(field: string): string {
  if (!/[\u0080-\u00ff]/.test(field)) return field; // ASCII: the same either way
  const bytes = Buffer.from(field, 'latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return field; // not UTF-8: Latin-1, as it came
  }
}

/** Text to write (UTF-8), as the connection's one-byte-per-character form. */
export function toWire(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A line with tags, every parameter free of CR, LF and NUL (a second command can never be smuggled in). */
export function line(command: string, params: string[], tags: Record<string, string> = {}): Message {
  const clean = params.map((p) => toWire(p.replace(/[\r\n\u0000]/g, ' ')));
  const msg = new Message(command, ...clean);
  for (const [k, v] of Object.entries(tags)) msg.tags[k] = toWire(v.replace(/[\r\n\u0000]/g, ''));
  return msg;
}

/**
 * Lines a server sends that irc-framework cannot read (a PRIVMSG without its text, a
 * numeric without parameters) make its handlers throw from the socket's data callback,
 * which would end the process. Each line is handled on its own: one that fails is
 * logged and skipped, and the next line is read as usual. Multiline batches are put
 * together here too, so the library sees them as one line.
 */
export function guardLines(client: Client, onBadLine: (command: string, err: unknown) => void): void {
  const handler = (client as unknown as { command_handler: { dispatch(message: ParsedLine): void } }).command_handler;
  const dispatch = handler.dispatch.bind(handler);
  const guarded = (message: ParsedLine) => {
    try {
      dispatch(message);
    } catch (err) {
      onBadLine(String(message?.command ?? '?').slice(0, 32), err);
    }
  };
  // draft/multiline batches become one line before irc-framework reads them (multiline.ts).
  const assembled = assembleMultiline(guarded);
  handler.dispatch = (message) => {
    try {
      assembled(message);
    } catch (err) {
      onBadLine(String(message?.command ?? '?').slice(0, 32), err);
    }
  };
}

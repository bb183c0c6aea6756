/**
 * A Matrix message with files, out to XMPP: each file is uploaded (XEP-0363) and sent
 * as its own message whose body is the link (what clients render inline); a caption
 * goes first. Without an upload service, or when an upload fails, the bridge's own
 * public link to the file is sent instead when there is one.
 */
import type { Logger } from '../../core/adapter.js';
import type { OutboundEvent, SendResult } from '../../core/events.js';

type MessageEvent = Extract<OutboundEvent, { type: 'message' }>;

export interface FileSender {
  /** Upload one file and resolve with its link; absent when there is no upload service (XEP-0363). */
  upload: ((file: { name: string; mime: string; bytes: Uint8Array }) => Promise<string>) | undefined;
  /** Send one stanza of the message under `originId`, with `oobUrl` as its OOB link. */
  sendOne(ev: MessageEvent, originId: string, oobUrl?: string): Promise<SendResult>;
  log: Logger;
}

/** The remote id is the first file's message. */
export async function sendWithFiles(s: FileSender, ev: MessageEvent, key: string): Promise<SendResult> {
  const { attachments = [], ...text } = ev.content;
  const links: string[] = [];
  for (const a of attachments) {
    if (a.source.kind !== 'bytes') continue;
    if (!s.upload) {
      if (a.link) links.push(a.link);
      else return { status: 'unsupported', reason: 'the XMPP server offers no file upload (XEP-0363), and the bridge serves no public media links' };
      continue;
    }
    try {
      links.push(await s.upload({ name: a.name, mime: a.mime, bytes: a.source.bytes }));
    } catch (err) {
      if (!a.link) return { status: 'rejected', reason: `the file could not be uploaded: ${(err as Error).message}` };
      s.log.warn({ err: (err as Error).message }, 'xmpp: file upload failed; sending the public media link instead');
      links.push(a.link);
    }
  }
  // One origin id per stanza, each derived from the delivery key (the caption keeps the key itself).
  if (text.text) await s.sendOne({ ...ev, content: text }, key);
  let first: SendResult | undefined;
  for (const [i, link] of links.entries()) {
    const result = await s.sendOne({ ...ev, content: { kind: 'text', text: link } }, `${key}-f${i}`, link);
    first ??= result;
  }
  return first ?? { status: 'sent' };
}

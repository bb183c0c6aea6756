/**
 * Files out: bytes go to the server's HTTP File Upload service (XEP-0363) and the message
 * carries the download link, body and OOB alike, which is what XMPP clients show inline.
 * (Files in: shared-files.ts.) Also the media types both directions guess from names.
 */
import xml from '@xmpp/xml';
import type { AttachmentKind } from '../../core/events.js';
import { putBytes, type OutboundOptions } from '../../core/net/guarded-http.js';
import type { XmppConnection } from './connection.js';

export const NS_OOB = 'jabber:x:oob';
const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', m4a: 'audio/mp4', pdf: 'application/pdf', txt: 'text/plain',
};

/** The media type a file name suggests (what OOB links give us to go on). */
export function mimeOf(name: string): string {
  return MIME_BY_EXT[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

export function kindOf(mime: string): AttachmentKind {
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  return 'file';
}

export interface UploadService {
  jid: string;
  maxBytes?: number;
}

/** Find the account's upload service (a component of its server announcing XEP-0363). */
export async function findUploadService(conn: XmppConnection, domain: string): Promise<UploadService | undefined> {
  const items = await conn.iq.ask('get', domain, xml('query', { xmlns: NS_DISCO_ITEMS })).catch(() => undefined);
  const candidates = [domain, ...(items?.getChild('query', NS_DISCO_ITEMS)?.getChildren('item').map((i) => i.attrs.jid).filter((j): j is string => Boolean(j)) ?? [])];
  for (const jid of candidates) {
    const info = await conn.iq.ask('get', jid, xml('query', { xmlns: NS_DISCO_INFO })).catch(() => undefined);
    const query = info?.getChild('query', NS_DISCO_INFO);
    if (!query?.getChildren('feature').some((f) => f.attrs.var === NS_UPLOAD)) continue;
    const form = query.getChildren('x', 'jabber:x:data').find((x) => x.getChildren('field').some((f) => f.attrs.var === 'FORM_TYPE' && f.getChildText('value') === NS_UPLOAD));
    const max = Number(form?.getChildren('field').find((f) => f.attrs.var === 'max-file-size')?.getChildText('value'));
    return { jid, ...(Number.isFinite(max) && max > 0 && { maxBytes: max }) };
  }
  return undefined;
}

/** Upload bytes through a slot; returns the URL people download the file from. */
export async function upload(conn: XmppConnection, service: UploadService, file: { name: string; mime: string; bytes: Uint8Array }, http: OutboundOptions): Promise<string> {
  if (service.maxBytes !== undefined && file.bytes.length > service.maxBytes) throw new Error(`the server takes files up to ${service.maxBytes} bytes`);
  const answer = await conn.iq.ask('get', service.jid, xml('request', { xmlns: NS_UPLOAD, filename: file.name.replace(/[/\\]/g, '_'), size: String(file.bytes.length), 'content-type': file.mime }));
  const slot = answer.getChild('slot', NS_UPLOAD);
  const put = slot?.getChild('put')?.attrs.url;
  const get = slot?.getChild('get')?.attrs.url;
  if (!put || !get) throw new Error('the upload service gave no slot');
  // Only the headers XEP-0363 allows through; anything else from the server is ignored.
  const headers: Record<string, string> = { 'content-type': file.mime };
  for (const h of slot!.getChild('put')!.getChildren('header')) {
    const name = h.attrs.name?.toLowerCase();
    if (name === 'authorization' || name === 'cookie' || name === 'expires') headers[name] = h.text().replace(/[\r\n]/g, '');
  }
  const status = await putBytes(new URL(put), file.bytes, headers, http);
  if (status !== 200 && status !== 201) throw new Error(`the upload was refused (HTTP ${status})`);
  return get;
}


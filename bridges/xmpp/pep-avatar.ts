/**
 * A contact's avatar from their PEP nodes (User Avatar, XEP-0084): the metadata names
 * the image by the SHA-1 of its bytes, and the data node holds it. Servers that keep
 * only vCards are served by vcard.ts; this one is asked first, since XEP-0084 is what
 * current clients publish (Prosody mirrors it into the vCard, other servers may not).
 */
import { createHash } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import type { Attachment } from '../../core/events.js';
import type { XmppConnection } from './connection.js';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_META = 'urn:xmpp:avatar:metadata';
const NS_DATA = 'urn:xmpp:avatar:data';
/** Larger avatars are not fetched (the data comes in one stanza). */
const MAX_AVATAR_BYTES = 1024 * 1024;

const items = (answer: Element) => answer.getChild('pubsub', NS_PUBSUB)?.getChild('items')?.getChildren('item') ?? [];

/** The avatar `bare` publishes, if any; undefined when there is none, it is too big, or its bytes do not match its id. */
export async function fetchPepAvatar(conn: XmppConnection, bare: string): Promise<Attachment | undefined> {
  const meta = await conn.iq.ask('get', bare, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_META, max_items: '1' })), 10_000);
  const infos = items(meta)[0]?.getChild('metadata', NS_META)?.getChildren('info') ?? [];
  // Only an image stored in PEP itself (an `url` would point elsewhere); empty metadata means "no avatar".
  const info = infos.find((i) => !i.attrs.url && /^[0-9a-f]{40}$/.test(i.attrs.id ?? '') && Number(i.attrs.bytes) > 0 && Number(i.attrs.bytes) <= MAX_AVATAR_BYTES);
  if (!info) return undefined;
  const id = info.attrs.id!;
  const data = await conn.iq.ask('get', bare, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_DATA }, xml('item', { id }))), 10_000);
  const b64 = items(data).find((i) => i.attrs.id === id)?.getChildText('data')?.replace(/\s+/g, '');
  if (!b64 || b64.length > (MAX_AVATAR_BYTES * 4) / 3 + 4) return undefined;
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  if (createHash('sha1').update(bytes).digest('hex') !== id) return undefined;
  const mime = info.attrs.type?.startsWith('image/') ? info.attrs.type : 'image/png';
  return { kind: 'image', name: 'avatar', mime, size: bytes.length, source: { kind: 'bytes', bytes } };
}

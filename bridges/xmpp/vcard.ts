/** A contact's name and avatar from their vCard (vcard-temp, XEP-0054/0153), the profile most servers keep. */
import xml from '@xmpp/xml';
import type { Attachment } from '../../core/events.js';
import type { XmppConnection } from './connection.js';

/** Avatars larger than this are ignored (a vCard is fetched whole, in one stanza). */
const MAX_AVATAR_BYTES = 1024 * 1024;

export async function fetchVcard(conn: XmppConnection, bare: string): Promise<{ name?: string; avatar?: Attachment }> {
  const answer = await conn.iq.ask('get', bare, xml('vCard', { xmlns: 'vcard-temp' }), 10_000);
  const card = answer.getChild('vCard', 'vcard-temp');
  if (!card) return {};
  const name = card.getChildText('NICKNAME')?.trim() || card.getChildText('FN')?.trim() || undefined;
  const photo = card.getChild('PHOTO');
  const b64 = photo?.getChildText('BINVAL')?.replace(/\s+/g, '');
  const mime = photo?.getChildText('TYPE')?.trim() || 'image/png';
  let avatar: Attachment | undefined;
  if (b64 && b64.length <= (MAX_AVATAR_BYTES * 4) / 3 + 4 && mime.startsWith('image/')) {
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    avatar = { kind: 'image', name: 'avatar', mime, size: bytes.length, source: { kind: 'bytes', bytes } };
  }
  return { ...(name && { name }), ...(avatar && { avatar }) };
}

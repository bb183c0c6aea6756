/** Matrix users' profiles as vCards (XEP-0054): their display name, and their avatar when it is small enough for one stanza. */
import xml, { type Element } from '@xmpp/xml';
import type { EventSink } from '../../core/adapter.js';

export const NS_VCARD = 'vcard-temp';
/** A vCard travels whole in one stanza: larger avatars are left out (servers cap stanza sizes). */
export const MAX_AVATAR_BYTES = 96 * 1024;

/** The vCard of a Matrix user, or undefined when the bridge cannot look profiles up. */
export async function matrixVcard(sink: EventSink, matrixId: string): Promise<Element | undefined> {
  if (!sink.matrixProfile) return undefined;
  const profile = await sink.matrixProfile(matrixId, MAX_AVATAR_BYTES);
  const name = profile.name ?? matrixId;
  return xml('vCard', { xmlns: NS_VCARD },
    xml('FN', {}, name),
    xml('NICKNAME', {}, name),
    profile.avatar && xml('PHOTO', {}, xml('TYPE', {}, profile.avatar.mime), xml('BINVAL', {}, Buffer.from(profile.avatar.bytes).toString('base64'))));
}

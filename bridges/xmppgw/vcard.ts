/**
 * Matrix users' profiles as XMPP shows people: a vCard (XEP-0054: display name, avatar),
 * the avatar's hash in presence (XEP-0153, so clients know when to fetch it) and the
 * avatar as PEP nodes (XEP-0084: metadata and data), read at the user's address. Avatars
 * larger than one stanza can carry are left out. Profiles are cached for a minute.
 */
import { createHash } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import type { EventSink } from '../../core/adapter.js';

export const NS_VCARD = 'vcard-temp';
const NS_VCARD_UPDATE = 'vcard-temp:x:update';
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_AVATAR_METADATA = 'urn:xmpp:avatar:metadata';
const NS_AVATAR_DATA = 'urn:xmpp:avatar:data';
/** A vCard travels whole in one stanza: larger avatars are left out (servers cap stanza sizes). */
export const MAX_AVATAR_BYTES = 96 * 1024;
const TTL_MS = 60_000;
const MAX_CACHED = 1_000;

interface Profile {
  name: string;
  avatar?: { bytes: Uint8Array; mime: string; sha1: string };
}

export class Profiles {
  private readonly cache = new Map<string, { at: number; profile: Promise<Profile> }>();

  constructor(private readonly sink: EventSink) {}

  /** A Matrix user's profile; rejects when the homeserver cannot be asked. */
  get(matrixId: string): Promise<Profile> {
    const hit = this.cache.get(matrixId);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.profile;
    const profile = this.load(matrixId);
    this.cache.set(matrixId, { at: Date.now(), profile });
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    profile.catch(() => this.cache.delete(matrixId));
    return profile;
  }

  private async load(matrixId: string): Promise<Profile> {
    if (!this.sink.matrixProfile) return { name: matrixId };
    const p = await this.sink.matrixProfile(matrixId, MAX_AVATAR_BYTES);
    const avatar = p.avatar && { ...p.avatar, sha1: createHash('sha1').update(p.avatar.bytes).digest('hex') };
    return { name: p.name ?? matrixId, ...(avatar && { avatar }) };
  }

  async vcard(matrixId: string): Promise<Element> {
    const { name, avatar } = await this.get(matrixId);
    return xml('vCard', { xmlns: NS_VCARD },
      xml('FN', {}, name),
      xml('NICKNAME', {}, name),
      avatar && xml('PHOTO', {}, xml('TYPE', {}, avatar.mime), xml('BINVAL', {}, Buffer.from(avatar.bytes).toString('base64'))));
  }

  /** The XEP-0153 element for an available presence: the avatar's hash, empty for none; nothing when the profile cannot be read now. */
  async photoUpdate(matrixId: string): Promise<Element | undefined> {
    const profile = await this.get(matrixId).catch(() => undefined);
    return profile && xml('x', { xmlns: NS_VCARD_UPDATE }, xml('photo', {}, profile.avatar?.sha1 ?? ''));
  }

  /** The answer to a PEP items query for the avatar nodes (XEP-0084), or undefined for another node. */
  async avatarItems(matrixId: string, node: string | undefined): Promise<Element | undefined> {
    if (node !== NS_AVATAR_METADATA && node !== NS_AVATAR_DATA) return undefined;
    const { avatar } = await this.get(matrixId);
    const item = node === NS_AVATAR_METADATA
      ? xml('item', { id: avatar?.sha1 ?? 'none' }, xml('metadata', { xmlns: NS_AVATAR_METADATA }, avatar && xml('info', { id: avatar.sha1, bytes: String(avatar.bytes.length), type: avatar.mime })))
      : avatar && xml('item', { id: avatar.sha1 }, xml('data', { xmlns: NS_AVATAR_DATA }, Buffer.from(avatar.bytes).toString('base64')));
    return xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node }, item));
  }
}

/**
 * Phone numbers in remote identifiers. Closed apps made the public numbering plan their
 * user ids, and a gateway is where those numbers would leak further: into Matrix IDs that
 * federate to every server of a room, forever. So a remote user whose id holds a phone
 * number gets a ghost whose localpart is a keyed pseudonym (HMAC of the network and id
 * with a bridge secret), and every name, topic and bridge-state text the bridge writes on
 * Matrix shows numbers masked (`+49 151 ••• 78`), unless the network's
 * `identifiers.phone` says `visible`.
 *
 * A number is found as E.164 (`+` and 7 to 15 digits) anywhere in an id, or, where the
 * network names the country its ids come from (`identifiers.region`), as a national
 * number in the id's local part. Parsing is bounded (ids past MAX_SCAN characters are
 * looked at up to there) and linear.
 */
import { createHmac } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js';
import metadata from 'libphonenumber-js/metadata.min.json';
import type { NetworkId } from '../ids.js';

/** How a network shows people known by a phone number (`identifiers.phone`). */
export type PhonePolicy = 'pseudonym' | 'masked' | 'visible';

export interface NetworkIdentifiers {
  phone: PhonePolicy;
  /** ISO 3166 region whose national numbers this network's ids may be. */
  region?: string;
}

/** The part of a text looked at for numbers. */
const MAX_SCAN = 512;
/** `+` and a run of digits, optionally grouped as people write them. */
const E164_CANDIDATE = /\+[0-9][0-9 .()-]{5,22}[0-9]/g;
/** Marks a pseudonymous localpart: escapeLocalpart writes `=` only before two hex digits, never `=p`. */
export const PSEUDONYM_MARK = '=p';
const MASK = '•••';

export interface FoundNumber {
  /** The number in E.164 form: kept only where the bridge must (it is the remote id). */
  e164: string;
  /** ISO 3166 region, or the main region of its calling code when the number fits none (+1 555…: US). */
  region: string;
}

/** The first phone number in a text, if any. */
export function findPhoneNumber(text: string, region?: string): FoundNumber | undefined {
  if (!region && !text.includes('+')) return undefined; // the common case, on every event: no E.164 number can be there
  const parsed = firstNumber(text.slice(0, MAX_SCAN), region);
  return parsed ? { e164: parsed.number, region: regionOf(parsed) } : undefined;
}

function firstNumber(text: string, region?: string): PhoneNumber | undefined {
  for (const m of text.matchAll(E164_CANDIDATE)) {
    const p = parsePhoneNumberFromString(m[0]);
    if (p?.isPossible()) return p;
  }
  if (!region) return undefined;
  const local = text.split('@', 1)[0]!;
  if (!/^[0-9 .()+-]{6,24}$/.test(local)) return undefined;
  const p = parsePhoneNumberFromString(local, region as CountryCode);
  return p?.isValid() ? p : undefined;
}

function regionOf(p: PhoneNumber): string {
  const main = (metadata as { country_calling_codes: Record<string, string[]> }).country_calling_codes[p.countryCallingCode]?.[0];
  return p.country ?? main ?? 'ZZ';
}

/** `+49 151 ••• 78`: the calling code, the first three national digits, the last two. */
export function maskNumber(e164: string): string {
  const p = parsePhoneNumberFromString(e164);
  if (!p) return MASK;
  const national = p.nationalNumber;
  return `+${p.countryCallingCode} ${national.slice(0, Math.min(3, national.length - 2))} ${MASK} ${national.slice(-2)}`;
}

/** Every phone number in a text masked (E.164 ones, and national ones for `region`). */
export function maskNumbers(text: string, region?: string): string {
  let out = text.replace(E164_CANDIDATE, (m) => (parsePhoneNumberFromString(m)?.isPossible() ? maskNumber(parsePhoneNumberFromString(m)!.number) : m));
  if (region) {
    // A national number only where the text (before an @) is one: an id, not any run of digits in a sentence.
    const local = out.split('@', 1)[0]!;
    const p = /^[0-9 .()-]{6,24}$/.test(local) ? parsePhoneNumberFromString(local, region as CountryCode) : undefined;
    if (p?.isValid()) out = maskNumber(p.number) + out.slice(local.length);
  }
  return out;
}

/** The rules for one bridge: which networks mask, and the secret behind pseudonyms. */
export class PhoneIdentifiers {
  constructor(
    private readonly secret: string,
    private readonly policies: ReadonlyMap<NetworkId, NetworkIdentifiers>,
  ) {}

  policy(network: NetworkId): NetworkIdentifiers {
    return this.policies.get(network) ?? { phone: 'masked' };
  }

  /** The number a remote id holds, where the network hides numbers; undefined otherwise. */
  hiddenNumberIn(network: NetworkId, remoteId: string): FoundNumber | undefined {
    const policy = this.policy(network);
    return policy.phone === 'visible' ? undefined : findPhoneNumber(remoteId, policy.region);
  }

  /**
   * The localpart part standing for a remote id that holds a number: stable for the
   * network and id, unguessable without the secret. `extra` lengthens it after a collision.
   */
  pseudonym(network: NetworkId, remoteId: string, extra = 0): string {
    const mac = createHmac('sha256', this.secret).update(`${network}\u0000${remoteId}`).digest();
    return `${PSEUDONYM_MARK}${base32(mac).slice(0, 24 + extra)}`;
  }

  /** Text the bridge writes on Matrix for this network (a name, a topic): numbers masked unless visible. */
  mask(network: NetworkId, text: string): string {
    const policy = this.policy(network);
    return policy.phone === 'visible' ? text : maskNumbers(text, policy.region);
  }

  /** A ghost's display name when the network gave none, for an id holding a number. */
  fallbackName(network: NetworkId, remoteId: string): string | undefined {
    const found = this.hiddenNumberIn(network, remoteId);
    if (!found) return undefined;
    return this.policy(network).phone === 'pseudonym' ? `${network} user ${this.pseudonym(network, remoteId).slice(PSEUDONYM_MARK.length, PSEUDONYM_MARK.length + 6)}` : maskNumber(found.e164);
  }
}

/** RFC 4648 base32, lower case, no padding: localpart-safe. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

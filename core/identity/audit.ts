/**
 * The ledger of phone numbers the bridge holds: how many, from which countries, on which
 * networks, kept where, since when. Never the numbers themselves. Numbers are found in
 * every stored remote identifier (identity/phone.ts), whatever a network's display
 * policy: a number shown on Matrix is still a number the bridge keeps.
 */
import type { Store } from '../store/store.js';
import { findPhoneNumber, type PhoneIdentifiers } from './phone.js';

export interface PhoneAudit {
  /** Distinct numbers held. */
  numbers: number;
  /** Distinct numbers per ISO 3166 region (of the number's calling code where it fits no region). */
  byRegion: Record<string, number>;
  /** Distinct numbers per network. */
  byNetwork: Record<string, number>;
  /** Stored entries holding a number, per place: ghost mappings, people's logins, portals (direct chats). */
  byPlace: Record<string, number>;
  /** First-seen dates (ISO 8601) of the oldest and newest entry with a known date. */
  oldest?: string;
  newest?: string;
  /** How each place keeps the number, and why. */
  kept: Record<string, string>;
}

const KEPT = {
  ghost: 'reversible: the remote id is how the bridge addresses the person on their network; the Matrix side sees only a pseudonym',
  login: 'reversible: a person\'s own account on the network, deleted with their logout',
  portal: 'reversible: the remote chat id of a direct chat, needed to send into it',
};

export function phoneAudit(store: Store, phones: PhoneIdentifiers): PhoneAudit {
  const distinct = new Map<string, { region: string; networks: Set<string> }>();
  const byPlace: Record<string, number> = {};
  let oldest: number | undefined;
  let newest: number | undefined;
  for (const entry of store.storedIdentifiers()) {
    const found = findPhoneNumber(entry.id, phones.policy(entry.network).region);
    if (!found) continue;
    byPlace[entry.kept] = (byPlace[entry.kept] ?? 0) + 1;
    const seen = distinct.get(found.e164) ?? { region: found.region, networks: new Set<string>() };
    seen.networks.add(entry.network);
    distinct.set(found.e164, seen);
    if (entry.since !== undefined) {
      oldest = Math.min(oldest ?? entry.since, entry.since);
      newest = Math.max(newest ?? entry.since, entry.since);
    }
  }
  const byRegion: Record<string, number> = {};
  const byNetwork: Record<string, number> = {};
  for (const { region, networks } of distinct.values()) {
    byRegion[region] = (byRegion[region] ?? 0) + 1;
    for (const n of networks) byNetwork[n] = (byNetwork[n] ?? 0) + 1;
  }
  return {
    numbers: distinct.size,
    byRegion: sorted(byRegion),
    byNetwork: sorted(byNetwork),
    byPlace: sorted(byPlace),
    ...(oldest !== undefined && { oldest: new Date(oldest).toISOString() }),
    ...(newest !== undefined && { newest: new Date(newest).toISOString() }),
    kept: Object.fromEntries(Object.keys(byPlace).map((k) => [k, KEPT[k as keyof typeof KEPT]])),
  };
}

/** The audit as lines for people. */
export function auditText(a: PhoneAudit): string {
  if (!a.numbers) return 'The bridge holds no phone numbers.';
  const list = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `The bridge holds ${a.numbers} phone number${a.numbers === 1 ? '' : 's'}.`,
    `By country: ${list(a.byRegion)}.`,
    `By network: ${list(a.byNetwork)}.`,
    `Where kept: ${list(a.byPlace)}.`,
    ...(a.oldest ? [`First seen: oldest ${a.oldest}, newest ${a.newest}.`] : []),
    ...Object.entries(a.kept).map(([k, why]) => `${k}: ${why}.`),
  ].join('\n');
}

function sorted(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}

import { createHash } from 'node:crypto';

/** Content key carrying the bridge's transaction id of an event it sent (core/matrix/appservice.ts). */
export const TXN_KEY = 'org.switchboard.txn';

/**
 * Deterministic Matrix transaction id for one thing the bridge sends: the same remote
 * event replayed after a crash gets the same id, and the homeserver drops the repeat.
 */
export function txnId(...parts: (string | number)[]): string {
  return 'sb' + hash(parts.join('\u0000')).slice(0, 32);
}

/**
 * `txnId` for what a portal sends, tagged with the portal. The id travels in the
 * event's content (core/matrix/appservice.ts), so when the homeserver pushes a ghost's
 * event back, the tag tells which of the room's chats it came from, even before the
 * send has returned and been recorded (two chats of one network in a gateway room).
 */
export function portalTxnId(portalKey: string, ...parts: (string | number)[]): string {
  return `sp${portalTag(portalKey)}.${txnId(portalKey, ...parts).slice(2)}`;
}

/** The portal tag of a transaction id made by `portalTxnId`, if it is one. */
export function txnPortalTag(txn: unknown): string | undefined {
  if (typeof txn !== 'string' || !txn.startsWith('sp')) return undefined;
  const dot = txn.indexOf('.');
  return dot > 2 ? txn.slice(2, dot) : undefined;
}

/** Every event a portal sends asks for its tag: hashed once per portal (a bounded cache). */
const tags = new Map<string, string>();
export function portalTag(portalKey: string): string {
  let tag = tags.get(portalKey);
  if (tag === undefined) {
    tag = hash(portalKey).slice(0, 10);
    if (tags.size >= 10_000) tags.clear();
    tags.set(portalKey, tag);
  }
  return tag;
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

/** How remote events are stored in the inbox (JSON, with attachment bytes as base64), and the keys that deduplicate them. */
import { createHash, randomUUID } from 'node:crypto';
import type { RemoteEvent } from '../events.js';
import { parseWithBytes, stringifyWithBytes } from '../json-bytes.js';

export function encodePayload(ev: RemoteEvent): string {
  return stringifyWithBytes(ev);
}

export function decodePayload(s: string): RemoteEvent {
  return parseWithBytes(s) as RemoteEvent;
}

/**
 * The inbox dedup key of a remote event. Messages and identified edits dedup by their
 * remote id; other kinds are idempotent by the state they change (a second identical
 * delete finds nothing to delete), so each delivery gets a key of its own.
 */
export function remoteDedupKey(ev: RemoteEvent): string {
  if (ev.type === 'message') return `msg:${ev.id}`;
  if (ev.type === 'edit' && ev.id) return `edit:${ev.id}`;
  return `${ev.type}:${randomUUID()}`;
}

/** What a transaction carried, to tell a repeat from a reused id: its event ids, else its ephemeral events. */
export function transactionDigest(events: unknown[], ephemeral: unknown[]): string {
  const ids = events.map((e) => (e && typeof e === 'object' && typeof (e as { event_id?: unknown }).event_id === 'string' ? (e as { event_id: string }).event_id : JSON.stringify(e)));
  return createHash('sha256').update(ids.length ? ids.join('\n') : JSON.stringify(ephemeral)).digest('base64url');
}

/**
 * The events just before one in its room, as gap repair needs them (pipeline/gap-repair.ts):
 * every event the room orders before it, those written concurrently with it included.
 *
 * `/context` alone is not enough: Synapse orders a room by depth, then stream position, and
 * its `/context` window leaves out the events of the anchor's own depth on both sides. Two
 * events written at the same moment (a person's message and a ghost's, say) share a depth,
 * and the one a homeserver failed to send is often exactly that one (seen in the PostgreSQL
 * fault suite: the lost message was the anchor's sibling, and was bridged 20 messages late).
 * Reading forward from where the `/context` window starts shows them, in order.
 */
import type { MatrixEventId, MatrixRoomId } from '../ids.js';

/** Events written concurrently with the anchor (same depth) read past the `/context` window. */
const CONCURRENT_LOOK = 20;

/** A GET on the client-server API, answered with its JSON body. */
export type ClientGet = (path: string, query: Record<string, string | number>) => Promise<unknown>;

/** Up to about `limit` events before `eventId` in the room's order, oldest first. */
export async function eventsBeforeAnchor(get: ClientGet, roomId: MatrixRoomId, eventId: MatrixEventId, limit: number): Promise<Record<string, unknown>[]> {
  const room = encodeURIComponent(roomId);
  const around = (await get(`/_matrix/client/v3/rooms/${room}/context/${encodeURIComponent(eventId)}`, { limit })) as { start?: unknown; events_before?: unknown };
  const before = Array.isArray(around?.events_before) ? (around.events_before as Record<string, unknown>[]).slice().reverse() : [];
  if (typeof around?.start !== 'string') return before;
  const page = (await get(`/_matrix/client/v3/rooms/${room}/messages`, { dir: 'f', from: around.start, limit: before.length + CONCURRENT_LOOK })) as { chunk?: unknown };
  const events = Array.isArray(page?.chunk) ? (page.chunk as Record<string, unknown>[]) : [];
  const at = events.findIndex((e) => e?.event_id === eventId);
  // More concurrent events than the page holds: the /context window (never an event after the anchor).
  return at < 0 ? before : events.slice(0, at);
}

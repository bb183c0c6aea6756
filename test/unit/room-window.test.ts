/**
 * Gap repair's view of a room before an event (core/matrix/room-window.ts), against a fake
 * homeserver that orders a room as Synapse does (depth, then stream position) and answers
 * `/context` as Synapse 1.163 did in the PostgreSQL fault suite: events of the anchor's own
 * depth are in neither `events_before` nor `events_after`, while `/messages` forward from
 * the window's start has them in place.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventsBeforeAnchor, type ClientGet } from '../../core/matrix/room-window.js';
import type { MatrixEventId, MatrixRoomId } from '../../core/ids.js';

interface Ev { event_id: string; depth: number; stream: number }

/** The room of the fault suite's run: 215 (a person's) and the ghost's 167 written at one depth. */
const ROOM: Ev[] = [
  { event_id: '$213', depth: 311, stream: 780 },
  { event_id: '$214', depth: 312, stream: 785 },
  { event_id: '$ghost165', depth: 312, stream: 786 },
  { event_id: '$ghost166', depth: 313, stream: 788 },
  { event_id: '$215', depth: 314, stream: 789 },
  { event_id: '$ghost167', depth: 314, stream: 790 },
  { event_id: '$216', depth: 316, stream: 794 },
];

const cmp = (a: Ev, b: { depth: number; stream: number }) => a.depth - b.depth || a.stream - b.stream;

function synapseLike(room: Ev[], opts: { pageLimit?: number } = {}): ClientGet & { calls: string[] } {
  const calls: string[] = [];
  const get = async (path: string, query: Record<string, string | number>) => {
    calls.push(path);
    const context = /\/context\/(.+)$/.exec(path);
    if (context) {
      const anchor = room.find((e) => e.event_id === decodeURIComponent(context[1]!))!;
      const before = room.filter((e) => e.depth < anchor.depth).sort((a, b) => cmp(b, a)).slice(0, Number(query.limit) / 2);
      const oldest = before.at(-1)!;
      return { events_before: before, event: anchor, start: `t${oldest.depth}-${oldest.stream - 1}` };
    }
    const [depth, stream] = String(query.from).slice(1).split('-').map(Number) as [number, number];
    return { chunk: room.filter((e) => cmp(e, { depth, stream }) > 0).sort(cmp).slice(0, Math.min(Number(query.limit), opts.pageLimit ?? Infinity)) };
  };
  return Object.assign(get, { calls });
}

const ids = (events: Record<string, unknown>[]) => events.map((e) => e.event_id);
const room = '!r:test' as MatrixRoomId;

describe("the events before gap repair's anchor", () => {
  it('include the one written at the same depth as the anchor, in the room order (the fault suite lost it from /context)', async () => {
    const got = await eventsBeforeAnchor(synapseLike(ROOM), room, '$ghost167' as MatrixEventId, 20);
    assert.deepEqual(ids(got), ['$213', '$214', '$ghost165', '$ghost166', '$215']);
  });

  it('are never events after the anchor: when the page does not reach it, the /context window is used', async () => {
    const got = await eventsBeforeAnchor(synapseLike(ROOM, { pageLimit: 2 }), room, '$ghost167' as MatrixEventId, 20);
    assert.deepEqual(ids(got), ['$213', '$214', '$ghost165', '$ghost166']);
  });

  it('a homeserver answer without a window or a chunk gives what it can, never throws', async () => {
    assert.deepEqual(await eventsBeforeAnchor(async () => ({}), room, '$x' as MatrixEventId, 20), []);
    assert.deepEqual(await eventsBeforeAnchor(async (path) => (path.includes('/context/') ? { start: 't1-1', events_before: [{ event_id: '$a' }] } : { chunk: 'nope' }), room, '$x' as MatrixEventId, 20).then(ids), ['$a']);
  });
});

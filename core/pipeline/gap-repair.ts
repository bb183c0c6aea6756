/**
 * Events the homeserver never sent us. Synapse keeps the events it is about to push to an
 * appservice in memory, and loses them when it restarts at the wrong moment
 * (matrix-org/synapse#11637): the room has them, the bridge never hears of them. After a
 * sign that the homeserver was down or restarted (the bridge starting, an outage, its
 * transaction ids starting again), the first transaction that touches a portal room is
 * checked against the room's timeline just before it, and events the bridge never
 * recorded are put in front of it, so they are bridged late but in order.
 *
 * For a while after such a sign, more than the first transaction per room is checked:
 * Synapse's recovery from an appservice outage can itself leave one transaction unsent at
 * the moment it ends (a send that still saw the service marked down is stored for a
 * recoverer that has just finished; `_Recoverer.retry` → `on_recovered`). That transaction
 * took an id from Synapse's sequence (`create_appservice_txn`), so the next one we get does
 * not follow the previous by one: then every room is checked again at its next
 * transaction. A transaction that follows directly cannot come after a lost one, and is
 * not read for (a backlog that Synapse held as 10,000 one-event transactions cost 10,000
 * reads before: bench/backlog.ts). Ids that are not numbers are always taken as a jump.
 * The while lasts WATCH_MS, and longer as long as transactions still bring events that
 * waited (the homeserver is catching up).
 *
 * The room is read as it orders itself, with the events written concurrently with the
 * first event of the transaction (matrix/room-window.ts: Synapse's `/context` leaves those
 * out, and a lost event is often one of them).
 *
 * Only events the homeserver never delivered are missing. An event it delivered is never
 * bridged late, whatever the bridge decided about it then (a command, a message from
 * before the link, one refused by `relay off`): the engine records every delivery
 * (`Store.markDelivered`), and this looks only at events newer than that record keeps.
 */
import type { BridgeContext } from '../context.js';
import { matrixEventId, matrixRoomId, remoteUserId } from '../ids.js';

/** Room events the bridge carries to networks; only these are looked for. */
const CARRIED = new Set(['m.room.message', 'm.sticker', 'm.reaction', 'm.room.redaction', 'm.room.encrypted']);
/** How far back before a transaction's first event of a room to look. */
const LOOK_BACK = 20;
/** Homeserver and bridge clocks may differ by this much. */
const CLOCK_SLACK_MS = 2_000;
/** After a sign of trouble, every transaction is checked for this long. */
const WATCH_MS = 60_000;
/** An event older than this when it arrives was held back: the homeserver is still catching up. */
const LATE_MS = 5_000;
/** However long the catching up seems to last (a homeserver clock running behind ours looks like it), the watch ends by then. */
const MAX_WATCH_MS = 10 * 60_000;
/** How long deliveries are remembered; older events are never taken for skipped ones. */
export const DELIVERED_MEMORY_MS = 7 * 24 * 60 * 60_000;

type Ev = Record<string, unknown>;

export class GapRepair {
  private armed = false;
  private readonly checked = new Set<string>();
  private lastTxn: number | undefined;
  /** Until then every transaction is checked (see the file comment). */
  private watchUntil = 0;
  private armedAt = 0;

  constructor(private readonly ctx: BridgeContext, private readonly now: () => number = Date.now) {}

  /** The homeserver may have dropped events meant for us: check each room once more. */
  arm(reason: string): void {
    if (!this.armed) this.ctx.log.info({ reason }, 'checking portal rooms for events the homeserver did not send');
    this.armed = true;
    this.checked.clear();
    this.armedAt = this.now();
    this.watchUntil = this.armedAt + WATCH_MS;
  }

  /** The transaction's events, with any the homeserver skipped put in front of their room's first one. */
  async fill(txnId: string, events: unknown[]): Promise<unknown[]> {
    const n = Number(txnId);
    let follows = false;
    if (Number.isSafeInteger(n)) {
      if (this.lastTxn !== undefined && n < this.lastTxn) this.arm('transaction ids started again: the homeserver restarted');
      follows = this.lastTxn !== undefined && n === this.lastTxn + 1;
      this.lastTxn = n;
    }
    if (!this.armed) return events;
    const now = this.now();
    if (events.some((e) => typeof (e as Ev | null)?.origin_server_ts === 'number' && now - ((e as Ev).origin_server_ts as number) > LATE_MS)) {
      this.watchUntil = Math.min(this.armedAt + MAX_WATCH_MS, Math.max(this.watchUntil, now + WATCH_MS));
    }
    // Another transaction may have been created in between and never sent: every room again.
    if (now < this.watchUntil && !follows) this.checked.clear();
    const firsts = new Map<string, number>();
    events.forEach((e, i) => {
      const room = (e as Ev | null)?.room_id;
      if (typeof room === 'string' && typeof (e as Ev).event_id === 'string' && !firsts.has(room)) firsts.set(room, i);
    });
    const out = [...events];
    const inTxn = new Set(events.map((e) => (e as Ev | null)?.event_id));
    // From the last room to the first, so inserting never moves a position still to come.
    for (const [room, index] of [...firsts].sort((a, b) => b[1] - a[1])) {
      if (this.checked.has(room)) continue;
      this.checked.add(room);
      const missing = await this.missingBefore(room, String((events[index] as Ev).event_id), inTxn);
      if (missing.length) out.splice(index, 0, ...missing);
    }
    return out;
  }

  private async missingBefore(room: string, anchor: string, inTxn: Set<unknown>): Promise<Ev[]> {
    const { store, matrix, naming, log } = this.ctx;
    const portals = store.portalsByRoom(matrixRoomId(room));
    // Nothing recorded from this room yet: nothing to compare with (older events predate the link).
    const since = Math.max(0, ...portals.map((p) => store.lastMatrixEventAt(p.portalKey) ?? 0));
    if (!since) return [];
    // Someone of ours who is in the room: the bot in linked rooms, the contact's ghost in a DM it opened.
    const dm = portals.find((p) => p.kind === 'dm');
    const reader = dm ? naming.ghostUserId(dm.network, remoteUserId(dm.chatId)) : naming.botUserId;
    let before: Ev[];
    try {
      before = await matrix.eventsBefore(matrixRoomId(room), matrixEventId(anchor), LOOK_BACK, reader);
    } catch (err) {
      log.warn({ roomId: room, err: String(err) }, 'could not read the room to look for skipped events');
      return [];
    }
    const known = (id: string) => store.wasDelivered(id) || portals.some((p) => store.matrixEventKnown(p.portalKey, id));
    const fromPerson = (e: Ev) => typeof e.event_id === 'string' && typeof e.sender === 'string' && !naming.isBridgeUser(e.sender);
    // The newest event in the window the bridge already had: whatever follows it in the
    // room's own order and is unknown is missing. The clock alone is not enough: the
    // homeserver may have held the event before a lost one through an outage, so the bridge
    // received it long after the lost one was written. Unknown events before it are taken
    // too when newer than the portal's last recorded event (late rather than lost).
    const lastKnown = before.findLastIndex((e) => fromPerson(e) && known(e.event_id as string));
    const missing = before.filter((e, i) =>
      fromPerson(e) && typeof e.type === 'string' && CARRIED.has(e.type) && !inTxn.has(e.event_id)
      && typeof e.origin_server_ts === 'number'
      && (i > lastKnown && lastKnown >= 0 || e.origin_server_ts >= since - CLOCK_SLACK_MS)
      && e.origin_server_ts >= this.now() - DELIVERED_MEMORY_MS + CLOCK_SLACK_MS
      && !known(e.event_id as string));
    if (missing.length) log.warn({ roomId: room, events: missing.map((e) => e.event_id) }, 'the homeserver never sent these events; bridging them now, in order');
    return missing.map((e) => ({ ...e, room_id: room }));
  }
}

/**
 * Telling a Matrix sender, in the room, what became of their event: never silent.
 * A notice for what people must read (not delivered; delayed), and, where configured,
 * a `com.beeper.message_send_status` event (the de-facto message-status event clients
 * such as Beeper show on the message itself) for pending, late and failed deliveries.
 */
import type { BridgeContext } from '../../context.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../../ids.js';
import { remoteUserId } from '../../ids.js';
import type { PortalRow } from '../../store/store.js';
import { txnId } from '../txn.js';

export const MESSAGE_STATUS_TYPE = 'com.beeper.message_send_status';
export type SendStatus = 'PENDING' | 'SUCCESS' | 'FAIL_RETRIABLE' | 'FAIL_PERMANENT';

/** Who speaks for the bridge in this portal's room: the bot is not in DM rooms, the contact's ghost is. */
export function speakerOf(ctx: BridgeContext, portal: PortalRow): MatrixUserId {
  return portal.kind === 'dm' ? ctx.naming.ghostUserId(portal.network, remoteUserId(portal.chatId)) : ctx.naming.botUserId;
}

async function notice(ctx: BridgeContext, portal: PortalRow & { roomId: MatrixRoomId }, eventId: MatrixEventId, sender: MatrixUserId, body: string, kind: string): Promise<void> {
  await ctx.matrix
    .sendEvent(portal.roomId, speakerOf(ctx, portal), 'm.room.message', {
      msgtype: 'm.notice',
      body,
      'm.mentions': { user_ids: [sender] },
      'm.relates_to': { 'm.in_reply_to': { event_id: eventId } },
    }, txnId(portal.portalKey, kind, eventId))
    .catch((err: unknown) => ctx.log.warn({ portal: portal.portalKey, eventId, err: String(err) }, `could not post the ${kind} notice`));
}

/** The message-status event for one Matrix event (MSC2346-style reference to it). */
export async function sendStatus(ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId, status: SendStatus, reason?: string): Promise<void> {
  if (!ctx.config.bridge.message_status_events || !portal.roomId) return;
  await ctx.matrix
    .sendEvent(portal.roomId, speakerOf(ctx, portal), MESSAGE_STATUS_TYPE, {
      network: portal.network,
      'm.relates_to': { rel_type: 'm.reference', event_id: eventId },
      status,
      ...(reason && { reason: status === 'FAIL_PERMANENT' ? 'm_event_not_handled' : 'm_retriable', message: reason }),
    }, txnId(portal.portalKey, 'status', status, eventId))
    .catch((err: unknown) => ctx.log.debug({ portal: portal.portalKey, eventId, err: String(err) }, 'could not send a message status'));
}

export async function notifyDeliveryFailure(ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId, sender: MatrixUserId, reason: string): Promise<void> {
  // A ghost's event relayed on in a gateway room: nobody on Matrix to tell, and no notices bouncing between networks.
  if (!portal.roomId || ctx.naming.isBridgeUser(sender)) {
    ctx.log.warn({ portal: portal.portalKey, eventId, sender, reason }, 'not delivered');
    return;
  }
  await sendStatus(ctx, portal, eventId, 'FAIL_PERMANENT', reason);
  await takeDelayedMarkOff(ctx, portal, eventId); // it will not go: the notice below says so
  if (ctx.config.bridge.delivery_errors) await notice(ctx, { ...portal, roomId: portal.roomId }, eventId, sender, `⚠ Not delivered to ${portal.network}: ${reason}`, 'fail');
}

/** The mark put on a message that waits for its network in a shared room. */
export const DELAYED_MARK = '⏳';

/** Per bridge: the "delayed" mark reactions still on messages, by the message's event id. */
const delayedMarks = new WeakMap<BridgeContext, Map<string, { roomId: MatrixRoomId; reaction: MatrixEventId }>>();

/**
 * The first event of an outage waits (the events behind it wait in order, untried), so
 * this is said once per outage, not once per message. In a DM, a notice says it; in a
 * shared room, where only the sender needs to know, a ⏳ reaction of the bot's on the
 * message (and the message-status event) says it, and goes once the message went.
 */
export async function notifyDelayed(ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId, sender: MatrixUserId, reason: string): Promise<void> {
  if (!portal.roomId || ctx.naming.isBridgeUser(sender)) return;
  await sendStatus(ctx, portal, eventId, 'PENDING', reason);
  if (!ctx.config.bridge.delivery_errors) return;
  if (portal.kind === 'dm') {
    await notice(ctx, { ...portal, roomId: portal.roomId }, eventId, sender, `⏳ Delayed: ${portal.network} cannot be reached right now (${reason}). Your messages here will be sent, in order, when it is back.`, 'delayed');
    return;
  }
  const roomId = portal.roomId;
  const reaction = await ctx.matrix
    .sendEvent(roomId, ctx.naming.botUserId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: DELAYED_MARK } }, txnId(portal.portalKey, 'delayed-mark', eventId))
    .catch((err: unknown) => {
      ctx.log.warn({ portal: portal.portalKey, eventId, err: String(err) }, 'could not mark a delayed message');
      return undefined;
    });
  if (!reaction) return;
  let marks = delayedMarks.get(ctx);
  if (!marks) delayedMarks.set(ctx, (marks = new Map()));
  marks.set(eventId, { roomId, reaction });
}

/** The message that waited went: its status says so, and its ⏳ mark is taken off. */
export async function notifyDeliveredLate(ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId): Promise<void> {
  await sendStatus(ctx, portal, eventId, 'SUCCESS');
  await takeDelayedMarkOff(ctx, portal, eventId);
}

/** The ⏳ mark of a message that no longer waits (it went, or it was given up on). */
async function takeDelayedMarkOff(ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId): Promise<void> {
  const mark = delayedMarks.get(ctx)?.get(eventId);
  if (!mark) return;
  delayedMarks.get(ctx)!.delete(eventId);
  await ctx.matrix.redact(mark.roomId, ctx.naming.botUserId, mark.reaction, txnId(portal.portalKey, 'delayed-unmark', eventId))
    .catch((err: unknown) => ctx.log.debug({ portal: portal.portalKey, eventId, err: String(err) }, 'could not take the delayed mark off'));
}

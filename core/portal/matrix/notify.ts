/** Telling a Matrix sender, in the room, that their event could not be delivered. Never silent. */
import type { BridgeContext } from '../../context.js';
import type { MatrixEventId, MatrixUserId } from '../../ids.js';
import { remoteUserId } from '../../ids.js';
import type { PortalRow } from '../../store/store.js';
import { txnId } from '../txn.js';

export async function notifyDeliveryFailure(ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId, sender: MatrixUserId, reason: string): Promise<void> {
  if (!ctx.config.bridge.delivery_errors || !portal.roomId) return;
  // The bot is not in DM rooms; the contact's ghost speaks there instead.
  const speaker = portal.kind === 'dm' ? ctx.naming.ghostUserId(portal.network, remoteUserId(portal.chatId)) : ctx.naming.botUserId;
  const body = `⚠ Not delivered to ${portal.network}: ${reason}`;
  await ctx.matrix
    .sendEvent(portal.roomId, speaker, 'm.room.message', {
      msgtype: 'm.notice',
      body,
      'm.mentions': { user_ids: [sender] },
      'm.relates_to': { 'm.in_reply_to': { event_id: eventId } },
    }, txnId(portal.portalKey, 'fail', eventId))
    .catch((err: unknown) => ctx.log.warn({ portal: portal.portalKey, eventId, err: String(err) }, 'could not post delivery failure notice'));
}

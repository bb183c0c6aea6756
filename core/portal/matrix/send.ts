/** Hand outbound events to a session and record what the network made of them. */
import type { OutboundEvent } from '../../events.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../../ids.js';
import type { BridgeContext } from '../../context.js';
import { failed, ok, TransientError, type Outcome } from '../../outcome.js';
import type { LiveLogin } from '../../sessions.js';
import type { PortalRow } from '../../store/store.js';
import { notifyDeliveryFailure } from './notify.js';

/**
 * Send events that all stem from one Matrix event, in order. Remote ids the network
 * returns are recorded at once (before the next send), so an echo of our own message
 * coming back from the network is recognised as ours.
 */
export async function sendOutbound(
  ctx: BridgeContext, portal: PortalRow, eventId: MatrixEventId, sender: MatrixUserId, live: LiveLogin, events: OutboundEvent[],
): Promise<Outcome> {
  let part = 0;
  for (const out of events) {
    let result;
    try {
      result = await live.session.send(out);
    } catch (err) {
      // The contract: send rejects only for transient failures; retry later.
      throw new TransientError(`${portal.network} send failed: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (result.status !== 'sent') {
      await notifyDeliveryFailure(ctx, portal, eventId, sender, result.reason);
      return failed(`${result.status}: ${result.reason}`);
    }
    if (result.remoteId && out.type === 'message') {
      ctx.store.addMessagePart(portal.portalKey, { remoteId: result.remoteId, part: part++, roomId: portal.roomId as MatrixRoomId, eventId, sender });
    }
  }
  return ok();
}

/** Hand outbound events to a session and record what the network made of them. */
import type { Delivery } from '../../adapter.js';
import type { Attempt } from '../../pipeline/inbox-runner.js';
import type { OutboundEvent } from '../../events.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../../ids.js';
import type { BridgeContext } from '../../context.js';
import { failed, ok, TransientError, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { txnId } from '../txn.js';
import { notifyDeliveryFailure } from './notify.js';
import { wellFormed } from '../../convert/unicode.js';

/** The Matrix event the outbound events stem from. */
export interface Origin {
  eventId: MatrixEventId;
  sender: MatrixUserId;
  attempt: Attempt;
}

/**
 * Send events that all stem from one Matrix event, in order. Remote ids the network
 * returns are recorded at once (before the next send), so an echo of our own message
 * coming back from the network is recognised as ours, and a replay after a crash skips
 * the parts that were recorded. Each send carries a `Delivery` whose key is the same on
 * every attempt, so the adapter can recognise a part that went out but was not recorded.
 */
export async function sendOutbound(ctx: BridgeContext, portal: PortalRow, origin: Origin, live: LiveLogin, events: OutboundEvent[]): Promise<Outcome> {
  const { eventId, sender, attempt } = origin;
  const recorded = attempt.previous ? new Set(ctx.store.partsByEvent(portal.portalKey, eventId).map((p) => p.part)) : new Set<number>();
  let part = 0;
  for (const [index, out] of events.entries()) {
    if (out.type === 'message' && recorded.has(part)) {
      part++;
      continue;
    }
    const delivery: Delivery = { key: txnId(portal.portalKey, eventId, index), maybeSent: attempt.previous > 0, since: attempt.since };
    let result;
    try {
      // The remote-bound boundary: a converter's cut never puts a lone surrogate into a network's stream.
      result = await live.session.send(wellFormed(out), delivery);
    } catch (err) {
      // The contract: send rejects only for transient failures; retry later. While the login
      // is not connected that is an outage (wait as long as it takes), else it counts
      // towards parking the event.
      // The adapter may know better (a flood wait, its network down): keep what it said.
      const said = err instanceof TransientError ? err : undefined;
      const outage = live.state.state !== 'connected' || said?.outage === true;
      throw new TransientError(`${portal.network} send failed: ${(err as Error).message}`, said?.retryAfterMs, { cause: err, outage });
    }
    if (result.status !== 'sent') {
      await notifyDeliveryFailure(ctx, portal, eventId, sender, result.reason);
      return failed(`${result.status}: ${result.reason}`);
    }
    if (result.remoteId && out.type === 'message') {
      ctx.store.addMessagePart(portal.portalKey, { remoteId: result.remoteId, part: part++, roomId: portal.roomId as MatrixRoomId, eventId, sender });
      ctx.ownSends.sent(portal.portalKey, result.remoteId);
    }
  }
  return ok();
}

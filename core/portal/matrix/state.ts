/** Matrix room state changes (name, topic) -> remote chat info, where the network allows it. */
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { MatrixUserId } from '../../ids.js';
import type { BridgeContext } from '../../context.js';
import { ignored, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';
import { routeFor } from './route.js';
import type { Attempt } from '../../pipeline/inbox-runner.js';
import { sendOutbound } from './send.js';
import type { MatrixEventId } from '../../ids.js';

export async function matrixRoomInfo(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent, attempt: Attempt): Promise<Outcome> {
  const isName = ev.type === 'm.room.name';
  const value = ev.content[isName ? 'name' : 'topic'];
  if (typeof value !== 'string') return ignored('malformed state event');
  if ((isName ? portal.name : portal.topic) === value) return ignored('no change (our own echo)');
  const remember = () => {
    ctx.store.updatePortal(portal.portalKey, isName ? { name: value } : { topic: value });
    Object.assign(portal, isName ? { name: value } : { topic: value });
  };
  const caps = ctx.sessions.capabilities(portal.network);
  const sender = ev.sender as MatrixUserId;
  const r = caps && (isName ? caps.chatInfo.name : caps.chatInfo.topic) ? routeFor(ctx, portal, ev) : undefined;
  if (!r?.ok) {
    remember();
    return ignored(r ? r.reason : `${portal.network} chats cannot change this`);
  }
  const outcome = await sendOutbound(ctx, portal, { eventId: ev.event_id as MatrixEventId, sender, attempt }, r.live, [
    { chat: portal.chatId, type: 'chat-info', ...(isName ? { name: value } : { topic: value }), ...(r.relayedFor && { relayedFor: r.relayedFor }) },
  ]);
  // Only now: a crash before the send must replay it, not take it for our own echo.
  remember();
  return outcome;
}

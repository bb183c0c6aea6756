/** Matrix room state changes (name, topic) -> remote chat info, where the network allows it. */
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { MatrixUserId } from '../../ids.js';
import type { BridgeContext } from '../../context.js';
import { ignored, type Outcome } from '../../outcome.js';
import type { PortalRow } from '../../store/store.js';
import { routeFor } from './route.js';
import { sendOutbound } from './send.js';
import type { MatrixEventId } from '../../ids.js';

export async function matrixRoomInfo(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Promise<Outcome> {
  const isName = ev.type === 'm.room.name';
  const value = ev.content[isName ? 'name' : 'topic'];
  if (typeof value !== 'string') return ignored('malformed state event');
  if ((isName ? portal.name : portal.topic) === value) return ignored('no change (our own echo)');
  ctx.store.updatePortal(portal.portalKey, isName ? { name: value } : { topic: value });
  Object.assign(portal, isName ? { name: value } : { topic: value });
  const caps = ctx.sessions.capabilities(portal.network);
  if (!caps || !(isName ? caps.chatInfo.name : caps.chatInfo.topic)) return ignored(`${portal.network} chats cannot change this`);
  const sender = ev.sender as MatrixUserId;
  const r = routeFor(ctx, portal, sender, ctx.rooms.displayName(portal.roomId!, sender));
  if (!r.ok) return ignored(r.reason);
  return sendOutbound(ctx, portal, ev.event_id as MatrixEventId, sender, r.live, [
    { chat: portal.chatId, type: 'chat-info', ...(isName ? { name: value } : { topic: value }) },
  ]);
}

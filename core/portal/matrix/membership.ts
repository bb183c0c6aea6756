/**
 * A Matrix member joining, renamed or leaving, for networks that show a room's members as
 * themselves (a gateway's hosted rooms, `speaksAs`): their relay is told, so the member's
 * occupant comes, changes its name or goes. Invites and knocks are not membership yet.
 */
import type { BridgeContext } from '../../context.js';
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import { matrixRoomId, matrixUserId, type MatrixEventId, type MatrixUserId } from '../../ids.js';
import type { Attempt } from '../../pipeline/inbox-runner.js';
import { ignored, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';
import { sendOutbound } from './send.js';

export async function matrixMembership(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent, attempt: Attempt): Promise<Outcome> {
  if (!ctx.sessions.capabilities(portal.network)?.speaksAs || typeof ev.state_key !== 'string') return ignored('members are not shown on this network');
  const membership = (ev.content as { membership?: unknown }).membership;
  const change = membership === 'join' ? 'join' : membership === 'leave' || membership === 'ban' ? 'leave' : undefined;
  if (!change) return ignored(`membership ${String(membership)} is not shown`);
  const relay = ctx.sessions.relay(portal.network);
  if (!relay) return ignored(`${portal.network} has no relay`);
  const member = matrixUserId(ev.state_key);
  const displayName = ctx.rooms.displayName(matrixRoomId(ev.room_id), member);
  return sendOutbound(ctx, portal, { eventId: ev.event_id as MatrixEventId, sender: ev.sender as MatrixUserId, attempt }, relay, [
    { chat: portal.chatId, type: 'member', change, relayedFor: { displayName, matrixId: member } },
  ]);
}

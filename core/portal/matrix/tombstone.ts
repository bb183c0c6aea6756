/**
 * A room upgrade (`m.room.tombstone`) moves the portal to the replacement room, but
 * only when that room's `m.room.create` names this room as its predecessor: anyone
 * who may send a tombstone could otherwise point a portal at a room they control.
 */
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { matrixRoomId, type MatrixRoomId } from '../../ids.js';
import { failed, ignored, ok, type Outcome } from '../../outcome.js';
import type { PortalRow } from '../../store/store.js';

export async function matrixTombstone(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Promise<Outcome> {
  const replacement = ev.content.replacement_room;
  if (typeof replacement !== 'string' || !replacement.startsWith('!')) return ignored('tombstone without a replacement room');
  const oldRoom = ev.room_id as MatrixRoomId;
  if (portal.roomId !== oldRoom) return ignored('portal is not in this room any more');
  const newRoom = matrixRoomId(replacement);
  const bot = ctx.naming.botUserId;
  try {
    await ctx.matrix.join(newRoom, bot);
  } catch (err) {
    return failed(`could not join the replacement room ${newRoom}: ${(err as Error).message}`);
  }
  const create = await ctx.matrix.roomState(newRoom, 'm.room.create', '');
  const predecessor = (create?.predecessor as { room_id?: unknown } | undefined)?.room_id;
  if (predecessor !== oldRoom) {
    ctx.log.warn({ portal: portal.portalKey, oldRoom, newRoom, predecessor }, 'tombstone refused: the new room does not name this room as its predecessor');
    await ctx.matrix.leave(newRoom, bot).catch(() => undefined);
    return failed(`replacement room ${newRoom} does not name ${oldRoom} as its predecessor`);
  }
  ctx.store.updatePortal(portal.portalKey, { roomId: newRoom });
  portal.roomId = newRoom;
  ctx.log.info({ portal: portal.portalKey, oldRoom, newRoom }, 'portal moved to the upgraded room');
  return ok(`moved to ${newRoom}`);
}

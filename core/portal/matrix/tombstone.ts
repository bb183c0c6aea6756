/**
 * A room upgrade (`m.room.tombstone`) moves the portal to the replacement room, but
 * only when it was sent by someone who could link the room (a room admin, power 100,
 * or a bridge admin), and the replacement's `m.room.create` names this room as its
 * predecessor. The predecessor alone proves nothing: whoever creates the new room
 * writes it, and a moderator (power 50 may send tombstones in default power levels)
 * could otherwise take the remote chat into a room she controls.
 */
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { matrixRoomId, matrixUserId, type MatrixRoomId } from '../../ids.js';
import { permissionOf } from '../../config.js';
import { LinkRefused, requireRoomAdmin } from '../../linking.js';
import { failed, ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';

export async function matrixTombstone(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Promise<Outcome> {
  const replacement = ev.content.replacement_room;
  if (typeof replacement !== 'string' || !replacement.startsWith('!')) return ignored('tombstone without a replacement room');
  const oldRoom = ev.room_id as MatrixRoomId;
  if (portal.roomId !== oldRoom) return ignored('portal is not in this room any more');
  const sender = matrixUserId(ev.sender);
  try {
    await requireRoomAdmin(ctx, { userId: sender, level: permissionOf(ctx.config, sender) }, oldRoom, "move this room's bridge");
  } catch (err) {
    if (!(err instanceof LinkRefused)) throw err;
    ctx.log.warn({ portal: portal.portalKey, oldRoom, sender, replacement }, 'tombstone refused: its sender may not link this room');
    return ignored(`tombstone from ${sender}, who may not link this room`);
  }
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

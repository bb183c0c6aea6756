/**
 * Portal events about encryption itself (docs/encryption.md): an encrypted event that
 * reached a portal unopened (the bridge's encryption is off) is announced to its sender,
 * and a DM portal where encryption was turned on gets the bot as a member, since the
 * bot's device is the bridge's only one and a ghost has none to receive keys with.
 */
import type { BridgeContext } from '../../context.js';
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../../ids.js';
import { failed, ok, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';
import { notifyDeliveryFailure, speakerOf } from './notify.js';

export const ENCRYPTION_OFF = 'this room is encrypted, and this bridge does not bridge encrypted rooms (its admin can turn on encryption.allow)';

export async function encryptedWithoutEncryption(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Promise<Outcome> {
  await notifyDeliveryFailure(ctx, portal, ev.event_id as MatrixEventId, ev.sender as MatrixUserId, ENCRYPTION_OFF);
  return failed(ENCRYPTION_OFF);
}

export async function encryptionTurnedOn(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Promise<Outcome> {
  if (!ctx.encryption || portal.kind !== 'dm' || portal.roomId !== ev.room_id) return ok('nothing to do');
  const roomId = ev.room_id as MatrixRoomId;
  const bot = ctx.naming.botUserId;
  // The contact's ghost is the DM's admin: it invites the bot, which joins.
  await ctx.matrix.invite(roomId, speakerOf(ctx, portal), bot).catch((err: unknown) => ctx.log.debug({ roomId, err: String(err) }, 'bot invite not needed'));
  await ctx.matrix.join(roomId, bot);
  ctx.log.info({ portal: portal.portalKey, roomId }, 'encryption turned on in a DM portal: the bot joined to receive its keys');
  return ok('bot joined');
}

/** Remote message -> Matrix: one event per part (text, then each attachment), sent as the sender's ghost. */
import type { RemoteEvent } from '../../events.js';
import type { MatrixEventId } from '../../ids.js';
import { textToMatrix, withReply } from '../../convert/to-matrix.js';
import type { MatrixMessageContent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../outcome.js';
import type { LiveLogin } from '../../sessions.js';
import type { PortalRow } from '../../store/store.js';
import { txnId } from '../txn.js';
import { attachmentContent } from './media.js';

type RemoteMessage = Extract<RemoteEvent, { type: 'message' }>;

export async function remoteMessage(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: RemoteMessage): Promise<Outcome> {
  const attachments = ev.content.attachments ?? [];
  const textPart = ev.content.text ? 1 : 0;
  const partCount = textPart + attachments.length;
  if (partCount === 0) return ignored('empty message');
  // Dedup and echo suppression in one: a remote id we already mapped (ours, echoed back, or a repeat).
  const done = new Set(ctx.store.messageParts(portal.portalKey, ev.id).map((p) => p.part));
  if (done.size >= partCount) return ignored('duplicate or echo of a bridged message');

  const roomId = await ctx.rooms.ensureRoom(portal, live);
  if (!roomId) return ignored('chat is not linked to a Matrix room');
  const sender = await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
  await ctx.rooms.ensureMember(roomId, sender);

  // Only a message of this very room can be quoted (after a room upgrade, older ones are in another room).
  const quoted = ev.replyTo ? ctx.store.messageParts(portal.portalKey, ev.replyTo)[0] : undefined;
  const replyTo: MatrixEventId | undefined = quoted?.roomId === roomId ? quoted.eventId : undefined;
  const ghostOf = (u: Parameters<typeof ctx.naming.ghostUserId>[1]) => ctx.naming.ghostUserId(portal.network, u);
  const maxBytes = ctx.config.bridge.max_media_bytes;

  for (let part = 0; part < partCount; part++) {
    if (done.has(part)) continue;
    let content: MatrixMessageContent =
      part < textPart ? textToMatrix(ev.content, ghostOf)! : await attachmentContent(attachments[part - textPart]!, live.session, ctx.matrix, maxBytes);
    if (part === 0 && replyTo) content = withReply(content, replyTo);
    const eventId = await ctx.matrix.sendEvent(roomId, sender, 'm.room.message', content, txnId(portal.portalKey, 'msg', ev.id, part));
    ctx.store.addMessagePart(portal.portalKey, { remoteId: ev.id, part, roomId, eventId, sender });
  }
  return ok();
}

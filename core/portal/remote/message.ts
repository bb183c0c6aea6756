/** Remote message -> Matrix: one event per part (text, then each attachment), sent as the sender's ghost. */
import type { RemoteEvent } from '../../events.js';
import { remoteUserId, type MatrixEventId } from '../../ids.js';
import { textToMatrix, withReply } from '../../convert/to-matrix.js';
import type { MatrixMessageContent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../outcome.js';
import type { LiveLogin } from '../../sessions.js';
import type { PortalRow } from '../../store/store.js';
import { portalTxnId } from '../txn.js';
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
  const self = ev.sender.isSelf === true;
  const sender = self ? await selfSender(ctx, portal, live) : await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
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
    if (self) content = asOwnNotice(content, live.network.adapter.displayName);
    const eventId = await ctx.matrix.sendEvent(roomId, sender, 'm.room.message', content, portalTxnId(portal.portalKey, 'msg', ev.id, part));
    ctx.store.addMessagePart(portal.portalKey, { remoteId: ev.id, part, roomId, eventId, sender });
  }
  return ok();
}

/**
 * Who shows a message the user sent from another client of theirs, without double
 * puppeting: the contact's ghost in a DM (the only bridge member there), the bot in a group.
 */
async function selfSender(ctx: BridgeContext, portal: PortalRow, live: LiveLogin) {
  if (portal.kind !== 'dm') return ctx.naming.botUserId;
  return ctx.ghosts.ensure(portal.network, { id: remoteUserId(portal.chatId) }, live.session);
}

/** A notice clearly marked as the user's own words, so it never reads as the sender's. */
function asOwnNotice(content: MatrixMessageContent, network: string): MatrixMessageContent {
  const label = `You, from another ${network} client: `;
  const out: MatrixMessageContent = { ...content, msgtype: 'm.notice', body: label + String(content.body ?? '') };
  if (typeof content.formatted_body === 'string') out.formatted_body = `<em>${label}</em>${content.formatted_body}`;
  return out;
}

/** Remote message -> Matrix: one event per part (text, then each attachment), sent as the sender's ghost. */
import type { RemoteEvent } from '../../events.js';
import { remoteUserId, type MatrixEventId } from '../../ids.js';
import { textToMatrix, withReply } from '../../convert/to-matrix.js';
import type { MatrixMessageContent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { portalTxnId } from '../txn.js';
import { attachmentContent } from './media.js';
import { encryptAttachment } from '../../crypto/attachments.js';
import { fitContent, OVERFLOW_FILE } from '../../convert/fit.js';
import { withContactCard } from '../../convert/contact.js';

type RemoteMessage = Extract<RemoteEvent, { type: 'message' }>;

export async function remoteMessage(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, message: RemoteMessage): Promise<Outcome> {
  // A contact card's number: masked by the network's rule, unless this room's admins chose `numbers visible`.
  const mask = (t: string) => (portal.showNumbers ? t : ctx.naming.publicText(portal.network, t));
  const ev = message.content.contact ? { ...message, content: withContactCard(message.content, mask) } : message;
  const attachments = ev.content.attachments ?? [];
  const textPart = ev.content.text ? 1 : 0;
  if (textPart + attachments.length === 0) return ignored('empty message');
  // Dedup and echo suppression in one: a remote id we already mapped (ours, echoed back, or a repeat).
  const done = new Set(ctx.store.messageParts(portal.portalKey, ev.id).map((p) => p.part));
  if (done.size >= textPart + attachments.length) return ignored('duplicate or echo of a bridged message');

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
  const decorate = (content: MatrixMessageContent, part: number) => {
    const replying = part === 0 && replyTo ? withReply(content, replyTo) : content;
    return self ? asOwnNotice(replying, live.network.adapter.displayName) : replying;
  };
  // A text too large for one Matrix event is cut to fit, and the whole text follows as a file (convert/fit.ts).
  const text = textPart ? fitContent(decorate(textToMatrix(ev.content, ghostOf)!, 0)) : undefined;
  const partCount = textPart + attachments.length + (text?.overflow !== undefined ? 1 : 0);
  // Files into an encrypted room are encrypted: the homeserver holds their ciphertext only.
  const sealed = partCount > textPart && ctx.encryption ? await ctx.encryption.roomEncrypted(roomId, sender) : false;

  for (let part = 0; part < partCount; part++) {
    if (done.has(part)) continue;
    let content: MatrixMessageContent;
    if (part < textPart) content = text!.content;
    else if (part < textPart + attachments.length) content = decorate(await attachmentContent(attachments[part - textPart]!, live.session, ctx.matrix, maxBytes, sealed), part);
    else content = await overflowFile(ctx, text!.overflow!, sealed);
    const eventId = await ctx.matrix.sendEvent(roomId, sender, 'm.room.message', content, portalTxnId(portal.portalKey, 'msg', ev.id, part));
    ctx.store.addMessagePart(portal.portalKey, { remoteId: ev.id, part, roomId, eventId, sender });
  }
  return ok();
}

/** The whole text of a message cut to fit, as a text file. */
async function overflowFile(ctx: BridgeContext, text: string, sealed: boolean): Promise<MatrixMessageContent> {
  const bytes = Buffer.from(text, 'utf8');
  const info = { mimetype: 'text/plain', size: bytes.length };
  if (sealed) {
    const { data, file } = await encryptAttachment(bytes);
    const mxc = await ctx.matrix.uploadMedia(data, 'application/octet-stream', OVERFLOW_FILE);
    return { msgtype: 'm.file', body: OVERFLOW_FILE, filename: OVERFLOW_FILE, file: { ...file, url: mxc }, info };
  }
  const mxc = await ctx.matrix.uploadMedia(bytes, 'text/plain; charset=utf-8', OVERFLOW_FILE);
  return { msgtype: 'm.file', body: OVERFLOW_FILE, filename: OVERFLOW_FILE, url: mxc, info };
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

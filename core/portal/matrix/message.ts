/** Matrix message (new, reply or edit) -> remote network, through the routed login, with fallbacks. */
import type { Attachment, MessageContent, OutboundEvent } from '../../events.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId, RemoteMessageId } from '../../ids.js';
import { fromMatrix, type MatrixMediaRef } from '../../convert/from-matrix.js';
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { failed, ignored, viaFallback, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';
import { attachmentProblem, editAsText, formatBytes, keepSupportedSpans, sendableKind, splitText } from './fallbacks.js';
import { notifyDeliveryFailure } from './notify.js';
import { applyRelayTemplate, routeFor } from './route.js';
import type { Attempt } from '../../pipeline/inbox-runner.js';
import { sendOutbound } from './send.js';
import { mayActOn } from '../authority.js';
import { capabilitiesOf } from '../../capabilities.js';
import { decryptAttachment } from '../../crypto/attachments.js';

export async function matrixMessage(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent, attempt: Attempt): Promise<Outcome> {
  const eventId = ev.event_id as MatrixEventId;
  const sender = ev.sender as MatrixUserId;
  const mention = (userId: string) => {
    const g = ctx.naming.parseGhost(userId);
    return g && g.network === portal.network ? g.remote : undefined;
  };
  const parsed = fromMatrix(ev.content, mention);
  if (!parsed) return ignored('not a message this bridge carries');

  const route = routeFor(ctx, portal, ev);
  if (!route.ok) {
    await notifyDeliveryFailure(ctx, portal, eventId, sender, route.reason);
    return failed(route.reason);
  }
  const caps = capabilitiesOf(route.live, Boolean(route.relayedFor));
  const template = route.live.network.section.relay_template;
  const relay = (c: MessageContent) => (route.relayedFor && !caps.speaksAs ? applyRelayTemplate(c, template, route.relayedFor) : c);
  const base = { chat: portal.chatId, ...(route.relayedFor && { relayedFor: route.relayedFor }) };

  if (parsed.replaces) {
    const target = ctx.store.messageByEvent(portal.portalKey, parsed.replaces);
    if (!target) return ignored('edit of a message that was never bridged');
    // Matrix lets anyone send an m.replace; clients show it only from the original sender, and so do we.
    if (!mayActOn('edit', target.sender, sender)) return ignored('edit by someone other than the original sender');
    if (target.roomId !== ev.room_id) return ignored('edit of a message in another room');
    const content = keepSupportedSpans(relay(parsed.content), caps);
    const outbound: OutboundEvent = caps.edits
      ? { ...base, type: 'edit', target: target.remoteId, content }
      : { ...base, type: 'message', content: editAsText(content) };
    const sent = await sendOutbound(ctx, portal, { eventId, sender, attempt }, route.live, [outbound]);
    return caps.edits ? sent : viaFallback(sent, 'edit as a new message');
  }

  let content = parsed.content;
  let fallback: string | undefined;
  if (mentionsRoom(ev.content) && (await mayNotifyRoom(ctx, ev.room_id as MatrixRoomId, sender))) content = { ...content, mentionsAll: true };
  if (parsed.media) {
    const media = await loadMedia(ctx, parsed.media, caps);
    if (typeof media === 'string') {
      // The file cannot go as a file: say what it was, with a link to it where the bridge serves links.
      const link = parsed.media.file ? undefined : ctx.mediaLinks?.link(parsed.media.mxc, parsed.media.name);
      const note = `[${parsed.media.kind}: ${parsed.media.name}${parsed.media.size ? `, ${formatBytes(parsed.media.size)}` : ''} — ${media}]${link ? ` ${link}` : ''}`;
      content = { ...content, text: content.text ? `${content.text}\n${note}` : note };
      fallback = link ? 'file as a link' : 'file as a note';
    } else {
      content = { ...content, attachments: [media] };
    }
  }
  // The quoted event must be one we bridged in this very room: our own record, not the client's claim.
  const quoted = parsed.replyTo && caps.replies ? ctx.store.messageByEvent(portal.portalKey, parsed.replyTo) : undefined;
  const replyTo: RemoteMessageId | undefined = quoted?.roomId === ev.room_id ? quoted.remoteId : undefined;
  const pieces = splitText(keepSupportedSpans(relay(content), caps), caps.maxTextLength);
  const outbound = pieces.map((c, i): OutboundEvent => ({ ...base, type: 'message', content: c, ...(i === 0 && replyTo && { replyTo }) }));
  const sent = await sendOutbound(ctx, portal, { eventId, sender, attempt }, route.live, outbound);
  return fallback ? viaFallback(sent, fallback) : sent;
}

/** Whether a message mentions the whole room (MSC3952 `m.mentions`, or the legacy `@room` in the body). */
function mentionsRoom(content: Record<string, unknown>): boolean {
  const mentions = content['m.mentions'] as { room?: unknown } | undefined;
  if (mentions && typeof mentions === 'object') return mentions.room === true;
  return typeof content.body === 'string' && /(^|\W)@room\b/.test(content.body);
}

/** The room's `notifications.room` power (default 50) decides who may notify everyone, on Matrix and beyond. */
async function mayNotifyRoom(ctx: BridgeContext, roomId: MatrixRoomId, sender: MatrixUserId): Promise<boolean> {
  try {
    const levels = await ctx.matrix.roomState(roomId, 'm.room.power_levels', '');
    const needed = (levels?.notifications as { room?: unknown } | undefined)?.room;
    return (await ctx.matrix.powerLevel(roomId, sender)) >= (typeof needed === 'number' ? needed : 50);
  } catch {
    return false; // unknown power: no mass mention
  }
}

async function loadMedia(ctx: BridgeContext, ref: MatrixMediaRef, caps: Parameters<typeof attachmentProblem>[1]): Promise<Attachment | string> {
  const kind = sendableKind(ref.kind, caps);
  const problem = attachmentProblem({ kind, size: ref.size }, caps);
  if (problem) return problem;
  const max = Math.min(caps.media[kind]!.maxBytes, ctx.config.bridge.max_media_bytes);
  let bytes: Uint8Array;
  try {
    ({ bytes } = await ctx.matrix.downloadMedia(ref.mxc, max));
  } catch (err) {
    return `could not be downloaded from Matrix (${(err as Error).message})`;
  }
  if (ref.file) {
    try {
      bytes = await decryptAttachment(bytes, ref.file);
    } catch (err) {
      return `could not be decrypted (${(err as Error).message})`;
    }
  }
  const att: Attachment = { kind, name: ref.name, mime: ref.mime, size: bytes.length, source: { kind: 'bytes', bytes } };
  // No link to an encrypted file: the media repository holds only its ciphertext.
  const link = ref.file ? undefined : ctx.mediaLinks?.link(ref.mxc, ref.name);
  if (link) att.link = link;
  if (ref.width) att.width = ref.width;
  if (ref.height) att.height = ref.height;
  if (ref.durationMs) att.durationMs = ref.durationMs;
  return att;
}

/** Matrix reactions and redactions -> remote reactions and deletions. */
import type { OutboundEvent } from '../../events.js';
import { matrixUserId, type MatrixEventId, type MatrixRoomId, type MatrixUserId, type RemoteMessageId } from '../../ids.js';
import { holdsRedactPower, mayActOn } from '../authority.js';
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { failed, ignored, viaFallback, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';
import { applyRelayTemplate, routeFor, type Route } from './route.js';
import { notifyDeliveryFailure } from './notify.js';
import { reactionAsText } from './fallbacks.js';
import type { Attempt } from '../../pipeline/inbox-runner.js';
import { sendOutbound } from './send.js';
import { capabilitiesOf } from '../../capabilities.js';

/** The route for the event's sender; when there is none, the sender has been told why. */
async function routeOrNotify(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Promise<Route> {
  const sender = ev.sender as MatrixUserId;
  const r = routeFor(ctx, portal, ev);
  if (!r.ok) await notifyDeliveryFailure(ctx, portal, ev.event_id as MatrixEventId, sender, r.reason);
  return r;
}

export async function matrixReaction(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent, attempt: Attempt): Promise<Outcome> {
  const rel = ev.content['m.relates_to'] as { rel_type?: string; event_id?: string; key?: string } | undefined;
  if (rel?.rel_type !== 'm.annotation' || typeof rel.event_id !== 'string' || typeof rel.key !== 'string') return ignored('malformed reaction');
  const target = ctx.store.messageByEvent(portal.portalKey, rel.event_id as MatrixEventId);
  if (!target) return ignored('reaction to a message that was never bridged');
  const eventId = ev.event_id as MatrixEventId;
  const sender = ev.sender as MatrixUserId;
  const r = await routeOrNotify(ctx, portal, ev);
  if (!r.ok) return failed(r.reason);
  const caps = capabilitiesOf(r.live, Boolean(r.relayedFor));
  const base = { chat: portal.chatId, ...(r.relayedFor && { relayedFor: r.relayedFor }) };
  if (caps.reactions === 'none') {
    if (ctx.config.bridge.reaction_fallback === 'drop') return ignored('network has no reactions; fallback is drop');
    const text = reactionAsText(rel.key);
    const content = r.relayedFor ? applyRelayTemplate(text, r.live.network.section.relay_template, r.relayedFor) : text;
    const sent = await sendOutbound(ctx, portal, { eventId, sender, attempt }, r.live, [{ ...base, type: 'message', content, ...(caps.replies && { replyTo: target.remoteId }) }]);
    return viaFallback(sent, 'reaction as text');
  }
  if (Array.isArray(caps.reactions) && !caps.reactions.includes(rel.key)) {
    const reason = `${portal.network} does not allow the reaction ${rel.key}`;
    await notifyDeliveryFailure(ctx, portal, eventId, sender, reason);
    return failed(reason);
  }
  // A replay of this very event (after a crash mid-send) finds its own row and sends again.
  if (!ctx.store.addReaction({ portalKey: portal.portalKey, targetId: target.remoteId, sender, key: rel.key, eventId }) && ctx.store.reactionByEvent(portal.portalKey, eventId) === undefined) {
    return ignored('same reaction already bridged');
  }
  const keys = ctx.store.reactionsBy(portal.portalKey, target.remoteId, sender).map((x) => x.key);
  return sendOutbound(ctx, portal, { eventId, sender, attempt }, r.live, [{ ...base, type: 'reaction', target: target.remoteId, key: rel.key, removed: false, keys }]);
}

export async function matrixRedaction(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent, attempt: Attempt): Promise<Outcome> {
  const redacts = (ev.redacts ?? (ev.content.redacts as string | undefined)) as MatrixEventId | undefined;
  if (!redacts) return ignored('redaction without target');
  const eventId = ev.event_id as MatrixEventId;
  const sender = ev.sender as MatrixUserId;
  const reaction = ctx.store.reactionByEvent(portal.portalKey, redacts);
  const parts = reaction ? [] : ctx.store.partsByEvent(portal.portalKey, redacts);
  if (!reaction && !parts.length) return ignored('redaction of an event that was never bridged');
  // A homeserver passes on redactions it will not apply (room versions 3+ check them only
  // when showing the target): the rule is ours to apply. A reaction is only its sender's to take back.
  const original = reaction ? matrixUserId(reaction.sender) : parts[0]!.sender;
  if (!mayActOn('delete', original, sender, !reaction && (await holdsRedactPower(ctx, ev.room_id as MatrixRoomId, sender)))) {
    return ignored('redaction by someone other than the original sender or a moderator');
  }
  const r = await routeOrNotify(ctx, portal, ev);
  if (!r.ok) return failed(r.reason);
  const caps = capabilitiesOf(r.live, Boolean(r.relayedFor));
  const base = { chat: portal.chatId, ...(r.relayedFor && { relayedFor: r.relayedFor }) };
  if (reaction) {
    // The row goes only after the send: a crash before it replays this redaction instead of forgetting it.
    const keys = ctx.store.reactionsBy(portal.portalKey, reaction.targetId, reaction.sender).filter((x) => x.eventId !== redacts).map((x) => x.key);
    const outcome = caps.reactions === 'none'
      ? ignored('network has no reactions')
      : await sendOutbound(ctx, portal, { eventId, sender, attempt }, r.live, [{ ...base, type: 'reaction', target: reaction.targetId, key: reaction.key, removed: true, keys }]);
    ctx.store.deleteReaction(portal.portalKey, redacts);
    return outcome;
  }
  if (!caps.deletes) {
    const reason = `${portal.network} cannot delete messages`;
    await notifyDeliveryFailure(ctx, portal, eventId, sender, reason);
    return failed(reason);
  }
  const deletes = [...new Set(parts.map((p) => p.remoteId))].map((target: RemoteMessageId): OutboundEvent => ({ ...base, type: 'delete', target }));
  const outcome = await sendOutbound(ctx, portal, { eventId, sender, attempt }, r.live, deletes);
  if (outcome.status === 'ok') for (const id of new Set(parts.map((p) => p.remoteId))) ctx.store.deleteMessage(portal.portalKey, id);
  return outcome;
}


/**
 * Remote reactions -> Matrix annotations. Matrix carries one event per key; networks
 * like XMPP (XEP-0444) carry a user's whole set, which is diffed against what we sent.
 */
import type { RemoteEvent, SenderRef } from '../../events.js';
import type { RemoteMessageId } from '../../ids.js';
import { reactionToMatrix } from '../../convert/to-matrix.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { portalTxnId } from '../txn.js';

type RemoteReaction = Extract<RemoteEvent, { type: 'reaction' | 'reaction-set' }>;

/** Reactions one person keeps on one message when the network does not say (`Capabilities.maxReactionsPerUser`). */
export const DEFAULT_MAX_REACTIONS = 20;
/** Longest reaction key bridged, in UTF-16 units (an emoji sequence is at most a few dozen). */
const MAX_REACTION_KEY = 64;

export async function remoteReaction(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: RemoteReaction): Promise<Outcome> {
  const target = ctx.store.messageParts(portal.portalKey, ev.target)[0];
  if (!target || !portal.roomId) return ignored('reaction to a message that was never bridged');
  const existing = ctx.store.reactionsBy(portal.portalKey, ev.target, ev.sender.id);
  const have = new Set(existing.map((r) => r.key));
  // However many keys a stanza claims, a person keeps what their network allows one person (issue 19: 1,000 keys became 1,000 events).
  const limit = live.network.adapter.capabilities.maxReactionsPerUser ?? DEFAULT_MAX_REACTIONS;
  const usable = (k: string) => k.length > 0 && k.length <= MAX_REACTION_KEY;
  const want = ev.type === 'reaction-set' ? new Set(ev.keys.filter(usable).slice(0, limit)) : new Set(have);
  if (ev.type === 'reaction') {
    if (ev.removed) want.delete(ev.key);
    else if (usable(ev.key) && want.size < limit) want.add(ev.key);
  }
  const toAdd = [...want].filter((k) => !have.has(k));
  const toRemove = existing.filter((r) => !want.has(r.key));
  if (!toAdd.length && !toRemove.length) return ignored('reaction already in this state');

  const sender = await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
  await ctx.rooms.ensureMember(portal.roomId, sender);
  for (const key of toAdd) await addReaction(ctx, portal, ev.target, ev.sender, sender, target.eventId, key);
  for (const r of toRemove) {
    await ctx.matrix.redact(portal.roomId, sender, r.eventId, portalTxnId(portal.portalKey, 'unreact', r.eventId));
    ctx.store.deleteReaction(portal.portalKey, r.eventId);
  }
  return ok();
}

async function addReaction(
  ctx: BridgeContext, portal: PortalRow, targetId: RemoteMessageId, remoteSender: SenderRef,
  ghost: Parameters<BridgeContext['matrix']['sendEvent']>[1], targetEvent: Parameters<typeof reactionToMatrix>[0], key: string,
): Promise<void> {
  const roomId = portal.roomId!;
  // The txn id includes how many times this key was set before, so react-unreact-react sends again.
  const eventId = await ctx.matrix.sendEvent(roomId, ghost, 'm.reaction', reactionToMatrix(targetEvent, key),
    portalTxnId(portal.portalKey, 'react', targetId, remoteSender.id, key, Date.now()));
  ctx.store.addReaction({ portalKey: portal.portalKey, targetId, sender: remoteSender.id, key, eventId });
}

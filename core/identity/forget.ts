/**
 * Forgetting a remote person: their ghost stays (with its pseudonym, in its rooms, under
 * what it sent), but the bridge no longer knows who it stood for: the remote id in the
 * ghost mapping is replaced, its name and picture blanked, and their direct chat's portal
 * and message record deleted. Done by a bridge admin (`forget`), or for people unseen
 * for a network's `identifiers.forget_after_days` whose id holds a phone number. A
 * person's own login goes with their `logout`.
 */
import { randomUUID } from 'node:crypto';
import type { BridgeContext } from '../context.js';
import { remoteChatId, remoteUserId, type MatrixUserId, type NetworkId } from '../ids.js';
import { findPhoneNumber } from './phone.js';

/** The name a forgotten person's ghost shows. */
export const FORGOTTEN_NAME = 'Forgotten contact';
const DAY_MS = 86_400_000;

/** Forget one remote person; resolves with their ghost, or undefined when the bridge knew nobody by that id. */
export async function forgetRemoteUser(ctx: BridgeContext, network: NetworkId, remoteId: string): Promise<MatrixUserId | undefined> {
  const ghost = ctx.store.ghostByRemote(network, remoteId);
  if (!ghost) return undefined;
  ctx.store.forgetGhost(ghost.userId, `forgotten:${randomUUID()}`);
  ctx.ghosts.forget(ghost.userId);
  ctx.naming.forgetPseudonym(network, remoteUserId(remoteId));
  // A direct chat with them is keyed by their id: its portal and record go (the Matrix room stays, unbridged).
  for (const portal of ctx.store.listPortals()) {
    if (portal.network === network && portal.kind === 'dm' && portal.chatId === remoteChatId(remoteId)) ctx.store.forgetPortal(portal.portalKey);
  }
  await ctx.matrix.setDisplayName(ghost.userId, FORGOTTEN_NAME).catch((err: unknown) => ctx.log.warn({ ghost: ghost.userId, err: String(err) }, 'forgotten ghost\'s name not blanked'));
  await ctx.matrix.setAvatarUrl(ghost.userId, '').catch(() => undefined);
  ctx.log.info({ ghost: ghost.userId, network }, 'remote person forgotten');
  return ghost.userId;
}

/** Forget the people known by a phone number whom a network has not shown for its `identifiers.forget_after_days`. */
export async function forgetUnseen(ctx: BridgeContext, now = Date.now()): Promise<number> {
  let forgotten = 0;
  for (const [id, section] of Object.entries(ctx.config.networks)) {
    const days = section.identifiers.forget_after_days;
    if (!section.enabled || !days) continue;
    const network = id as NetworkId;
    for (const ghost of ctx.store.ghostsUnseenSince(network, now - days * DAY_MS)) {
      if (!findPhoneNumber(ghost.remoteId, section.identifiers.region)) continue;
      if (await forgetRemoteUser(ctx, network, ghost.remoteId)) forgotten++;
    }
  }
  return forgotten;
}

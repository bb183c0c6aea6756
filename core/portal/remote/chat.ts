/** Remote typing, receipts, chat info and membership -> Matrix. */
import type { RemoteEvent } from '../../events.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import { MatrixRequestError } from '../../matrix/side.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { portalKeyString } from '../../ids.js';
import { portalTxnId } from '../txn.js';
import { avatarBytes } from '../../identity/ghosts.js';

type Ev<T extends RemoteEvent['type']> = Extract<RemoteEvent, { type: T }>;

/** Typing notices time out on Matrix after this long unless renewed. */
const TYPING_TIMEOUT_MS = 30_000;

export async function remoteTyping(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Ev<'typing'>): Promise<Outcome> {
  if (!portal.roomId) return ignored('no room yet');
  const ghost = await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
  await ctx.rooms.ensureMember(portal.roomId, ghost);
  await ctx.matrix.setTyping(portal.roomId, ghost, ev.active, TYPING_TIMEOUT_MS);
  return ok();
}

export async function remoteReceipt(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Ev<'receipt'>): Promise<Outcome> {
  const parts = ctx.store.messageParts(portal.portalKey, ev.upTo);
  const last = parts.at(-1);
  if (!portal.roomId || !last) return ignored('receipt for a message that was never bridged');
  const ghost = await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
  await ctx.rooms.ensureMember(portal.roomId, ghost);
  await ctx.matrix.sendReadReceipt(portal.roomId, ghost, last.eventId);
  return ok();
}

export async function remoteChatInfo(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Ev<'chat-info'>): Promise<Outcome> {
  const { name, topic, avatar } = ctx.rooms.publicInfo(portal.network, ev.info);
  const change: { name?: string; topic?: string; avatarMxc?: string } = {};
  // DM rooms stay unnamed and without a picture so clients show the contact's ghost.
  if (name !== undefined && name !== portal.name && portal.kind === 'group') change.name = name;
  if (topic !== undefined && topic !== portal.topic) change.topic = topic;
  if (avatar && portal.kind === 'group') {
    const bytes = await avatarBytes(avatar, live.session, ctx.config.bridge.max_media_bytes).catch((err: unknown) => {
      ctx.log.warn({ portal: portal.portalKey, err: String(err) }, 'chat picture not fetched');
      return undefined;
    });
    if (bytes) change.avatarMxc = await ctx.matrix.uploadMedia(bytes, avatar.mime, avatar.name);
  }
  if (!change.name && change.topic === undefined && !change.avatarMxc) return ignored('no change');
  if (portal.roomId) {
    const bot = ctx.naming.botUserId;
    if (change.name) await ctx.matrix.sendState(portal.roomId, bot, 'm.room.name', '', { name: change.name });
    if (change.topic !== undefined) await ctx.matrix.sendState(portal.roomId, bot, 'm.room.topic', '', { topic: change.topic });
    if (change.avatarMxc) await ctx.matrix.sendState(portal.roomId, bot, 'm.room.avatar', '', { url: change.avatarMxc });
  }
  ctx.store.updatePortal(portal.portalKey, change);
  Object.assign(portal, change);
  return ok();
}

export async function remoteMember(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Ev<'member'>): Promise<Outcome> {
  if (!portal.roomId) return ignored('no room yet');
  const ghost = await ctx.ghosts.ensure(portal.network, ev.user, live.session);
  if (ev.change === 'join') {
    await ctx.rooms.ensureMember(portal.roomId, ghost);
  } else {
    try {
      await ctx.matrix.leave(portal.roomId, ghost);
    } catch (err) {
      // Seen by two logins in the same chat, or never joined here: already gone is fine.
      if (err instanceof MatrixRequestError && (err.status === 403 || err.status === 404)) return ignored('ghost was not in the room');
      throw err;
    } finally {
      ctx.rooms.forgetMember(portal.roomId, ghost);
    }
  }
  return ok();
}

/**
 * The chat now lives under another id: the room moves to a portal of the new id, with the
 * same link settings, and the old portal is unlinked. Messages of the old id stay mapped
 * under the old portal (the network will not edit them under the new one).
 */
export async function remoteChatMoved(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Ev<'chat-moved'>): Promise<Outcome> {
  if (portal.kind !== 'group') return ignored('only group chats move');
  const portalKey = portalKeyString({ network: portal.network, chat: ev.to });
  const existing = ctx.store.getPortal(portalKey);
  if (existing?.roomId && existing.roomId !== portal.roomId) return ignored(`the new chat ${ev.to} is already bridged to ${existing.roomId}`);
  ctx.store.upsertPortal({ ...(existing ?? { portalKey, network: portal.network, chatId: ev.to, kind: 'group' }) });
  const { roomId } = portal;
  ctx.store.updatePortal(portalKey, {
    ...(roomId && { roomId }),
    ...(portal.name !== undefined && { name: portal.name }),
    ...(portal.topic !== undefined && { topic: portal.topic }),
    ...(portal.relay !== undefined && { relay: portal.relay }),
    ...(portal.direction !== undefined && { direction: portal.direction }),
  });
  if (!roomId) return ok('moved; no room yet');
  ctx.store.updatePortal(portal.portalKey, { roomId: null });
  const moved = ctx.store.getPortal(portalKey)!;
  await ctx.rooms.markBridged(roomId, moved, live.network.adapter.displayName, moved.name).catch((err: unknown) => ctx.log.warn({ portal: portalKey, err: String(err) }, 'could not update m.bridge after a move'));
  await ctx.matrix.sendEvent(roomId, ctx.naming.botUserId, 'm.room.message', { msgtype: 'm.notice', body: `This ${portal.network} chat moved to a new id (${ev.to}); the room follows it.` }, portalTxnId(portal.portalKey, 'moved', ev.to, 0));
  ctx.log.info({ from: portal.portalKey, to: portalKey, roomId }, 'portal moved with its chat');
  return ok();
}

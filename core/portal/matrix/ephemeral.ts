/**
 * Matrix typing notifications and read receipts (ephemeral events, MSC2409) -> remote,
 * for Matrix users with their own login on the portal's network only: a relay typing
 * or reading on behalf of someone would mean nothing to the other side.
 */
import type { BridgeContext } from '../../context.js';
import type { MatrixEventId, MatrixUserId } from '../../ids.js';
import type { OutboundEvent } from '../../events.js';
import type { PortalRow } from '../../store/store.js';

/** Per bridge: who was typing in each portal at the last m.typing, so "stopped typing" can be sent. */
const typingByBridge = new WeakMap<BridgeContext, Map<string, Set<string>>>();

export async function matrixTyping(ctx: BridgeContext, portal: PortalRow, roomId: string, userIds: string[]): Promise<void> {
  let typingNow = typingByBridge.get(ctx);
  if (!typingNow) typingByBridge.set(ctx, (typingNow = new Map()));
  const key = `${roomId}|${portal.portalKey}`;
  const before = typingNow.get(key) ?? new Set<string>();
  const now = new Set(userIds.filter((u) => !ctx.naming.isBridgeUser(u)));
  typingNow.set(key, now);
  const changes: [string, boolean][] = [
    ...[...now].filter((u) => !before.has(u)).map((u): [string, boolean] => [u, true]),
    ...[...before].filter((u) => !now.has(u)).map((u): [string, boolean] => [u, false]),
  ];
  for (const [user, active] of changes) await sendAsOwnLogin(ctx, portal, user, { type: 'typing', chat: portal.chatId, active });
}

export async function matrixReceipt(ctx: BridgeContext, portal: PortalRow, content: Record<string, unknown>): Promise<void> {
  for (const [eventId, byType] of Object.entries(content)) {
    const readers = (byType as Record<string, Record<string, unknown>> | undefined)?.['m.read'] ?? {};
    const target = ctx.store.messageByEvent(portal.portalKey, eventId as MatrixEventId);
    if (!target) continue;
    for (const user of Object.keys(readers)) {
      if (ctx.naming.isBridgeUser(user)) continue;
      await sendAsOwnLogin(ctx, portal, user, { type: 'receipt', chat: portal.chatId, upTo: target.remoteId });
    }
  }
}

async function sendAsOwnLogin(ctx: BridgeContext, portal: PortalRow, user: string, ev: OutboundEvent): Promise<void> {
  const live = portal.receiver ? ctx.sessions.get(portal.receiver) : ctx.sessions.ownedBy(portal.network, user as MatrixUserId);
  const caps = ctx.sessions.capabilities(portal.network);
  if (!live || live.login.owner !== user || !caps || !(ev.type === 'typing' ? caps.typing : caps.receipts)) return;
  await live.session.send(ev).catch((err: unknown) => ctx.log.debug({ portal: portal.portalKey, type: ev.type, err: String(err) }, 'ephemeral event not delivered'));
}

/** `sync`: a portal's room refreshed from the remote chat as it is now. */
import type { BridgeContext } from '../context.js';
import type { RemoteEvent } from '../events.js';
import type { LiveLogin } from '../accounts/sessions.js';
import type { PortalRow } from '../store/store.js';

/** Member profiles refreshed by one `sync`, at most. */
const MAX_SYNCED_MEMBERS = 100;

/**
 * Ask the network for the chat and hand what it says to `record` (the engine's path for
 * remote events, so it runs through the portal's queue like any chat-info event), then
 * the profiles of the members it lists. Returns a summary for the person who asked.
 */
export async function syncPortal(ctx: BridgeContext, portal: PortalRow, record: (live: LiveLogin, ev: RemoteEvent) => Promise<void>): Promise<string> {
  const live = portal.receiver ? ctx.sessions.get(portal.receiver) : ctx.sessions.anyOn(portal.network);
  if (!live) return `no ${portal.network} login is connected to look the chat up`;
  const info = await live.session.getChatInfo(portal.chatId).catch((err: unknown) => err as Error);
  if (info instanceof Error) return `the chat could not be looked up: ${info.message}`;
  await record(live, { type: 'chat-info', chat: { id: portal.chatId, kind: portal.kind }, info });
  const members = (info.members ?? []).slice(0, MAX_SYNCED_MEMBERS);
  for (const id of members) {
    const user = await live.session.getUserInfo(id).catch(() => undefined);
    if (user) await record(live, { type: 'user-info', info: user });
  }
  // Not awaited: this runs on the room's queue, and the refresh is queued behind it.
  return `refreshing name and topic${members.length ? ` and ${members.length} member profile(s)` : ''}`;
}

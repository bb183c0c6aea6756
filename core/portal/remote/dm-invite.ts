/** Someone used a direct-chat invite: open the DM portal between them and the Matrix user who asked for it. */
import type { RemoteEvent } from '../../events.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';

type Accepted = Extract<RemoteEvent, { type: 'dm-invite-accepted' }>;

export async function remoteDmInviteAccepted(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Accepted): Promise<Outcome> {
  const tell = (text: string) => live.session.send({ type: 'message', chat: portal.chatId, content: { kind: 'notice', text } })
    .catch((err: unknown) => ctx.log.warn({ portal: portal.portalKey, err: String(err) }, 'could not answer a direct-chat invite'));
  if (portal.kind !== 'dm') return ignored('invites open direct chats only');
  if (portal.roomId) {
    await tell('You are already connected: write here and your messages reach Matrix.');
    return ignored('already connected');
  }
  const owner = ctx.invites.take(portal.network, ev.code);
  if (!owner) {
    await tell('This invite link is not valid (any more). Ask the person who sent it for a new one.');
    return ignored('unknown or expired invite code');
  }
  const roomId = await ctx.rooms.roomFor(portal, live, owner);
  await tell(`Connected with ${owner} on Matrix: write here and your messages reach them.`);
  ctx.log.info({ portal: portal.portalKey, roomId, owner }, 'direct chat opened by invite');
  return ok();
}

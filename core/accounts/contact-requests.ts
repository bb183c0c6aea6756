/**
 * Someone on a network asks to become a login's contact (an XMPP presence subscription to
 * a gateway address): the owner is asked in the management room where the login was
 * made, and answers with `allow` or `deny` (core/commands/contacts.ts). Nothing is decided
 * for them; a login made without a management room (the provisioning API) has nowhere
 * to ask, so the request stays pending on the network, which is where XMPP keeps it.
 */
import type { BridgeContext } from '../context.js';
import type { RemoteEvent } from '../events.js';
import { singleLineName } from '../safety.js';
import { txnId } from '../portal/txn.js';
import type { LiveLogin } from './sessions.js';

export async function askAboutContact(ctx: BridgeContext, live: LiveLogin, ev: Extract<RemoteEvent, { type: 'contact-request' }>): Promise<void> {
  const room = live.login.noticeRoom;
  const network = live.login.network;
  if (!room) {
    ctx.log.info({ login: live.login.loginId, user: ev.user.id }, 'contact request left pending: the login has no management room to ask in');
    return;
  }
  const who = ev.user.name ? `${singleLineName(ev.user.name).slice(0, 100)} (${ev.user.id})` : ev.user.id;
  const body = [
    `${who} on ${network} asks to see when you are online (to become your contact at ${live.login.remoteUser ?? 'your address'}).`,
    `Answer "allow ${network} ${ev.user.id}" or "deny ${network} ${ev.user.id}". "block ${network} ${ev.user.id}" refuses everything from them.`,
  ].join('\n');
  await ctx.matrix.sendEvent(room, ctx.naming.botUserId, 'm.room.message', { msgtype: 'm.notice', body }, txnId('contact-request', live.login.loginId, ev.user.id, Date.now()));
}

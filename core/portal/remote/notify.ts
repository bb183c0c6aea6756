/**
 * A remote message that cannot reach Matrix is announced, never dropped in silence: a
 * notice in the portal's room, and a notice back in a remote group chat through the
 * network's relay (never through a person's own login, which would put words in
 * their mouth, and never in a direct chat). At most once per portal in 10 minutes: a room
 * that refuses every ghost (muted, say) must not make the relay answer every line.
 */
import type { RemoteEvent } from '../../events.js';
import type { MatrixEventId, MatrixRoomId } from '../../ids.js';
import { speakerOf } from '../matrix/notify.js';
import type { BridgeContext } from '../../context.js';
import type { PortalRow } from '../../store/store.js';
import { singleLineName } from '../../safety.js';
import { portalTxnId, txnId } from '../txn.js';

/** How much of a failure's reason people are shown. */
const MAX_REASON = 300;

/** Per bridge: when each portal last said so, so a room that refuses every message does not get (and send) one notice each. */
const lastNotice = new WeakMap<BridgeContext, Map<string, number>>();
/** At most one such notice per portal in this time; the others are logged. */
const NOTICE_EVERY_MS = 10 * 60_000;

export async function notifyRemoteFailure(ctx: BridgeContext, portal: PortalRow, ev: RemoteEvent, reason: string, now = Date.now()): Promise<void> {
  if (ev.type !== 'message' && ev.type !== 'edit') return; // only what people wrote is worth a word
  const why = singleLineName(reason).slice(0, MAX_REASON);
  const who = singleLineName(ev.sender.name ?? ev.sender.id).slice(0, 100);
  const what = ev.type === 'message' ? 'A message' : 'An edit';
  const id = ev.type === 'message' ? ev.id : ev.target;
  ctx.log.warn({ portal: portal.portalKey, remoteId: id, reason: why }, 'remote event not bridged');
  let times = lastNotice.get(ctx);
  if (!times) lastNotice.set(ctx, (times = new Map()));
  if (now - (times.get(portal.portalKey) ?? -Infinity) < NOTICE_EVERY_MS) return;
  times.set(portal.portalKey, now);
  let noticeId: MatrixEventId | undefined;
  const speaker = speakerOf(ctx, portal);
  if (portal.roomId) {
    noticeId = await ctx.matrix.sendEvent(portal.roomId as MatrixRoomId, speaker, 'm.room.message',
      { msgtype: 'm.notice', body: `⚠ ${what} from ${who} on ${portal.network} could not be bridged here: ${why}`, 'm.mentions': {} },
      portalTxnId(portal.portalKey, 'remote-fail', id))
      .catch((err: unknown) => {
        ctx.log.warn({ portal: portal.portalKey, err: String(err) }, 'could not tell the room about a message not bridged');
        return undefined;
      });
  }
  // Any login may have seen the message; only the network's relay speaks for the bridge, and only in groups.
  const relay = portal.kind === 'group' ? ctx.sessions.relay(portal.network) : undefined;
  if (!relay || relay.state.state !== 'connected') return;
  const result = await relay.session.send(
    { type: 'message', chat: portal.chatId, content: { kind: 'notice', text: `⚠ ${who}: your message could not be bridged to Matrix (${why}).` }, ...(ev.type === 'message' && { replyTo: ev.id }) },
    { key: txnId(portal.portalKey, 'remote-fail-notice', id), maybeSent: false, since: Date.now() },
  ).catch((err: unknown) => {
    ctx.log.warn({ portal: portal.portalKey, err: String(err) }, 'could not tell the sender about a message not bridged');
    return undefined;
  });
  // Mapped to the room's notice, so the network's echo of it is known as ours and not bridged back.
  if (result?.status === 'sent' && result.remoteId && noticeId && portal.roomId) {
    ctx.store.addMessagePart(portal.portalKey, { remoteId: result.remoteId, part: 0, roomId: portal.roomId as MatrixRoomId, eventId: noticeId, sender: speaker });
  }
}

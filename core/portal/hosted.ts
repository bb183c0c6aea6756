/**
 * A Matrix room offered on a gateway's network (an XMPP MUC on the gateway's component):
 * found by its alias when someone there first asks for it, and linked to the gateway's
 * chat id as a portal, so everything after goes through the usual portal queues. Only
 * public rooms are offered: anyone could join them on Matrix anyway, so a gateway adds
 * no one who could not already read along. The members shown are the room's Matrix
 * people (and other networks' ghosts), never the gateway's own ghosts.
 */
import type { HostedChat, HostedMessage } from '../adapter.js';
import { fromMatrix } from '../convert/from-matrix.js';
import type { BridgeContext } from '../context.js';
import { matrixEventId, matrixUserId, portalKeyString, remoteMessageId, type RemoteChatId } from '../ids.js';
import { identifierProblem } from '../safety.js';
import type { LiveLogin } from '../accounts/sessions.js';
import { MatrixRequestError } from '../matrix/side.js';
import { txnId } from './txn.js';

const ALIAS = /^#[^:\s]+:[A-Za-z0-9.\-[\]:]+$/;

export async function hostedChat(ctx: BridgeContext, live: LiveLogin, alias: string, chat: RemoteChatId): Promise<HostedChat> {
  const network = live.login.network;
  if (live.login.kind !== 'relay') return { ok: false, reason: 'forbidden', text: 'only the network relay hosts rooms' };
  if (alias.length > 255 || identifierProblem(alias) || !ALIAS.test(alias)) return { ok: false, reason: 'not-found', text: 'that is not the address of a Matrix room' };
  // Only this homeserver's own aliases: a stranger's join must not make the homeserver join
  // any room of the whole federation (a big one is hours of work for it).
  if (alias.slice(alias.indexOf(':') + 1) !== ctx.config.homeserver.domain) return { ok: false, reason: 'not-found', text: `only rooms with an address on ${ctx.config.homeserver.domain} are reachable here` };
  const roomId = await ctx.matrix.resolveAlias(alias);
  if (!roomId) return { ok: false, reason: 'not-found', text: `no Matrix room has the address ${alias}` };
  const bot = ctx.naming.botUserId;
  try {
    await ctx.matrix.join(roomId, bot);
  } catch (err) {
    if (err instanceof MatrixRequestError) return { ok: false, reason: 'forbidden', text: `${alias} is not a public room` };
    throw err;
  }
  const rules = await ctx.matrix.roomState(roomId, 'm.room.join_rules', '');
  if (rules?.join_rule !== 'public') return { ok: false, reason: 'forbidden', text: `${alias} is not a public room` };

  const portalKey = portalKeyString({ network, chat });
  const name = (await ctx.matrix.roomState(roomId, 'm.room.name', '').catch(() => undefined))?.name;
  const topic = (await ctx.matrix.roomState(roomId, 'm.room.topic', '').catch(() => undefined))?.topic;
  const portal = ctx.store.getPortal(portalKey);
  if (portal?.roomId !== roomId) {
    // New, or the alias now names another room (its admins moved it): the address follows the alias.
    const row = portal ?? ctx.store.upsertPortal({ portalKey, network, chatId: chat, kind: 'group' });
    ctx.store.updatePortal(portalKey, { roomId, direction: 'both', ...(typeof name === 'string' && { name }) });
    await ctx.rooms.markBridged(roomId, row, live.network.adapter.displayName, typeof name === 'string' ? name : undefined).catch(() => undefined);
    ctx.log.info({ portal: portalKey, roomId, alias }, 'hosted room linked');
  }
  const joined = (await ctx.matrix.joinedMembers(roomId)).filter((m) => m.userId !== bot && ctx.naming.parseGhost(m.userId)?.network !== network);
  for (const m of joined) ctx.rooms.rememberName(roomId, m.userId, m.displayName);
  const members = joined.map((m) => ({ id: m.userId, name: ctx.rooms.displayName(roomId, m.userId) }));
  return { ok: true, ...(typeof name === 'string' && { name }), ...(typeof topic === 'string' && { topic }), members };
}

/**
 * A hosted room's newest messages for people joining from the gateway's network: read
 * from the room, each under the id the network knows it by (the portal's record, else
 * the delivery key its send uses), the network's own people by their remote ids.
 */
export async function hostedHistory(ctx: BridgeContext, live: LiveLogin, chat: RemoteChatId, limit: number): Promise<HostedMessage[]> {
  const network = live.login.network;
  const portal = ctx.store.getPortal(portalKeyString({ network, chat }));
  if (!portal?.roomId || limit <= 0) return [];
  const roomId = portal.roomId;
  // Edits come in the same stream: a message is shown as last edited by its own sender.
  const events = await ctx.matrix.recentMessages(roomId, limit * 2);
  const edits = new Map<string, Record<string, unknown>>();
  for (const e of events) {
    const rel = (e.content as { 'm.relates_to'?: { rel_type?: string; event_id?: string } } | undefined)?.['m.relates_to'];
    if (rel?.rel_type === 'm.replace' && rel.event_id) edits.set(`${rel.event_id}|${String(e.sender)}`, e.content as Record<string, unknown>);
  }
  const out: HostedMessage[] = [];
  for (const e of events) {
    const content = e.content as Record<string, unknown> | undefined;
    const eventId = String(e.event_id);
    const sender = String(e.sender);
    const original = content && fromMatrix(content, () => undefined);
    if (!original || original.replaces) continue; // redacted (its edits too), not a message, or an edit
    const edited = edits.get(`${eventId}|${sender}`);
    const parsed = (edited && fromMatrix(edited, () => undefined)) || original;
    const text = parsed.media && !parsed.content.text ? `${parsed.media.name}` : parsed.content.text;
    const ghost = ctx.naming.parseGhost(sender);
    const name = ctx.rooms.displayName(roomId, matrixUserId(sender));
    out.push({
      // Not bridged yet (still on its way): the id its send will use (core/portal/matrix/send.ts), so it is one message, not two.
      id: ctx.store.messageByEvent(portal.portalKey, matrixEventId(eventId))?.remoteId ?? remoteMessageId(txnId(portal.portalKey, eventId, 0)),
      sender: ghost?.network === network ? { kind: 'network', id: ghost.remote, name } : { kind: 'matrix', id: sender, name },
      content: { ...parsed.content, text },
      timestamp: typeof e.origin_server_ts === 'number' ? e.origin_server_ts : Date.now(),
    });
  }
  return out.slice(-limit);
}

/** A Matrix user's name and (small enough) avatar, for a gateway to show them by. */
export async function matrixProfile(ctx: BridgeContext, matrixId: string, maxAvatarBytes: number): Promise<{ name?: string; avatar?: { bytes: Uint8Array; mime: string } }> {
  const profile = await ctx.matrix.profile(matrixUserId(matrixId));
  const avatar = profile.avatar_url?.startsWith('mxc://') ? await ctx.matrix.downloadMedia(profile.avatar_url, maxAvatarBytes).catch(() => undefined) : undefined;
  return { ...(profile.displayname && { name: profile.displayname }), ...(avatar?.mime.startsWith('image/') && { avatar }) };
}

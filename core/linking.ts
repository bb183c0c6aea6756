/**
 * Linking Matrix rooms to remote group chats, and the rules for who may: shared by the
 * `link`/`unlink`/`relay`/`portals` commands and the provisioning API. Refusals are
 * LinkRefused errors whose message is meant for the person.
 */
import { randomBytes } from 'node:crypto';
import type { ChatInfo } from './events.js';
import type { PermissionLevel } from './config.js';
import type { LiveLogin } from './accounts/sessions.js';
import type { BridgeContext } from './context.js';
import { networkId, portalKeyString, remoteChatId, type MatrixRoomId, type MatrixUserId, type RemoteChatId } from './ids.js';
import { identifierProblem } from './safety.js';
import { nameTemplateProblem } from './portal/matrix/origin.js';
import type { LinkDirection, PortalRow } from './store/store.js';

/** Matrix power level that makes a room admin. */
export const ROOM_ADMIN = 100;
/** Listing a user's portals asks the homeserver about at most this many group rooms. */
const MAX_MEMBERSHIP_CHECKS = 200;

export class LinkRefused extends Error {
  constructor(message: string, readonly code: 'forbidden' | 'not-found' | 'conflict' | 'bad-input') {
    super(message);
    this.name = 'LinkRefused';
  }
}

export interface Actor {
  userId: MatrixUserId;
  level: PermissionLevel;
}

/** Bridge admins may manage any room; others must be admins of the room itself. */
export async function requireRoomAdmin(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, what: string): Promise<void> {
  if (actor.level === 'admin') return;
  const power = await ctx.matrix.powerLevel(roomId, actor.userId).catch(() => 0);
  if (power < ROOM_ADMIN) throw new LinkRefused(`Only admins of this room (power level ${ROOM_ADMIN}) or bridge admins may ${what}.`, 'forbidden');
}

/** A typed chat id checked by the core's rules, then the network's own. */
export function parseChatId(ctx: BridgeContext, network: string, raw: string): RemoteChatId {
  const problem = identifierProblem(raw);
  if (problem) throw new LinkRefused(`That chat id cannot be used: ${problem}.`, 'bad-input');
  const net = ctx.sessions.network(networkId(network));
  if (!net) throw new LinkRefused(`There is no network "${network}". Networks: ${ctx.sessions.allNetworks().map((n) => n.id).join(', ')}.`, 'not-found');
  try {
    return net.adapter.parseChatId ? net.adapter.parseChatId(raw) : remoteChatId(raw);
  } catch (err) {
    throw new LinkRefused(`That is not a ${net.adapter.displayName} chat id: ${(err as Error).message}`, 'bad-input');
  }
}

export interface LinkResult {
  portal: PortalRow;
  chatName?: string;
  /** Set when the room could not be marked with `m.bridge` (the bot lacks power). */
  bridgeStateMissing?: boolean;
  /** Why the relay account cannot reach the chat, when it cannot (only users with a login are bridged then). */
  relayMissing?: string;
}

/** How a link carries messages: its direction, and how its chat's people are named in a gateway room's other chats. */
export interface LinkOptions {
  direction?: LinkDirection;
  /** With `{name}` (and optionally `{network}`); default "{name} ({network})". */
  nameTemplate?: string;
}

/** How long a network's own admins have to confirm a link (`proveChatControl`). */
export const LINK_PROOF_TIMEOUT_MS = 10 * 60_000;

/** A link either made at once, or waiting for the chat's own admins to confirm it on the network. */
export type LinkStart =
  | { status: 'linked'; result: LinkResult }
  | { status: 'pending'; instructions: string; expiresInS: number; done: Promise<LinkResult> };

interface CheckedLink {
  net: NonNullable<ReturnType<BridgeContext['sessions']['network']>>;
  chat: RemoteChatId;
  info: ChatInfo;
  live: LiveLogin;
}

/**
 * Bridge `roomId` to a remote group chat. The actor's own login is used if they have
 * one (it must see the chat), else the network's relay account. Where the network asks
 * for it, an admin of the chat must confirm on the network first (status `pending`).
 */
export async function startLink(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, network: string, rawChat: string, options: LinkOptions = {}): Promise<LinkStart> {
  const problem = options.nameTemplate === undefined ? undefined : nameTemplateProblem(options.nameTemplate);
  if (problem) throw new LinkRefused(`That name template cannot be used: ${problem} (e.g. "[tg] {name}").`, 'bad-input');
  const checked = await checkLink(ctx, actor, roomId, network, rawChat);
  const { live } = checked;
  if (!live.session.proveChatControl) return { status: 'linked', result: await completeLink(ctx, actor, roomId, checked, options) };
  const code = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').toUpperCase();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), LINK_PROOF_TIMEOUT_MS);
  const { instructions, proof } = live.session.proveChatControl(checked.chat, code, abort.signal);
  const done = proof.finally(() => clearTimeout(timer)).then(async (by) => {
    ctx.log.info({ network: checked.net.id, chat: checked.chat, confirmedBy: by, roomId }, 'link confirmed on the network');
    // Checked again: the room or the chat may have been linked elsewhere meanwhile.
    return completeLink(ctx, actor, roomId, await checkLink(ctx, actor, roomId, network, rawChat), options);
  });
  return { status: 'pending', instructions, expiresInS: LINK_PROOF_TIMEOUT_MS / 1000, done };
}

/** `startLink`, waiting for a confirmation if one is needed. */
export async function linkRoom(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, network: string, rawChat: string, options: LinkOptions = {}): Promise<LinkResult> {
  const start = await startLink(ctx, actor, roomId, network, rawChat, options);
  return start.status === 'linked' ? start.result : start.done;
}

async function checkLink(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, network: string, rawChat: string): Promise<CheckedLink> {
  const typed = parseChatId(ctx, network, rawChat);
  const net = ctx.sessions.network(networkId(network))!;
  await requireRoomAdmin(ctx, actor, roomId, 'link it');
  const live = ctx.sessions.ownedBy(net.id, actor.userId) ?? ctx.sessions.relay(net.id);
  if (!live) throw new LinkRefused(`You have no ${net.id} login and ${net.id} has no relay account: log in first ("login ${net.id}").`, 'forbidden');
  const info = await live.session.getChatInfo(typed).catch((err: unknown) => {
    throw new LinkRefused(`The ${net.id} chat ${typed} cannot be reached by ${live.login.kind === 'relay' ? 'the relay account' : 'your login'}: ${(err as Error).message}`, 'not-found');
  });
  if (info.kind !== 'group') throw new LinkRefused(`${typed} is a direct chat; only group chats can be linked to a room.`, 'bad-input');
  // The network's own id for the chat (a Telegram @name resolves to its number): updates use that one.
  const chat = info.id;
  const existing = ctx.store.getPortal(portalKeyString({ network: net.id, chat }));
  if (existing?.roomId === roomId) throw new LinkRefused(`That ${net.id} chat is already linked to this room.`, 'conflict');
  if (existing?.roomId) throw new LinkRefused(`That ${net.id} chat is already bridged to another room (${existing.roomId}); unlink it there first.`, 'conflict');
  return { net, chat, info, live };
}

async function completeLink(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, checked: CheckedLink, options: LinkOptions): Promise<LinkResult> {
  const { net, chat, info, live } = checked;
  const portalKey = portalKeyString({ network: net.id, chat });
  // The relay account speaks for everyone without a login, so it must be in the chat too
  // (looking the chat up is how an adapter joins it, e.g. an XMPP MUC).
  const relay = ctx.sessions.relay(net.id);
  let relayMissing: string | undefined;
  if (relay && relay !== live) await relay.session.getChatInfo(chat).catch((err: unknown) => { relayMissing = (err as Error).message; });
  const portal = ctx.store.getPortal(portalKey) ?? ctx.store.upsertPortal({ portalKey, network: net.id, chatId: chat, kind: 'group' });
  ctx.store.updatePortal(portalKey, { roomId, direction: options.direction ?? 'both', nameTemplate: options.nameTemplate ?? null, ...(info.name && { name: info.name }), ...(info.topic && { topic: info.topic }) });
  const bridgeStateMissing = await ctx.rooms.markBridged(roomId, portal, net.adapter.displayName, info.name).then(() => false, () => true);
  // The admin who linked the room is in it (and so is the bot, which was invited): known
  // now, so that their login's first message here, before or after a restart, invites nobody.
  const joined = await ctx.matrix.joinedMembers(roomId).catch((err: unknown) => {
    ctx.log.debug({ roomId, err: String(err) }, 'room members not read at link time');
    return [];
  });
  for (const { userId } of joined) if (userId === actor.userId || userId === ctx.naming.botUserId) ctx.rooms.remember(roomId, userId);
  ctx.log.info({ portal: portalKey, roomId, by: actor.userId }, 'portal linked');
  return { portal: ctx.store.getPortal(portalKey)!, ...(info.name && { chatName: info.name }), ...(bridgeStateMissing && { bridgeStateMissing }), ...(relayMissing && { relayMissing }) };
}

/**
 * The portal of a room an action is about: the only one, or the one named by network
 * (and chat, where the room links several chats of that network).
 */
export function portalOfRoom(ctx: BridgeContext, roomId: MatrixRoomId, network?: string, chat?: string): PortalRow {
  const portals = ctx.store.portalsByRoom(roomId);
  if (!portals.length) throw new LinkRefused('This room is not bridged.', 'not-found');
  const listed = portals.map((x) => `${x.network} ${x.chatId}`).join(', ');
  if (!network) {
    if (portals.length === 1) return portals[0]!;
    throw new LinkRefused(`This room is linked to several chats; name one: ${listed}.`, 'bad-input');
  }
  const ofNetwork = portals.filter((x) => x.network === network.toLowerCase());
  const named = chat === undefined ? ofNetwork : ofNetwork.filter((x) => x.chatId === chat);
  if (named.length === 1) return named[0]!;
  if (!named.length) throw new LinkRefused(`This room is not linked to ${chat === undefined ? network : `${network} chat ${chat}`}. It is linked to: ${listed}.`, 'not-found');
  throw new LinkRefused(`This room is linked to several ${network} chats; name one: ${ofNetwork.map((x) => x.chatId).join(', ')}.`, 'bad-input');
}

export async function unlinkRoom(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, network?: string, chat?: string): Promise<PortalRow> {
  const portal = portalOfRoom(ctx, roomId, network, chat);
  await requireRoomAdmin(ctx, actor, roomId, 'unlink it');
  ctx.store.updatePortal(portal.portalKey, { roomId: null });
  ctx.log.info({ portal: portal.portalKey, roomId, by: actor.userId }, 'portal unlinked');
  const { roomId: _old, ...unlinked } = portal;
  return unlinked;
}

export async function setRelay(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, on: boolean, network?: string, chat?: string): Promise<PortalRow> {
  const portal = portalOfRoom(ctx, roomId, network, chat);
  await requireRoomAdmin(ctx, actor, roomId, 'change relaying');
  ctx.store.updatePortal(portal.portalKey, { relay: on });
  return { ...portal, relay: on };
}

/** Whether contact cards in this room show phone numbers whole (room admins choose; identity/phone.ts masks otherwise). */
export async function setShowNumbers(ctx: BridgeContext, actor: Actor, roomId: MatrixRoomId, show: boolean, network?: string, chat?: string): Promise<PortalRow> {
  const portal = portalOfRoom(ctx, roomId, network, chat);
  await requireRoomAdmin(ctx, actor, roomId, 'choose how numbers are shown');
  ctx.store.updatePortal(portal.portalKey, { showNumbers: show });
  return { ...portal, showNumbers: show };
}

/** The portals of a user: DMs of their logins and group rooms they are joined to; `all` for bridge admins. */
export async function portalsOf(ctx: BridgeContext, actor: Actor, all: boolean): Promise<PortalRow[]> {
  const linked = ctx.store.listPortals().filter((p) => p.roomId);
  if (all) {
    if (actor.level !== 'admin') throw new LinkRefused('Only bridge admins may list every portal.', 'forbidden');
    return linked;
  }
  const logins = new Set(ctx.sessions.all().filter((l) => l.login.owner === actor.userId).map((l) => l.login.loginId));
  const mine = linked.filter((p) => p.receiver && logins.has(p.receiver));
  for (const p of linked.filter((x) => x.kind === 'group').slice(0, MAX_MEMBERSHIP_CHECKS)) {
    const member = await ctx.matrix.roomState(p.roomId!, 'm.room.member', actor.userId).catch(() => undefined);
    if (member?.membership === 'join') mine.push(p);
  }
  return mine;
}

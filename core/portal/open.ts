/**
 * `open <network> <chat>`: a person asks for the room of a chat their own login can
 * reach, before anything was said there (a MUC they want to join, a contact they want
 * to write to). The login looks the chat up, which is how an adapter joins a group
 * (XMPP joins the MUC and keeps it joined); then the portal room is made for them, or
 * they are invited to the one that exists. Relay logins never open rooms.
 */
import type { BridgeContext } from '../context.js';
import { networkId, portalKeyString, type MatrixRoomId, type MatrixUserId } from '../ids.js';
import { LinkRefused, parseChatId } from '../linking.js';

export interface Opened {
  roomId: MatrixRoomId;
  kind: 'dm' | 'group';
  name?: string;
  /** The room was there already (the chat was bridged before); the person was invited. */
  existed: boolean;
}

export async function openChat(ctx: BridgeContext, user: MatrixUserId, network: string, rawChat: string): Promise<Opened> {
  const typed = parseChatId(ctx, network, rawChat);
  const net = ctx.sessions.network(networkId(network))!;
  const live = ctx.sessions.ownedBy(net.id, user);
  if (!live || live.login.kind !== 'puppet') throw new LinkRefused(`You have no ${net.id} login: "login ${net.id}" first; rooms are opened through your own account.`, 'forbidden');
  if (live.state.state !== 'connected') throw new LinkRefused(`Your ${net.id} login is not connected at the moment (${live.state.state}); try again once it is ("logins").`, 'conflict');
  const info = await live.session.getChatInfo(typed).catch((err: unknown) => {
    throw new LinkRefused(`The ${net.id} chat ${typed} cannot be reached by your login: ${(err as Error).message}`, 'not-found');
  });
  const key = info.kind === 'dm' ? { network: net.id, chat: info.id, receiver: live.login.loginId } : { network: net.id, chat: info.id };
  const portalKey = portalKeyString(key);
  const portal = ctx.store.getPortal(portalKey) ?? ctx.store.upsertPortal({ portalKey, network: net.id, chatId: info.id, ...(key.receiver && { receiver: key.receiver }), kind: info.kind });
  const existed = portal.roomId !== undefined;
  const roomId = await ctx.rooms.ensureRoom(portal, live);
  if (!roomId) throw new LinkRefused('No room could be made for that chat.', 'forbidden');
  ctx.log.info({ portal: portalKey, roomId, by: user, existed }, 'chat opened');
  return { roomId, kind: info.kind, ...(info.name && { name: info.name }), existed };
}

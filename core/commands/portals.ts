/** link, unlink, relay, portals, sync: which Matrix rooms are bridged to which remote chats. */
import { networkId, portalKeyString, remoteChatId, type MatrixRoomId, type RemoteChatId } from '../ids.js';
import { Rooms } from '../portal/rooms.js';
import { identifierProblem } from '../safety.js';
import type { PortalRow } from '../store/store.js';
import { CommandError, type Command, type CommandCall } from './types.js';

/** Matrix power level that makes a room admin. */
const ROOM_ADMIN = 100;
/** The `portals` command asks the homeserver about at most this many group rooms. */
const MAX_MEMBERSHIP_CHECKS = 200;

/** Bridge admins may manage any room; others must be admins of the room itself. */
async function requireRoomAdmin({ ctx, level, roomId, sender }: CommandCall, what: string): Promise<void> {
  if (level === 'admin') return;
  const power = await ctx.matrix.powerLevel(roomId, sender).catch(() => 0);
  if (power < ROOM_ADMIN) throw new CommandError(`Only admins of this room (power level ${ROOM_ADMIN}) or bridge admins may ${what}.`);
}

/** The portal of this room a command acts on: the only one, or the one of the named network. */
function pickPortal({ portals, args }: CommandCall, argIndex: number): PortalRow {
  if (!portals.length) throw new CommandError('This room is not bridged.');
  const named = args[argIndex]?.toLowerCase();
  if (named) {
    const p = portals.find((x) => x.network === named);
    if (!p) throw new CommandError(`This room is not bridged to ${named}. It is bridged to: ${portals.map((x) => x.network).join(', ')}.`);
    return p;
  }
  if (portals.length === 1) return portals[0]!;
  throw new CommandError(`This room is bridged to several networks; name one: ${portals.map((x) => x.network).join(', ')}.`);
}

function parseChat(call: CommandCall, raw: string): RemoteChatId {
  const problem = identifierProblem(raw);
  if (problem) throw new CommandError(`That chat id cannot be used: ${problem}.`);
  const net = call.ctx.sessions.network(networkId(call.args[0]!.toLowerCase()))!;
  try {
    return net.adapter.parseChatId ? net.adapter.parseChatId(raw) : remoteChatId(raw);
  } catch (err) {
    throw new CommandError(`That is not a ${net.adapter.displayName} chat id: ${(err as Error).message}`);
  }
}

async function link(call: CommandCall): Promise<string> {
  const { ctx, args, sender, roomId, portals } = call;
  const [rawNetwork, rawChat] = args;
  if (!rawNetwork || !rawChat || args.length > 2) throw new CommandError('Usage: link <network> <remote chat>');
  const network = networkId(rawNetwork.toLowerCase());
  const net = ctx.sessions.network(network);
  if (!net) throw new CommandError(`There is no network "${rawNetwork}". Networks: ${ctx.sessions.allNetworks().map((n) => n.id).join(', ')}.`);
  const chat = parseChat(call, rawChat);
  await requireRoomAdmin(call, 'link it');
  if (portals.some((p) => p.network === network)) throw new CommandError(`This room is already bridged to ${network}; unlink it first.`);
  const portalKey = portalKeyString({ network, chat });
  const existing = ctx.store.getPortal(portalKey);
  if (existing?.roomId && existing.roomId !== roomId) throw new CommandError(`That ${network} chat is already bridged to another room (${existing.roomId}); unlink it there first.`);
  // Your own login if you have one (it must see the chat), else the relay account.
  const live = ctx.sessions.ownedBy(network, sender) ?? ctx.sessions.relay(network);
  if (!live) throw new CommandError(`You have no ${network} login and ${network} has no relay account: log in first ("login ${network}").`);
  const info = await live.session.getChatInfo(chat).catch((err: unknown) => {
    throw new CommandError(`The ${network} chat ${chat} cannot be reached by ${live.login.kind === 'relay' ? 'the relay account' : 'your login'}: ${(err as Error).message}`);
  });
  if (info.kind !== 'group') throw new CommandError(`${chat} is a direct chat; only group chats can be linked to a room.`);
  const portal = existing ?? ctx.store.upsertPortal({ portalKey, network, chatId: chat, kind: 'group' });
  ctx.store.updatePortal(portalKey, { roomId, ...(info.name && { name: info.name }), ...(info.topic && { topic: info.topic }) });
  const stateKey = Rooms.bridgeStateKey(portal);
  const content = ctx.rooms.bridgeInfo(portal, net.adapter.displayName, info.name);
  let note = '';
  try {
    for (const type of ['m.bridge', 'uk.half-shot.bridge']) await ctx.matrix.sendState(roomId, ctx.naming.botUserId, type, stateKey, content);
  } catch {
    note = '\n(I could not mark the room as bridged: give the bridge bot power level 50 so clients can show it.)';
  }
  ctx.log.info({ portal: portalKey, roomId, by: sender }, 'portal linked');
  const relayNote = portal.relay === false ? 'Relaying is off here.' : `Matrix users without a ${network} login are relayed ("relay off" to stop).`;
  return `Linked this room to ${net.adapter.displayName} chat ${info.name ? `"${info.name}" (${chat})` : chat}. ${relayNote}${note}`;
}

async function unlink(call: CommandCall): Promise<string> {
  const portal = pickPortal(call, 0);
  await requireRoomAdmin(call, 'unlink it');
  call.ctx.store.updatePortal(portal.portalKey, { roomId: null });
  call.ctx.log.info({ portal: portal.portalKey, roomId: call.roomId, by: call.sender }, 'portal unlinked');
  return `Unlinked this room from ${portal.network} chat ${portal.chatId}. Nothing is bridged here any more.`;
}

async function relay(call: CommandCall): Promise<string> {
  const mode = call.args[0]?.toLowerCase();
  if (mode !== 'on' && mode !== 'off') throw new CommandError('Usage: relay on|off [network]');
  const portal = pickPortal(call, 1);
  await requireRoomAdmin(call, 'change relaying');
  call.ctx.store.updatePortal(portal.portalKey, { relay: mode === 'on' });
  return mode === 'on'
    ? `Relaying is on: Matrix users without a ${portal.network} login speak here through the relay account.`
    : `Relaying is off: only Matrix users with their own ${portal.network} login are bridged here; others are told so.`;
}

async function listPortals({ ctx, sender, level, args }: CommandCall): Promise<string> {
  const all = ctx.store.listPortals().filter((p) => p.roomId);
  const everything = level === 'admin' && args[0] === 'all';
  let mine: PortalRow[];
  if (everything) {
    mine = all;
  } else {
    const logins = new Set(ctx.sessions.all().filter((l) => l.login.owner === sender).map((l) => l.login.loginId));
    mine = all.filter((p) => p.receiver && logins.has(p.receiver));
    const groups = all.filter((p) => p.kind === 'group').slice(0, MAX_MEMBERSHIP_CHECKS);
    for (const p of groups) if (await isJoined(ctx, p.roomId!, sender)) mine.push(p);
  }
  if (!mine.length) return everything ? 'The bridge has no portals.' : 'You are in no bridged rooms.';
  const line = (p: PortalRow) => `• ${p.network} ${p.kind === 'dm' ? 'direct chat' : 'group'} ${p.name ? `"${p.name}" ` : ''}(${p.chatId}) → ${p.roomId}${p.relay === false ? ', relay off' : ''}`;
  return [everything ? 'All portals:' : 'Your portals:', ...mine.map(line)].join('\n');
}

async function isJoined(ctx: CommandCall['ctx'], roomId: MatrixRoomId, user: string): Promise<boolean> {
  const member = await ctx.matrix.roomState(roomId, 'm.room.member', user).catch(() => undefined);
  return member?.membership === 'join';
}

async function sync(call: CommandCall): Promise<string> {
  if (!call.portals.length) throw new CommandError('This room is not bridged.');
  const lines = [];
  for (const portal of call.portals) lines.push(`${portal.network}: ${await call.services.syncPortal(portal)}`);
  return lines.join('\n');
}

export const portalCommands: Command[] = [
  { name: 'link', usage: '<network> <remote chat>', help: 'bridge this room to a remote group chat (room admins)', level: 'user', place: 'anywhere', run: link },
  { name: 'unlink', usage: '[network]', help: 'stop bridging this room (room admins)', level: 'user', place: 'portal', run: unlink },
  { name: 'relay', usage: 'on|off [network]', help: 'whether Matrix users without a login are relayed here (room admins)', level: 'user', place: 'portal', run: relay },
  { name: 'portals', usage: '[all]', help: 'list your bridged rooms ("all": every portal, bridge admins)', level: 'user', place: 'anywhere', run: listPortals },
  { name: 'sync', help: "refresh this room's name, topic and member profiles from the remote chat", level: 'user', place: 'portal', run: sync },
];

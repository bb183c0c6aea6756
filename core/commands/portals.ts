/** link, unlink, relay, portals, open, sync: the chat face of core/linking.ts and core/portal/open.ts. */
import { LinkRefused, portalsOf, setRelay, setShowNumbers, startLink, unlinkRoom, type LinkResult } from '../linking.js';
import { txnId } from '../portal/txn.js';
import { openChat } from '../portal/open.js';
import { DEFAULT_NAME_TEMPLATE } from '../portal/matrix/origin.js';
import type { LinkDirection, PortalRow } from '../store/store.js';
import { CommandError, type Command, type CommandCall } from './types.js';

/** A LinkRefused becomes the answer. */
async function refusals<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof LinkRefused) throw new CommandError(err.message);
    throw err;
  }
}

const actor = (call: CommandCall) => ({ userId: call.sender, level: call.level });

const DIRECTIONS: Record<LinkDirection, string> = {
  both: 'both ways',
  in: 'into this room only',
  out: 'from this room only',
};

const LINK_USAGE = 'Usage: link <network> <remote chat> [both|in|out] [as <name template>], e.g. link telegram -1001234 as [tg] {name}';

/** `link <network> <chat> [both|in|out] [as <template…>]`: the template is the rest of the line. */
function parseLinkArgs(args: string[]): { network: string; chat: string; direction: LinkDirection; nameTemplate?: string } {
  const asAt = args.findIndex((a, i) => i >= 2 && a.toLowerCase() === 'as');
  const head = asAt < 0 ? args : args.slice(0, asAt);
  const nameTemplate = asAt < 0 ? undefined : args.slice(asAt + 1).join(' ');
  const [network, chat, way = 'both'] = head;
  const direction = way.toLowerCase() as LinkDirection;
  if (!network || !chat || head.length > 3 || !(direction in DIRECTIONS) || nameTemplate === '') throw new CommandError(LINK_USAGE);
  return { network, chat, direction, ...(nameTemplate !== undefined && { nameTemplate }) };
}

async function link(call: CommandCall): Promise<string> {
  const { network, chat, direction, nameTemplate } = parseLinkArgs(call.args);
  const options = { direction, ...(nameTemplate !== undefined && { nameTemplate }) };
  const start = await refusals(() => startLink(call.ctx, actor(call), call.roomId, network.toLowerCase(), chat, options));
  if (start.status === 'linked') return linkedAnswer(call, start.result, direction);
  // The answer comes later, as its own notice, once the chat's admins confirmed (or did not).
  void start.done.then(
    (result) => linkedAnswer(call, result, direction),
    (err: unknown) => `The link to ${network} chat ${chat} was not made: ${(err as Error).message}`,
  ).then((body) => call.ctx.matrix.sendEvent(call.roomId, call.ctx.naming.botUserId, 'm.room.message', { msgtype: 'm.notice', body }, txnId('link-done', call.eventId)))
    .catch((err: unknown) => call.ctx.log.warn({ roomId: call.roomId, err: String(err) }, 'could not post the link result'));
  return `Almost there. ${start.instructions} (within ${Math.round(start.expiresInS / 60)} minutes). I will confirm here.`;
}

function linkedAnswer(call: CommandCall, result: LinkResult, direction: LinkDirection): string {
  const { portal, chatName, bridgeStateMissing, relayMissing } = result;
  const displayName = call.ctx.sessions.network(portal.network)!.adapter.displayName;
  const relayNote = portal.relay === false
    ? 'Relaying is off here.'
    : relayMissing
      ? `The relay account cannot reach that chat (${relayMissing}): only Matrix users with their own ${portal.network} login are bridged.`
      : `Matrix users without their own ${portal.network} login are relayed ("relay off" to stop).`;
  const stateNote = bridgeStateMissing ? '\n(I could not mark the room as bridged: give the bridge bot power level 50 so clients can show it.)' : '';
  const wayNote = direction === 'both' ? '' : ` Messages go ${DIRECTIONS[direction]}.`;
  const others = call.ctx.store.portalsByRoom(call.roomId).length - 1;
  const named = portal.nameTemplate ? ` Its people are named "${portal.nameTemplate}" in the other chats.` : '';
  const gatewayNote = others > 0 ? ` This room now links ${others + 1} chats: what is said in one reaches the others ("links" lists them).${named}` : '';
  return `Linked this room to ${displayName} chat ${chatName ? `"${chatName}" (${portal.chatId})` : portal.chatId}.${wayNote} ${relayNote}${gatewayNote}${stateNote}`;
}

async function unlink(call: CommandCall): Promise<string> {
  const portal = await refusals(() => unlinkRoom(call.ctx, actor(call), call.roomId, call.args[0], call.args[1]));
  const left = call.ctx.store.portalsByRoom(call.roomId).length;
  return `Unlinked this room from ${portal.network} chat ${portal.chatId}. ${left ? `It still links ${left} chat${left > 1 ? 's' : ''} ("links" lists them).` : 'Nothing is bridged here any more.'}`;
}

async function relay(call: CommandCall): Promise<string> {
  const mode = call.args[0]?.toLowerCase();
  if (mode !== 'on' && mode !== 'off') throw new CommandError('Usage: relay on|off [network [chat]]');
  const portal = await refusals(() => setRelay(call.ctx, actor(call), call.roomId, mode === 'on', call.args[1], call.args[2]));
  return mode === 'on'
    ? `Relaying is on: Matrix users without a ${portal.network} login speak here through the relay account.`
    : `Relaying is off: only Matrix users with their own ${portal.network} login are bridged here; others are told so.`;
}

async function numbers(call: CommandCall): Promise<string> {
  const mode = call.args[0]?.toLowerCase();
  if (mode !== 'visible' && mode !== 'masked') throw new CommandError('Usage: numbers visible|masked [network [chat]]');
  const portal = await refusals(() => setShowNumbers(call.ctx, actor(call), call.roomId, mode === 'visible', call.args[1], call.args[2]));
  return mode === 'visible'
    ? `Contact cards from ${portal.network} show phone numbers whole in this room.`
    : `Contact cards from ${portal.network} show phone numbers masked in this room (${portal.network}'s own rule applies).`;
}

async function listPortals(call: CommandCall): Promise<string> {
  const all = call.args[0] === 'all';
  const mine = await refusals(() => portalsOf(call.ctx, actor(call), all));
  if (!mine.length) return all ? 'The bridge has no portals.' : 'You are in no bridged rooms.';
  const line = (p: PortalRow) => `• ${p.network} ${p.kind === 'dm' ? 'direct chat' : 'group'} ${p.name ? `"${p.name}" ` : ''}(${call.ctx.naming.publicText(p.network, p.chatId)}) → ${p.roomId}${p.relay === false ? ', relay off' : ''}`;
  return [all ? 'All portals:' : 'Your portals:', ...mine.map(line)].join('\n');
}

/** The chats linked to this room, with the way each carries messages. */
async function links(call: CommandCall): Promise<string> {
  const portals = call.ctx.store.portalsByRoom(call.roomId);
  if (!portals.length) return 'This room is not linked to any chat.';
  const line = (p: PortalRow) => `• ${p.network} ${p.name ? `"${p.name}" ` : ''}(${call.ctx.naming.publicText(p.network, p.chatId)}): ${p.direction ?? 'both'} (${DIRECTIONS[p.direction ?? 'both']})${p.relay === false ? ', relay off' : ''}${portals.length > 1 ? `, its people named "${p.nameTemplate ?? DEFAULT_NAME_TEMPLATE}" elsewhere` : ''}`;
  return ['Chats linked to this room:', ...portals.map(line)].join('\n');
}

async function open(call: CommandCall): Promise<string> {
  const [network, chat, ...rest] = call.args;
  if (!network || !chat || rest.length) throw new CommandError('Usage: open <network> <chat>, e.g. open xmpp room@conference.example.org');
  const opened = await refusals(() => openChat(call.ctx, call.sender, network.toLowerCase(), chat));
  const what = `${opened.kind === 'dm' ? 'your chat with' : 'the group chat'} ${opened.name ? `"${opened.name}" (${chat})` : chat}`;
  return opened.existed ? `That chat is bridged already: I invited you to its room for ${what} (${opened.roomId}).` : `I opened a room for ${what} and invited you (${opened.roomId}).`;
}

async function sync(call: CommandCall): Promise<string> {
  const lines = [];
  for (const portal of call.portals) lines.push(`${portal.network}: ${await call.services.syncPortal(portal)}`);
  return lines.join('\n');
}

export const portalCommands: Command[] = [
  { name: 'link', usage: '<network> <remote chat> [both|in|out] [as <name template>]', help: 'bridge this room to a remote group chat; several chats, of any networks, may be linked to one room, and the template names their people in the others, e.g. "as [tg] {name}" (room admins)', level: 'user', place: 'anywhere', run: link },
  { name: 'links', help: 'list the chats linked to this room and the way each carries messages', level: 'user', place: 'portal', run: links },
  { name: 'unlink', usage: '[network [chat]]', help: 'stop bridging this room, or one of the chats linked to it (room admins)', level: 'user', place: 'portal', run: unlink },
  { name: 'relay', usage: 'on|off [network [chat]]', help: 'whether Matrix users without a login are relayed here (room admins)', level: 'user', place: 'portal', run: relay },
  { name: 'numbers', usage: 'visible|masked [network [chat]]', help: 'whether contact cards shared in this room show phone numbers whole (room admins)', level: 'user', place: 'portal', run: numbers },
  { name: 'portals', usage: '[all]', help: 'list your bridged rooms ("all": every portal, bridge admins)', level: 'user', place: 'anywhere', run: listPortals },
  { name: 'open', usage: '<network> <chat>', help: 'open a room for a chat your own login can reach: join a group (an XMPP MUC) or start a direct chat', level: 'user', place: 'anywhere', run: open },
  { name: 'sync', help: "refresh this room's name, topic and member profiles from the remote chat", level: 'user', place: 'portal', run: sync },
];

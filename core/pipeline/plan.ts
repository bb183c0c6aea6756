/**
 * What becomes of one Matrix event from a transaction: bridged to some of its room's
 * portals, handled by the bot (a room without portals), or nothing. Member events also
 * teach the room cache display names, and reach the portals of networks that show a
 * room's Matrix members as themselves (a gateway's hosted rooms, `speaksAs`).
 */
import type { BridgeContext } from '../context.js';
import type { MatrixClientEvent } from '../convert/matrix-types.js';
import { matrixRoomId, matrixUserId } from '../ids.js';
import { isPortalCommand } from '../commands/prefix.js';
import { BRIDGED_MATRIX_TYPES, BRIDGED_STATE_TYPES } from '../portal/matrix/index.js';
import { targetPortals } from '../portal/matrix/origin.js';
import type { PortalRow } from '../store/store.js';

export type EventPlan = { kind: 'nothing' } | { kind: 'direct' } | { kind: 'bridge'; targets: PortalRow[] };

export function planEvent(ctx: BridgeContext, raw: MatrixClientEvent): EventPlan {
  const { store, naming } = ctx;
  ctx.encryption?.facts.observe(raw);
  const member = raw.type === 'm.room.member' && typeof raw.state_key === 'string';
  if (member) {
    const name = (raw.content as { displayname?: unknown }).displayname;
    ctx.rooms.rememberName(matrixRoomId(raw.room_id), matrixUserId(raw.state_key!), typeof name === 'string' ? name : undefined);
    // Gone (left, kicked, banned): whoever we made a member must be joined or invited again when next needed.
    const membership = (raw.content as { membership?: unknown }).membership;
    if (membership === 'leave' || membership === 'ban') ctx.rooms.forgetMember(matrixRoomId(raw.room_id), matrixUserId(raw.state_key!));
  }
  // Our bot: never bridged. Our ghosts: an echo of what we sent, except in a room
  // linked to several chats (a gateway room), where a ghost's event goes on to the
  // chats of the other networks, through their relays.
  const ghost = naming.isBridgeUser(raw.sender) ? naming.parseGhost(raw.sender) ?? 'bot' : undefined;
  if (ghost === 'bot') return { kind: 'nothing' };
  const portals = store.portalsByRoom(matrixRoomId(raw.room_id));
  if (member) {
    // A member coming, renamed or going: news only where members are shown as themselves, and not one's own ghosts there.
    const showing = portals.filter((p) => ctx.sessions.capabilities(p.network)?.speaksAs && naming.parseGhost(raw.state_key!)?.network !== p.network);
    if (showing.length) return { kind: 'bridge', targets: showing };
  }
  // Encrypted: what it is shows once opened, in the portal's queue (engine.ts), or, with
  // encryption off, its sender is told there why it is not bridged.
  if (raw.type === 'm.room.encrypted' && raw.state_key === undefined) {
    return portals.length ? { kind: 'bridge', targets: targetPortals(portals, ghost?.network, {}) } : ghost || !ctx.encryption ? { kind: 'nothing' } : { kind: 'direct' };
  }
  // Encryption turned on in a DM portal: the bot must join (its device is the bridge's one).
  if (raw.type === 'm.room.encryption' && raw.state_key === '' && ctx.encryption && !ghost) {
    const dms = portals.filter((p) => p.kind === 'dm');
    return dms.length ? { kind: 'bridge', targets: dms } : { kind: 'nothing' };
  }
  const bridged = BRIDGED_MATRIX_TYPES.has(raw.type) && (raw.state_key === undefined || (raw.state_key === '' && BRIDGED_STATE_TYPES.has(raw.type))) && !isPortalCommand(raw);
  if (!portals.length || !bridged) return ghost ? { kind: 'nothing' } : { kind: 'direct' };
  return { kind: 'bridge', targets: targetPortals(portals, ghost?.network, raw.content) };
}

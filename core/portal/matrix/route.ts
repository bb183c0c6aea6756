/**
 * Which login carries a Matrix user's event to the remote network: their own login
 * there (puppeting), else the network's relay login if they may be relayed, else none
 * (and the reason, which the sender is told).
 */
import { permissionOf } from '../../config.js';
import type { BridgeContext } from '../../context.js';
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { MessageContent, RelayedSender } from '../../events.js';
import type { MatrixRoomId, MatrixUserId } from '../../ids.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { singleLineName } from '../../safety.js';
import { originPortal, relayedGhostName } from './origin.js';

export type Route = { ok: true; live: LiveLogin; relayedFor?: RelayedSender } | { ok: false; reason: string };

export function routeFor(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent): Route {
  const sender = ev.sender as MatrixUserId;
  const roomId = ev.room_id as MatrixRoomId;
  const displayName = ctx.rooms.displayName(roomId, sender);
  if (portal.receiver) {
    const live = ctx.sessions.get(portal.receiver);
    if (!live) return { ok: false, reason: `the ${portal.network} login of this chat is not connected` };
    if (live.login.kind === 'relay') {
      // A direct chat with the relay account, opened by an invite link: people in the room speak through it, named.
      if (permissionOf(ctx.config, sender) === 'none') return { ok: false, reason: 'you are not allowed to use this bridge' };
      return { ok: true, live, relayedFor: { displayName, matrixId: sender } };
    }
    if (live.login.owner !== sender) return { ok: false, reason: 'only the owner of this direct chat can write to it' };
    return { ok: true, live };
  }
  const ghost = ctx.naming.parseGhost(sender);
  if (ghost) {
    // A person of another chat in a room linked to several: always relayed, named as their chat's link says.
    if (portal.relay === false) return { ok: false, reason: 'relaying is off in this room' };
    const relay = ctx.sessions.relay(portal.network);
    if (!relay) return { ok: false, reason: `${portal.network} has no relay to carry messages from other chats` };
    const origin = originPortal(ctx.store.portalsByRoom(roomId), ev.content);
    return { ok: true, live: relay, relayedFor: { displayName: relayedGhostName(displayName, ghost.network, origin), matrixId: sender } };
  }
  if (ctx.sessions.capabilities(portal.network)?.speaksAs) {
    // A gateway's own room: everyone speaks as themselves through its relay, login or not.
    const relay = ctx.sessions.relay(portal.network);
    if (!relay) return { ok: false, reason: `${portal.network} hosts no rooms here` };
    if (permissionOf(ctx.config, sender) === 'none') return { ok: false, reason: 'you are not allowed to use this bridge' };
    return { ok: true, live: relay, relayedFor: { displayName, matrixId: sender } };
  }
  const own = ctx.sessions.ownedBy(portal.network, sender);
  if (own) return { ok: true, live: own };
  const level = permissionOf(ctx.config, sender);
  if (level === 'none') return { ok: false, reason: 'you are not allowed to use this bridge' };
  if (portal.relay === false) return { ok: false, reason: `relaying is off in this room; log in to ${portal.network} to write here` };
  const relay = ctx.sessions.relay(portal.network);
  if (!relay) return { ok: false, reason: `you have no ${portal.network} login, and ${portal.network} has no relay` };
  return { ok: true, live: relay, relayedFor: { displayName, matrixId: sender } };
}

/** Put the relayed sender's name in front of the text, per the network's template, in bold. */
export function applyRelayTemplate(content: MessageContent, template: string, who: RelayedSender): MessageContent {
  const [before, after] = template.split('{name}') as [string, string | undefined];
  // A display name with a line break could fake a second speaker on the other side.
  const name = singleLineName(who.displayName);
  const prefix = before + name + (after ?? '');
  const shift = prefix.length;
  const spans = (content.spans ?? []).map((s) => ({ ...s, offset: s.offset + shift }));
  spans.unshift({ kind: 'bold', offset: before.length, length: name.length });
  return { ...content, text: prefix + content.text, spans };
}

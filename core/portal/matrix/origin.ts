/**
 * Gateway rooms: a room linked to several chats, where what one chat's people say (as
 * ghosts) goes on to the other chats. The rules for which chat a ghost's event came
 * from, which chats it goes to, and how its sender is named there.
 */
import type { NetworkId } from '../../ids.js';
import type { PortalRow } from '../../store/store.js';
import { portalTag, TXN_KEY, txnPortalTag } from '../txn.js';

/** How a chat's people are named in the room's other chats unless the link says otherwise. */
export const DEFAULT_NAME_TEMPLATE = '{name} ({network})';

/**
 * The chat a ghost's event came from: the portal tag in the transaction id the bridge
 * put into the content when it sent it. Undefined for events without one (sent by an
 * older version, or by someone else with the appservice's token).
 */
export function originPortal(portals: readonly PortalRow[], content: Record<string, unknown> | undefined): PortalRow | undefined {
  const tag = txnPortalTag(content?.[TXN_KEY]);
  return tag === undefined ? undefined : portals.find((p) => portalTag(p.portalKey) === tag);
}

/**
 * The portals a room event goes out to: every chat that takes messages from the room,
 * except, for a ghost's event, the chat it came from. Without a known origin, a ghost's
 * event goes to no chat of its own network (the safe side: never back where it came from).
 */
export function targetPortals(portals: readonly PortalRow[], ghostNetwork: NetworkId | undefined, content: Record<string, unknown> | undefined): PortalRow[] {
  const out = portals.filter((p) => p.direction !== 'in');
  if (ghostNetwork === undefined) return out;
  const origin = originPortal(portals, content);
  return origin ? out.filter((p) => p.portalKey !== origin.portalKey) : out.filter((p) => p.network !== ghostNetwork);
}

/** A ghost's name as the other chats see it: the origin link's template, `{name}` and `{network}` filled in. */
export function relayedGhostName(displayName: string, network: NetworkId, origin: PortalRow | undefined): string {
  const template = origin?.nameTemplate ?? DEFAULT_NAME_TEMPLATE;
  // The network first: a display name may contain "{network}" and must stay as it is.
  return template.replaceAll('{network}', network).replaceAll('{name}', displayName);
}

/** Why a name template cannot be used, or undefined. */
export function nameTemplateProblem(template: string): string | undefined {
  if (!template.includes('{name}')) return 'it must contain {name}';
  if (template.length > 64) return 'it must be at most 64 characters';
  if (/[\r\n]/.test(template)) return 'it must be one line';
  return undefined;
}

/**
 * A remote member's standing -> their ghost's power level in the portal room. Only
 * between the room's default and moderator (50): a channel operator may change the topic
 * and remove messages on Matrix as on the network, and nothing a remote network says can
 * lift a ghost higher or lower one a room admin placed higher by hand.
 */
import type { RemoteEvent } from '../../events.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';

export const MODERATOR_LEVEL = 50;

type PowerLevels = Record<string, unknown> & { users?: Record<string, unknown>; users_default?: unknown; events?: Record<string, unknown>; state_default?: unknown };

const level = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isInteger(v) ? v : fallback);

export async function remoteRole(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: Extract<RemoteEvent, { type: 'role' }>): Promise<Outcome> {
  if (!portal.roomId || portal.kind !== 'group') return ignored('roles are kept for group rooms only');
  const ghost = await ctx.ghosts.ensure(portal.network, ev.user, live.session);
  const levels = (await ctx.matrix.roomState(portal.roomId, 'm.room.power_levels', '')) as PowerLevels | undefined;
  if (!levels) return ignored('the room has no power levels');
  const usersDefault = level(levels.users_default, 0);
  const current = level(levels.users?.[ghost], usersDefault);
  if (current > MODERATOR_LEVEL) return ignored('the ghost holds more than moderator power, given on Matrix');
  const wanted = ev.role === 'moderator' ? Math.max(MODERATOR_LEVEL, usersDefault) : usersDefault;
  if (current === wanted) return ignored('the ghost already has that power level');
  const needed = level(levels.events?.['m.room.power_levels'], level(levels.state_default, 50));
  const bot = await ctx.matrix.powerLevel(portal.roomId, ctx.naming.botUserId);
  if (bot < needed || bot < wanted) return ignored('the bridge bot may not change power levels in this room');
  if (ev.role === 'moderator') await ctx.rooms.ensureMember(portal.roomId, ghost);
  const users = { ...(levels.users ?? {}) };
  if (wanted === usersDefault) delete users[ghost];
  else users[ghost] = wanted;
  await ctx.matrix.sendState(portal.roomId, ctx.naming.botUserId, 'm.room.power_levels', '', { ...levels, users });
  return ok();
}

/**
 * `migrate-identifiers`: ghosts made before phone numbers were kept out of Matrix IDs
 * (identity/phone.ts) still have a number in their id. Each gets its pseudonymous
 * successor: the new ghost joins every room the old one is in (invited by the old one,
 * which can, in a direct chat it opened), takes over its power level, and the old one
 * leaves; the bridge's own record of who sent what follows. Nothing already sent is
 * rewritten on Matrix: old messages stay under the old ghost, whose profile now shows the
 * number masked. Running it again finds nothing left to do.
 */
import type { BridgeContext } from '../context.js';
import type { MatrixRoomId, MatrixUserId, NetworkId, RemoteUserId } from '../ids.js';
import type { GhostRow } from '../store/store.js';

export interface MigratedGhost {
  network: NetworkId;
  remote: RemoteUserId;
  from: MatrixUserId;
  to: MatrixUserId;
  rooms: MatrixRoomId[];
  /** Rooms where a step failed (the bot reports them; running again retries the ghost). */
  problems: string[];
}

export async function migrateIdentifiers(ctx: BridgeContext): Promise<MigratedGhost[]> {
  const done: MigratedGhost[] = [];
  for (const network of ctx.naming.networks()) {
    for (const old of ctx.store.ghostsOf(network)) {
      const to = ctx.naming.ghostUserId(old.network, old.remoteId);
      if (to === old.userId || !ctx.naming.phones.hiddenNumberIn(old.network, old.remoteId)) continue;
      done.push(await replaceGhost(ctx, old, to));
    }
  }
  return done;
}

async function replaceGhost(ctx: BridgeContext, old: GhostRow, to: MatrixUserId): Promise<MigratedGhost> {
  const rooms = await ctx.matrix.joinedRooms(old.userId);
  const problems: string[] = [];
  // The mapping moves first: (network, remote id) is unique, and from now on the number's ghost is the new one.
  ctx.store.deleteGhost(old.userId);
  await ctx.ghosts.ensure(old.network, { id: old.remoteId, ...(old.name && { name: old.name }) }, undefined);
  const masked = ctx.naming.publicText(old.network, old.name ?? '') || ctx.naming.fallbackName(old.network, old.remoteId);
  if (masked) await ctx.matrix.setDisplayName(old.userId, masked).catch((err: unknown) => problems.push(`old ghost's name: ${String(err)}`));
  for (const roomId of rooms) {
    try {
      await ctx.matrix.invite(roomId, old.userId, to).catch(() => undefined); // already invited, or a public room
      await ctx.matrix.join(roomId, to);
      // Power is a courtesy: a room where the old ghost had none to hand over still moves on.
      await handOverPower(ctx, roomId, old.userId, to).catch((err: unknown) => ctx.log.warn({ roomId, to, err: String(err) }, 'power level not handed over'));
      await ctx.matrix.leave(roomId, old.userId);
      ctx.rooms.forgetMember(roomId, old.userId);
    } catch (err) {
      problems.push(`${roomId}: ${String(err)}`);
    }
  }
  ctx.store.reassignSender(old.userId, to);
  // The old id is logged as its pseudonymous successor's predecessor only: it holds the number.
  if (problems.length) ctx.log.warn({ to, problems }, 'ghost with a phone number in its id replaced, with problems');
  else ctx.log.info({ to, rooms: rooms.length }, 'ghost with a phone number in its id replaced');
  return { network: old.network, remote: old.remoteId, from: old.userId, to, rooms, problems };
}

/**
 * The new ghost gets the old one's power level, set by the old one while it still can. In
 * a direct chat the ghost opened, it may be a creator of a version 12 room, listed nowhere
 * yet all-powerful: its successor gets 100, the most a creator can hand on.
 */
async function handOverPower(ctx: BridgeContext, roomId: MatrixRoomId, from: MatrixUserId, to: MatrixUserId): Promise<void> {
  // Read as the old ghost: the bot is not in a direct chat the ghost opened.
  const levels = await ctx.matrix.roomState(roomId, 'm.room.power_levels', '', from);
  if (!levels) return;
  const users = { ...((levels.users as Record<string, number> | undefined) ?? {}) };
  const opened = ctx.store.portalsByRoom(roomId).some((p) => p.kind === 'dm');
  const level = users[from] ?? (opened ? 100 : undefined);
  if (level === undefined) return;
  users[to] = level;
  delete users[from];
  await ctx.matrix.sendState(roomId, from, 'm.room.power_levels', '', { ...levels, users });
}

/** What a migration did, for people: the old ids hold the numbers, so it names them only masked. */
export function migrationReport(naming: BridgeContext['naming'], done: readonly MigratedGhost[]): string {
  if (!done.length) return 'No ghost has a phone number in its Matrix ID: nothing to do.';
  const line = (m: MigratedGhost) => {
    const who = naming.fallbackName(m.network, m.remote) ?? 'a ghost';
    return `• ${who}: now ${m.to}, in ${m.rooms.length} room${m.rooms.length === 1 ? '' : 's'}${m.problems.length ? `; ${m.problems.length} room${m.problems.length === 1 ? '' : 's'} not done (see the log): run it again to retry` : ''}`;
  };
  return [`Replaced ${done.length} ghost${done.length === 1 ? '' : 's'}. Old messages stay under the old ghosts, whose names now show the number masked.`, ...done.map(line)].join('\n');
}

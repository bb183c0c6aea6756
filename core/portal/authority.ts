/**
 * Who may act on a bridged message: the one rule (DESIGN.md, "Who may act on a message")
 * for both directions and every network. An edit, a deletion or a reaction removal is
 * applied only when its actor sent the original; a deletion also when the actor
 * moderates the chat, as the place it comes from defines it (Matrix: the room's redact
 * power; a network: the adapter's `moderator` flag on the event). A message whose sender
 * the bridge never recorded (rows older than migration 0003) can be changed by nobody.
 *
 * Both sides name actors as Matrix user ids: a remote person by their ghost, a Matrix
 * user by themselves, which is also how `MessagePart.sender` records the original.
 */
import type { BridgeContext } from '../context.js';
import type { MatrixRoomId, MatrixUserId } from '../ids.js';

export type MessageAction = 'edit' | 'delete';

export function mayActOn(action: MessageAction, original: MatrixUserId | undefined, actor: MatrixUserId, actorModerates = false): boolean {
  if (original !== undefined && original === actor) return true;
  return action === 'delete' && actorModerates;
}

/** Whether `user` holds the room's `redact` power (default 50): may remove others' messages there. Unknown power: no. */
export async function holdsRedactPower(ctx: BridgeContext, roomId: MatrixRoomId, user: MatrixUserId): Promise<boolean> {
  try {
    const levels = await ctx.matrix.roomState(roomId, 'm.room.power_levels', '');
    const needed = typeof levels?.redact === 'number' ? levels.redact : 50;
    return (await ctx.matrix.powerLevel(roomId, user)) >= needed;
  } catch {
    return false;
  }
}

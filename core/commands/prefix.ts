/** Commands in a bridged room start with this, so ordinary messages are never taken for commands. */
export const PORTAL_PREFIX = '!sb ';

/** Whether a Matrix event in a bridged room is a bot command rather than talk to bridge. */
export function isPortalCommand(ev: { type: string; content: Record<string, unknown> }): boolean {
  return ev.type === 'm.room.message' && typeof ev.content.body === 'string' && ev.content.body.trimStart().startsWith(PORTAL_PREFIX.trim());
}

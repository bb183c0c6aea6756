/** Commands in a bridged room start with this, so ordinary messages are never taken for commands. */
export const PORTAL_PREFIX = '!sb ';

/** The prefix as a word of its own: `!sb help`, not `!sbhelp`. */
export const PREFIX_RE = new RegExp(`^${PORTAL_PREFIX.trim()}(?:\\s+|$)`);

/** Whether a Matrix event in a bridged room is a bot command rather than talk to bridge. */
export function isPortalCommand(ev: { type: string; content: Record<string, unknown> }): boolean {
  return ev.type === 'm.room.message' && typeof ev.content.body === 'string' && PREFIX_RE.test(ev.content.body.trimStart());
}


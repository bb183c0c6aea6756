/**
 * A Matrix user's presence (an `m.presence` ephemeral event, MSC2409) -> each of their
 * own logins whose network takes it. Synapse repeats a presence whenever its
 * "last active" time moves, so only a change of state or status goes out.
 */
import type { BridgeContext } from '../../context.js';
import type { OwnPresence } from '../../adapter.js';
import type { PresenceState } from '../../events.js';
import { singleLineName } from '../../safety.js';

const STATES: readonly PresenceState[] = ['online', 'unavailable', 'offline'];
const MAX_STATUS = 200;

/** Per bridge: what was last sent for each login, so repeats are dropped. */
const lastSentByBridge = new WeakMap<BridgeContext, Map<string, string>>();

/** The presence an `m.presence` content describes, or undefined when it is not one. */
export function ownPresence(content: Record<string, unknown>): OwnPresence | undefined {
  const state = content.presence;
  if (typeof state !== 'string' || !STATES.includes(state as PresenceState)) return undefined;
  const raw = typeof content.status_msg === 'string' && content.status_msg.trim() ? singleLineName(content.status_msg).slice(0, MAX_STATUS).trim() : '';
  return { state: state as PresenceState, ...(raw && { status: raw }) };
}

export async function matrixPresence(ctx: BridgeContext, user: string, content: Record<string, unknown>): Promise<void> {
  if (ctx.naming.isBridgeUser(user)) return;
  const presence = ownPresence(content);
  if (!presence) return;
  let lastSent = lastSentByBridge.get(ctx);
  if (!lastSent) lastSentByBridge.set(ctx, (lastSent = new Map()));
  const fingerprint = JSON.stringify(presence);
  for (const live of ctx.sessions.all()) {
    const { login, session } = live;
    if (login.owner !== user || login.kind !== 'puppet' || !session.setPresence || !ctx.sessions.capabilities(login.network)?.presence) continue;
    if (lastSent.get(login.loginId) === fingerprint) continue;
    lastSent.set(login.loginId, fingerprint);
    await session.setPresence(presence).catch((err: unknown) => {
      lastSent.delete(login.loginId);
      ctx.log.debug({ login: login.loginId, err: String(err) }, 'presence not delivered');
    });
  }
}

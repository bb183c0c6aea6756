/**
 * What a login can do now: the adapter's declared capabilities, narrowed by what its
 * connection reports (a server without IRCv3 message tags has no reactions). One place,
 * so every Matrix-side handler picks its fallback from the same answer.
 */
import type { AdapterSession, Capabilities } from './adapter.js';
import type { LiveLogin } from './accounts/sessions.js';

export function capabilitiesOf(live: Pick<LiveLogin, 'network' | 'session'>, relayed: boolean): Capabilities {
  return narrowed(live.network.adapter.capabilities, live.session, relayed);
}

/** The declared capabilities as one session narrows them now. */
export function narrowed(declared: Capabilities, session: Pick<AdapterSession, 'capabilitiesNow'>, relayed: boolean): Capabilities {
  const now = session.capabilitiesNow?.(relayed);
  if (!now) return declared;
  // Narrow only: a connection cannot claim what the adapter never declared.
  const reactions = declared.reactions === 'none' || now.reactions === undefined ? declared.reactions : now.reactions;
  return {
    ...declared,
    edits: declared.edits && (now.edits ?? true),
    deletes: declared.deletes && (now.deletes ?? true),
    replies: declared.replies && (now.replies ?? true),
    typing: declared.typing && (now.typing ?? true),
    reactions,
  };
}

/** Dispatch of a remote event that belongs to a portal to its handler. */
import { assertNever, type RemoteEvent } from '../../events.js';
import type { BridgeContext } from '../../context.js';
import { ignored, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { remoteChatInfo, remoteChatMoved, remoteMember, remoteReceipt, remoteTyping } from './chat.js';
import { remoteDelete, remoteEdit } from './edit-delete.js';
import { remoteDmInviteAccepted } from './dm-invite.js';
import { remoteMessage } from './message.js';
import { remoteReaction } from './reaction.js';
import { remoteRole } from './role.js';

export function handleRemoteEvent(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: RemoteEvent): Promise<Outcome> {
  // What the user did from another client of theirs: messages are shown as marked notices
  // (message.ts); edits, reactions and the rest would need double puppeting to be faithful.
  if (ev.type !== 'message' && 'sender' in ev && ev.sender.isSelf) return Promise.resolve(ignored('own action from another client (double puppeting is not configured)'));
  switch (ev.type) {
    case 'message': return remoteMessage(ctx, portal, live, ev);
    case 'edit': return remoteEdit(ctx, portal, live, ev);
    case 'delete': return remoteDelete(ctx, portal, live, ev);
    case 'reaction':
    case 'reaction-set': return remoteReaction(ctx, portal, live, ev);
    case 'typing': return remoteTyping(ctx, portal, live, ev);
    case 'receipt': return remoteReceipt(ctx, portal, live, ev);
    case 'chat-info': return remoteChatInfo(ctx, portal, live, ev);
    case 'member': return remoteMember(ctx, portal, live, ev);
    case 'role': return remoteRole(ctx, portal, live, ev);
    case 'chat-moved': return remoteChatMoved(ctx, portal, live, ev);
    case 'dm-invite-accepted': return remoteDmInviteAccepted(ctx, portal, live, ev);
    case 'presence':
    case 'contact-request':
    case 'user-info': return Promise.resolve(ignored('not a portal event'));
    default: return assertNever(ev);
  }
}

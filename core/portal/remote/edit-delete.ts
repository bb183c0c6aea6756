/** Remote edits and deletions -> Matrix replacements and redactions of the mapped events. */
import { createHash } from 'node:crypto';
import type { RemoteEvent } from '../../events.js';
import { asEdit, textToMatrix } from '../../convert/to-matrix.js';
import type { BridgeContext } from '../../context.js';
import { ignored, ok, type Outcome } from '../../pipeline/outcome.js';
import type { LiveLogin } from '../../accounts/sessions.js';
import type { PortalRow } from '../../store/store.js';
import { portalTxnId } from '../txn.js';
import { mayActOn } from '../authority.js';
import { EDIT_CUT_MARKER, fitContent, MAX_CONTENT_BYTES } from '../../convert/fit.js';

type RemoteEdit = Extract<RemoteEvent, { type: 'edit' }>;
type RemoteDelete = Extract<RemoteEvent, { type: 'delete' }>;

export async function remoteEdit(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: RemoteEdit): Promise<Outcome> {
  const target = ctx.store.messageParts(portal.portalKey, ev.target)[0];
  if (!target || !portal.roomId) return ignored('edit of a message that was never bridged');
  if (!mayActOn('edit', target.sender, ctx.naming.ghostUserId(portal.network, ev.sender.id))) return ignored('edit by someone other than the original sender');
  const ghostOf = (u: Parameters<typeof ctx.naming.ghostUserId>[1]) => ctx.naming.ghostUserId(portal.network, u);
  const content = textToMatrix(ev.content, ghostOf);
  if (!content) return ignored('edit without text');
  const sender = await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
  await ctx.rooms.ensureMember(portal.roomId, sender);
  // Without an edit id, the new text itself identifies the edit (a repeat is the same edit).
  const editKey = ev.id ?? createHash('sha256').update(ev.content.text).digest('base64url');
  // An edit carries its text twice (fallback and m.new_content): each half of the room an event has.
  const fitted = fitContent(content, MAX_CONTENT_BYTES / 2, EDIT_CUT_MARKER).content;
  await ctx.matrix.sendEvent(portal.roomId, sender, 'm.room.message', asEdit(fitted, target.eventId), portalTxnId(portal.portalKey, 'edit', ev.target, editKey));
  return ok();
}

export async function remoteDelete(ctx: BridgeContext, portal: PortalRow, live: LiveLogin, ev: RemoteDelete): Promise<Outcome> {
  const parts = ctx.store.messageParts(portal.portalKey, ev.target);
  if (!parts.length || !portal.roomId) return ignored('delete of a message that was never bridged (or already deleted)');
  if (!mayActOn('delete', parts[0]!.sender, ctx.naming.ghostUserId(portal.network, ev.sender.id), ev.moderator === true)) {
    return ignored('delete by someone other than the original sender or a moderator');
  }
  const sender = await ctx.ghosts.ensure(portal.network, ev.sender, live.session);
  for (const p of parts) {
    const txn = portalTxnId(portal.portalKey, 'redact', ev.target, p.part);
    await ctx.matrix.redact(p.roomId, sender, p.eventId, txn).catch(async (err: { status?: number }) => {
      // A remote moderator's ghost may lack the power to redact; the bot has it in group rooms.
      if (err.status !== 403) throw err;
      await ctx.matrix.redact(p.roomId, ctx.naming.botUserId, p.eventId, txn);
    });
  }
  ctx.store.deleteMessage(portal.portalKey, ev.target);
  return ok();
}

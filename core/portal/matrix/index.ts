/** Dispatch of a Matrix room event that belongs to a portal to its handler. */
import type { MatrixClientEvent } from '../../convert/matrix-types.js';
import type { BridgeContext } from '../../context.js';
import { ignored, type Outcome } from '../../pipeline/outcome.js';
import type { PortalRow } from '../../store/store.js';
import type { Attempt } from '../../pipeline/inbox-runner.js';
import { matrixMembership } from './membership.js';
import { matrixMessage } from './message.js';
import { matrixReaction, matrixRedaction } from './reaction-redaction.js';
import { matrixRoomInfo } from './state.js';
import { matrixTombstone } from './tombstone.js';
import { encryptedWithoutEncryption, encryptionTurnedOn } from './encryption.js';

/** Event types that go through the durable inbox towards the remote network. */
export const BRIDGED_MATRIX_TYPES = new Set(['m.room.message', 'm.sticker', 'm.reaction', 'm.room.redaction', 'm.room.name', 'm.room.topic', 'm.room.tombstone']);

/** State events among those: they go through the portal's queue like messages. */
export const BRIDGED_STATE_TYPES = new Set(['m.room.name', 'm.room.topic', 'm.room.tombstone']);

export function handleMatrixEvent(ctx: BridgeContext, portal: PortalRow, ev: MatrixClientEvent, attempt: Attempt): Promise<Outcome> {
  switch (ev.type) {
    case 'm.room.message':
      return matrixMessage(ctx, portal, ev, attempt);
    case 'm.sticker':
      return matrixMessage(ctx, portal, { ...ev, content: { ...ev.content, msgtype: 'm.image' } }, attempt);
    case 'm.reaction':
      return matrixReaction(ctx, portal, ev, attempt);
    case 'm.room.redaction':
      return matrixRedaction(ctx, portal, ev, attempt);
    case 'm.room.tombstone':
      return matrixTombstone(ctx, portal, ev);
    case 'm.room.name':
    case 'm.room.topic':
      return matrixRoomInfo(ctx, portal, ev, attempt);
    case 'm.room.member':
      return matrixMembership(ctx, portal, ev, attempt);
    case 'm.room.encrypted':
      return encryptedWithoutEncryption(ctx, portal, ev);
    case 'm.room.encryption':
      return encryptionTurnedOn(ctx, portal, ev);
    default:
      return Promise.resolve(ignored(`event type ${ev.type} is not bridged`));
  }
}

/**
 * Records the bridge no longer needs, forgotten on a timer: deliveries and handled inbox
 * rows older than gap repair ever looks at, and people unseen for longer than their
 * network's `identifiers.forget_after_days`.
 */
import type { BridgeContext } from '../context.js';
import { forgetUnseen } from '../identity/forget.js';
import { DELIVERED_MEMORY_MS } from './gap-repair.js';

/** How often old records are pruned. */
export const PRUNE_EVERY_MS = 60 * 60_000;

export function pruneOldRecords(ctx: BridgeContext): void {
  const n = ctx.store.pruneDelivered(Date.now() - DELIVERED_MEMORY_MS);
  if (n) ctx.log.debug({ forgotten: n }, 'old delivery records pruned');
  // Handled events older than gap repair's memory: their copies (remote ids, phone numbers among them) go too.
  const handled = ctx.store.pruneInbox(Date.now() - DELIVERED_MEMORY_MS);
  if (handled) ctx.log.debug({ forgotten: handled }, 'old handled inbox rows pruned');
  // People unseen for a network's identifiers.forget_after_days (unseen for days: nothing of theirs is in flight).
  void forgetUnseen(ctx).then(
    (people) => { if (people) ctx.log.info({ people }, 'identifiers of people long unseen forgotten'); },
    (err: unknown) => ctx.log.warn({ err: String(err) }, 'forgetting unseen people failed; tried again at the next prune'),
  );
}

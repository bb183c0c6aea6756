/**
 * Runs the handler of one inbox row under the retry rule of `failureKind`
 * (core/pipeline/outcome.ts): outages are waited out with backoff for as long as they last,
 * refusals are recorded at once, and anything else is retried with backoff and then
 * parked with its reason, so one poisoned event never stalls its portal. The wait holds
 * only the row's own portal queue; other portals carry on.
 *
 * A remote event's attempts are counted in the store before the handler runs (the first
 * one when the row is recorded). A Matrix
 * event's row is recorded with one attempt counted (it may reach the network as soon as
 * it runs; the count of later ones lives in memory), so after a crash the replay knows
 * an earlier attempt may have reached the network (`Delivery.maybeSent`).
 */
import type { Logger } from '../adapter.js';
import { parsePortalKey, type NetworkId } from '../ids.js';
import type { Metrics } from '../metrics/metrics.js';
import { failureKind, isServerError, TransientError, type Outcome } from './outcome.js';
import type { InboxDirection, Store } from '../store/store.js';

/** This handling of an inbox row: how often it was tried before, and when it arrived. */
export interface Attempt {
  previous: number;
  since: number;
}

export interface RetryPolicy {
  /** Attempts (not counting outage waits) before an event is parked. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

export interface RunnableRow {
  seq: number;
  portalKey: string;
  direction: InboxDirection;
  /** Attempts recorded before this run (after a restart, those of the previous process). */
  attempts: number;
  /** The row was recorded with its first attempt counted (a row queued as it arrives): that one needs no write. */
  firstCounted?: boolean;
  createdAt: number;
}

/** A row queued as it arrives: never tried, recorded now with its first attempt counted. */
export function newRow(seq: number, portalKey: string, direction: RunnableRow['direction']): RunnableRow {
  return { seq, portalKey, direction, attempts: 0, firstCounted: true, createdAt: Date.now() };
}

/** What the caller may tell people about; each is called at most once per run. */
export interface RunHooks {
  /** The first outage this event ran into: it waits. */
  delayed?(reason: string): Promise<void>;
  /** The event went through after having been delayed. */
  deliveredLate?(): Promise<void>;
  /** The event was given up on: refused by the other side, or failing after `maxAttempts`. */
  parked?(reason: string): Promise<void>;
}

export class InboxRunner {
  private stopping = false;
  private readonly timers = new Set<{ cancel: () => void }>();

  /**
   * `serverAnswers`: whether the homeserver answers at all; asked when one request got a
   * 5xx, to tell an outage (wait) from an event the server refuses (retry, then park).
   */
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly policy: RetryPolicy,
    private readonly metrics: Metrics,
    private readonly serverAnswers: () => Promise<boolean> = async () => false,
  ) {}

  /** `origin`: when the event was sent, as its origin stamped it (ms), for the delivery-time metric. */
  async run(row: RunnableRow, handle: (attempt: Attempt) => Promise<Outcome>, hooks: RunHooks = {}, origin?: number): Promise<void> {
    const { store, log, policy, metrics } = this;
    const network = networkOf(row.portalKey);
    let previous = row.attempts;
    let counted = 0;
    let waits = 0;
    let delayed = false;
    for (let first = true; ; first = false) {
      // A Matrix event may reach the network in this attempt, and a replay after a crash
      // must know it: its row was recorded with one attempt already (Engine.handleTransaction),
      // committed before the homeserver got its 200, so nothing needs writing here. A remote
      // event's count is what the parked list shows; a new row was recorded with its first.
      if (row.direction !== 'matrix' && !(first && row.firstCounted)) store.markAttempt(row.seq);
      const began = performance.now();
      try {
        const outcome = await handle({ previous, since: row.createdAt });
        metrics.attemptTook(row.direction, (performance.now() - began) / 1000);
        metrics.bridged(network, row.direction, outcome.status === 'ok' ? (outcome.fallback ? 'fallback' : 'sent') : outcome.status === 'ignored' ? 'ignored' : 'dropped');
        if (outcome.status === 'ok') metrics.delivered(network, row.direction, (Date.now() - startOf(origin, row.createdAt)) / 1000);
        store.finishInbox(row.seq, outcome.status === 'failed' ? 'failed' : 'done', outcome.status === 'ok' ? undefined : outcome.reason);
        if (delayed && outcome.status === 'ok') await hooks.deliveredLate?.().catch(() => undefined);
        return;
      } catch (err) {
        metrics.attemptTook(row.direction, (performance.now() - began) / 1000);
        previous++;
        if (this.stopping) return; // stays pending; replayed at the next start
        let kind = failureKind(err);
        // The server answers, yet not for this event: the event is the problem, not an outage.
        if (kind === 'outage' && isServerError(err) && (await this.serverAnswers())) kind = 'retry';
        const reason = err instanceof Error ? err.message : String(err);
        metrics.failed(network, row.direction, kind);
        if (kind === 'refused') {
          metrics.bridged(network, row.direction, 'parked');
          log.warn({ portal: row.portalKey, seq: row.seq, err: reason }, 'event refused; recorded and skipped');
          store.finishInbox(row.seq, 'failed', reason);
          await hooks.parked?.(`refused: ${reason}`).catch(() => undefined);
          return;
        }
        if (kind === 'retry' && ++counted >= policy.maxAttempts) {
          const why = `parked after ${counted} attempts: ${reason}`;
          metrics.bridged(network, row.direction, 'parked');
          log.error({ portal: row.portalKey, seq: row.seq, err: err instanceof Error ? err.stack : reason }, 'event parked; the portal moves on');
          store.finishInbox(row.seq, 'failed', why);
          await hooks.parked?.(why).catch(() => undefined);
          return;
        }
        if (kind === 'outage' && !delayed) {
          delayed = true;
          await hooks.delayed?.(reason).catch(() => undefined);
        }
        // The other side may have said how long to wait (a flood wait): never retry sooner.
        const asked = err instanceof TransientError ? err.retryAfterMs ?? 0 : 0;
        if (asked > 0) metrics.floodWait(network, row.direction, asked / 1000);
        const delay = Math.max(asked, Math.min(policy.maxMs, policy.baseMs * 2 ** waits++));
        log.warn({ portal: row.portalKey, seq: row.seq, kind, attempt: previous, err: reason, retryInMs: delay }, kind === 'outage' ? 'waiting for the other side; will retry' : 'failed; will retry');
        await this.sleep(delay);
        if (this.stopping) return;
      }
    }
  }

  /** A wait that `stop()` cuts short. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = { cancel: () => { clearTimeout(t); this.timers.delete(handle); resolve(); } };
      const t = setTimeout(handle.cancel, ms);
      this.timers.add(handle);
    });
  }

  /** No new attempts; waits end now, and their rows stay pending for the next start. */
  stop(): void {
    this.stopping = true;
    for (const t of [...this.timers]) t.cancel();
  }
}

/** How far before its receipt an origin timestamp is still believed (a client's clock, a federated backlog). */
const PLAUSIBLE_ORIGIN_MS = 10 * 60_000;

/**
 * When delivery time starts: the origin's own timestamp where it is plausible, else the
 * bridge's receipt. The timestamp is the sender's word, so one far in the past or in the
 * future must not make the histogram say anything about the bridge.
 */
export function startOf(origin: number | undefined, received: number): number {
  if (origin === undefined || !Number.isFinite(origin)) return received;
  return origin <= received && origin >= received - PLAUSIBLE_ORIGIN_MS ? origin : received;
}

/** A portal key's network (its first part; network ids are letters and digits, never escaped). Cached: every event asks. */
const networks = new Map<string, NetworkId>();
function networkOf(portalKey: string): NetworkId {
  let network = networks.get(portalKey);
  if (!network) {
    network = parsePortalKey(portalKey).network;
    if (networks.size > 10_000) networks.clear();
    networks.set(portalKey, network);
  }
  return network;
}

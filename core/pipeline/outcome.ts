/** What a handler did with one event: feeds logs, the inbox state and tests. */
export type Outcome =
  /** `fallback`: delivered, but not as Matrix had it (an edit as a new message, a reaction as text, a file as a note); says which. */
  | { status: 'ok'; detail?: string; fallback?: string }
  | { status: 'ignored'; reason: string }
  | { status: 'failed'; reason: string };

export const ok = (detail?: string): Outcome => (detail ? { status: 'ok', detail } : { status: 'ok' });
export const ignored = (reason: string): Outcome => ({ status: 'ignored', reason });
export const failed = (reason: string): Outcome => ({ status: 'failed', reason });
/** The same outcome, marked as delivered by a fallback when it was delivered at all. */
export const viaFallback = (outcome: Outcome, which: string): Outcome => (outcome.status === 'ok' ? { ...outcome, fallback: which } : outcome);

/**
 * A failure worth retrying later: the homeserver or the remote network is unreachable,
 * overloaded or rate limiting. Anything else is permanent for the event that caused it.
 * `outage`: the other side is down as a whole (not this event's fault), so waiting for
 * it never counts towards parking the event.
 */
export class TransientError extends Error {
  readonly outage: boolean;
  constructor(message: string, readonly retryAfterMs?: number, options?: { cause?: unknown; outage?: boolean }) {
    super(message, options);
    this.name = 'TransientError';
    this.outage = options?.outage ?? false;
  }
}

/**
 * A failure that no retry can mend and that is nobody's outage: an event the bridge can
 * never read (one that could not be decrypted after its key was waited for). Refused at
 * once, and its sender told.
 */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedError';
  }
}

/** The HTTP status an error carries (a homeserver answer), if any. */
function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * How a failure of one event is retried (the rule lives here and nowhere else):
 * - `outage`: the homeserver or the login is down, or rate limiting us; wait as long as
 *   it takes, holding only this portal's queue. A 5xx is an outage only if the server
 *   itself does not answer either (InboxRunner asks it): an outage is a property of the
 *   server, not of one request;
 * - `refused`: the homeserver answered 4xx: this event will never be taken; no retry;
 * - `retry`: a connected network that rejected the send, a handler that threw; retried
 *   with backoff and parked after `bridge.retry.max_attempts` (a poisoned event must not
 *   stall its portal).
 */
export function failureKind(err: unknown): 'outage' | 'refused' | 'retry' {
  if (err instanceof TransientError) return err.outage ? 'outage' : 'retry';
  if (err instanceof RefusedError) return 'refused';
  const status = statusOf(err);
  if (status === undefined) return 'retry';
  return status === 429 || status >= 500 ? 'outage' : 'refused';
}

/**
 * Whether a failure is a server error answered for this one request (5xx), which may be
 * either an outage or an event the server cannot take: the caller asks the server itself.
 */
export function isServerError(err: unknown): boolean {
  const status = statusOf(err);
  return status !== undefined && status >= 500;
}

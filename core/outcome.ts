/** What a handler did with one event: feeds logs, the inbox state and tests. */
export type Outcome =
  | { status: 'ok'; detail?: string }
  | { status: 'ignored'; reason: string }
  | { status: 'failed'; reason: string };

export const ok = (detail?: string): Outcome => (detail ? { status: 'ok', detail } : { status: 'ok' });
export const ignored = (reason: string): Outcome => ({ status: 'ignored', reason });
export const failed = (reason: string): Outcome => ({ status: 'failed', reason });

/**
 * A failure worth retrying later: the homeserver or the remote network is unreachable,
 * overloaded or rate limiting. Anything else is permanent for the event that caused it.
 */
export class TransientError extends Error {
  constructor(message: string, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && (status === 429 || status >= 500);
}

import { createHash } from 'node:crypto';

/**
 * Deterministic Matrix transaction id for one thing the bridge sends: the same remote
 * event replayed after a crash gets the same id, and the homeserver drops the repeat.
 */
export function txnId(...parts: (string | number)[]): string {
  return 'sb' + createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 32);
}

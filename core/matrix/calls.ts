/** Every homeserver request of appservice.ts goes through `call`: the bot-sdk's errors mapped to ours. */
import { TransientError } from '../pipeline/outcome.js';
import { MatrixRequestError } from './side.js';

/** An answer from the homeserver (MatrixRequestError with its status and errcode), or unreachable (transient, an outage). */
export function toMatrixError(err: unknown): Error {
  const e = err as { statusCode?: number; errcode?: string; body?: { errcode?: string; error?: string }; message?: string };
  if (typeof e?.statusCode === 'number') {
    return new MatrixRequestError(e.statusCode, e.errcode ?? e.body?.errcode ?? 'M_UNKNOWN', e.body?.error ?? e.message ?? 'request failed');
  }
  return new TransientError(`homeserver unreachable: ${e?.message ?? String(err)}`, undefined, { cause: err, outage: true });
}

export async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toMatrixError(err);
  }
}

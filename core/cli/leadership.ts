/**
 * Leader or standby. On SQLite there is one process and it leads. On PostgreSQL, several
 * bridge processes may share one store and one registration: the one holding the leader
 * lock (store/postgres/leader.ts) works; the others answer `/health`, `/ready` (503) and
 * nothing else, try the lock every second, and take over when the leader is gone.
 */
import type { Logger } from '../adapter.js';
import { LeaderLock } from '../store/postgres/leader.js';

/** How often a standby tries the lock, and a leader checks it still holds it. */
const CHECK_EVERY_MS = 1_000;

export interface Leadership {
  isLeader(): boolean;
  /** Resolves once this process leads (at once without a lock); `waitedMs` the time spent as a standby. */
  lead(): Promise<{ waitedMs: number }>;
  /** Call `onLost` if the lock is ever lost (checked every second) after `lead()` resolved. */
  watch(onLost: () => void): void;
  stop(): void;
}

export function soleLeader(): Leadership {
  return { isLeader: () => true, lead: async () => ({ waitedMs: 0 }), watch: () => undefined, stop: () => undefined };
}

export function leaderByLock(url: string, log: Logger): Leadership {
  const lock = new LeaderLock(url);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  return {
    isLeader: () => lock.isLeader,
    lead: () => new Promise((resolve, reject) => {
      const began = Date.now();
      if (lock.tryTake()) return resolve({ waitedMs: 0 });
      log.info({}, 'standby: another bridge process holds the leader lock; taking over when it is gone');
      timer = setInterval(() => {
        if (stopped) {
          clearInterval(timer);
          reject(new Error('stopped while a standby'));
        } else if (lock.tryTake()) {
          clearInterval(timer);
          resolve({ waitedMs: Date.now() - began });
        }
      }, CHECK_EVERY_MS);
    }),
    watch: (onLost) => {
      timer = setInterval(() => {
        if (!lock.held()) {
          clearInterval(timer);
          onLost();
        }
      }, CHECK_EVERY_MS);
      timer.unref();
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
      if (lock.isLeader) lock.release();
    },
  };
}

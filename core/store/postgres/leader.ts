/**
 * Which of several bridge processes on one PostgreSQL store does the work (a hot
 * standby): the one holding a session advisory lock, on a connection of its own. The lock
 * goes with that connection: when the leader dies, PostgreSQL sees its connection close
 * and frees the lock, and a standby's next try takes it. A leader whose lock connection
 * is lost stops being one at once (the bridge exits; another process may hold it by now).
 */
import { worker } from './sync-driver.js';

/** One lock per database; a constant, as a bridge has a database of its own ("Swbd" in ASCII). */
export const LEADER_LOCK_KEY = 0x53776264;

export class LeaderLock {
  private holding = false;

  constructor(private readonly url: string, private readonly key = LEADER_LOCK_KEY) {}

  /** Take the lock if it is free (never waits: false while another process holds it, or the server is away). */
  tryTake(): boolean {
    this.holding = worker()('lock-try', 0, this.url, this.key) as boolean;
    return this.holding;
  }

  /** Whether the lock is still ours: its connection answers. */
  held(): boolean {
    if (!this.holding) return false;
    this.holding = worker()('lock-held', 0, this.key) as boolean;
    return this.holding;
  }

  get isLeader(): boolean {
    return this.holding;
  }

  release(): void {
    this.holding = false;
    worker()('lock-release', 0, this.key);
  }
}

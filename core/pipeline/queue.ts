/**
 * Keyed serial queue: one FIFO per key (a portal), all keys in parallel. Jobs for one
 * key never overlap, so a portal's events, in both directions, are handled in the
 * order they arrived. A job that throws does not stop its key: the error goes to
 * `onError` and the next job runs.
 */
export type Job = () => Promise<void>;

interface Lane {
  jobs: Job[];
  running: boolean;
}

export class KeyedQueue {
  private readonly lanes = new Map<string, Lane>();
  private pending = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly onError: (key: string, err: unknown) => void) {}

  /** Append a job to its key's FIFO. */
  push(key: string, job: Job): void {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { jobs: [], running: false };
      this.lanes.set(key, lane);
    }
    lane.jobs.push(job);
    this.pending++;
    if (!lane.running) void this.run(key, lane);
  }

  /** Number of jobs queued or running. */
  get size(): number {
    return this.pending;
  }

  /** The longest lane (jobs queued or running in one key) and all of them together. */
  depths(): { max: number; sum: number } {
    let max = 0;
    for (const lane of this.lanes.values()) max = Math.max(max, lane.jobs.length + (lane.running ? 1 : 0));
    return { max, sum: this.pending };
  }

  /** Resolves when every job pushed so far (and any they push) has finished. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(key: string, lane: Lane): Promise<void> {
    lane.running = true;
    let job: Job | undefined;
    while ((job = lane.jobs.shift())) {
      try {
        await job();
      } catch (err) {
        this.onError(key, err);
      }
      this.pending--;
    }
    lane.running = false;
    // Forget empty lanes so memory follows active portals, not all portals ever seen.
    this.lanes.delete(key);
    if (this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }
}

/**
 * Outgoing flood control of one IRC connection: a token bucket that queues lines and
 * never drops one. IRC servers disconnect clients that send too fast ("Excess Flood");
 * large networks allow a burst of about 5 lines, then about one line every 2 s (the
 * defaults of matrix-appservice-irc and irssi are close to this). irc-framework has no
 * flood control of its own, so every line the adapter writes goes through here, in order.
 */
export interface FloodLimits {
  /** Lines sent at once before the rate applies. */
  burst: number;
  /** Lines per second once the burst is spent. */
  perSecond: number;
}

interface Waiting {
  send: () => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class SendQueue {
  private tokens: number;
  private last: number;
  private readonly queue: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed: Error | undefined;

  constructor(private readonly limits: FloodLimits, private readonly now: () => number = Date.now) {
    this.tokens = limits.burst;
    this.last = now();
  }

  /** Resolves once `send` ran (the line left); rejects if the queue is cleared first. */
  push(send: () => void): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.queue.push({ send, resolve, reject });
      this.drain();
    });
  }

  get length(): number {
    return this.queue.length;
  }

  /** The connection is gone: what waits is refused (the core retries it, in order). */
  clear(reason: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.queue.splice(0)) w.reject(reason);
  }

  /** A new connection: sending may start again, with a fresh burst. */
  reopen(): void {
    this.closed = undefined;
    this.tokens = this.limits.burst;
    this.last = this.now();
  }

  close(reason: Error): void {
    this.closed = reason;
    this.clear(reason);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.last) / 1000) * this.limits.perSecond);
    this.last = now;
  }

  private drain(): void {
    if (this.timer) return;
    this.refill();
    while (this.queue.length && this.tokens >= 1) {
      this.tokens -= 1;
      const w = this.queue.shift()!;
      try {
        w.send();
        w.resolve();
      } catch (err) {
        w.reject(err as Error);
      }
    }
    if (this.queue.length) {
      const wait = Math.ceil(((1 - this.tokens) / this.limits.perSecond) * 1000);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, Math.max(1, wait));
    }
  }
}

/** An EventSink for adapter tests: records what a session emits, as the engine would (emit resolves once "recorded"). */
import type { ConnectionState, EventSink, Logger } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';

/** A sink that records everything, as the engine would (emit resolves once "recorded"). */
export class RecordingSink implements EventSink {
  readonly events: RemoteEvent[] = [];
  readonly states: ConnectionState[] = [];
  readonly log: Logger;
  /** Every line logged, as JSON, to check that no secret ever reaches a log. */
  readonly logged: string[] = [];
  /** What `persist` was last given. */
  persisted: Record<string, unknown> | undefined;
  /** Set to make `emit` reject (the core could not record), as many times as it says. */
  failEmits = 0;
  /** Set to make `emit` reject once for the first event it matches. */
  failOnce: ((ev: RemoteEvent) => boolean) | undefined;
  /**
   * Set to make `emit` hang for the first event it matches, as a write still in progress
   * does, until `releaseHeld()`; it then fails (that write was lost).
   */
  holdOnce: ((ev: RemoteEvent) => boolean) | undefined;
  private held: (() => void) | undefined;
  private readonly waiters = new Set<() => void>();
  constructor() {
    const line = (level: string) => (fields: object, msg: string) => { this.logged.push(JSON.stringify({ level, msg, ...fields })); };
    const make = (): Logger => ({ debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => make() });
    this.log = make();
  }
  async emit(ev: RemoteEvent): Promise<void> {
    if (this.holdOnce?.(ev)) {
      this.holdOnce = undefined;
      await new Promise<void>((resolve) => { this.held = resolve; });
      throw new Error('store unavailable');
    }
    if (this.failOnce?.(ev)) {
      this.failOnce = undefined;
      throw new Error('store unavailable');
    }
    if (this.failEmits > 0) {
      this.failEmits--;
      throw new Error('store unavailable');
    }
    this.events.push(ev);
    for (const w of [...this.waiters]) w();
  }
  releaseHeld(): void {
    this.held?.();
    this.held = undefined;
  }
  state(s: ConnectionState): void {
    this.states.push(s);
  }
  async persist(data: Record<string, unknown>): Promise<void> {
    this.persisted = { ...data };
  }
  waitFor<T extends RemoteEvent>(match: (ev: RemoteEvent) => ev is T, what: string, timeoutMs = 15_000): Promise<T> {
    const found = this.events.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiters.delete(check); reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.type))}`)); }, timeoutMs);
      const check = () => {
        const hit = this.events.find(match);
        if (!hit) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(hit);
      };
      this.waiters.add(check);
    });
  }
}


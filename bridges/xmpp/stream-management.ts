/**
 * Stream management (XEP-0198) written for the bridge's rule that nothing is
 * acknowledged before it is durable: the count of handled stanzas (`h`) we report
 * moves only when the session says a stanza is done (a message once the core recorded
 * it), so after a drop the server sends again whatever was not yet recorded. And a send
 * counts only once the server acknowledged it; a send the server never confirmed fails
 * as one that may have gone out, which the core retries with the archive check.
 *
 * One instance lives as long as the login session, across its connections: a new
 * connection resumes the old stream (`<resume/>` instead of resource binding), keeping
 * its MUC occupancy and receiving what the server held while we were away.
 *
 * (@xmpp/stream-management counts a stanza as handled when it arrives, and its count
 * disagreed with Prosody's; so this is our own, and small.)
 */
import type { Client } from '@xmpp/client-core';
import xml, { type Element } from '@xmpp/xml';

export const NS_SM = 'urn:xmpp:sm:3';

/** How long a send waits for the server's acknowledgement before the connection is deemed dead. */
const ACK_TIMEOUT_MS = 30_000;

interface AckWaiter {
  count: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class StreamManagement {
  /** What a later connection needs to resume this stream; undefined when it cannot be resumed. */
  private resumable: { id: string; jid: string } | undefined;
  /** Connection currently managed; stanzas and acks of earlier ones are ignored. */
  private client: Client | undefined;
  /** Bumped on every new stream or resumption: completions of an older one no longer count. */
  private epoch = 0;
  private received = 0;
  private handled = 0;
  private readonly finished = new Set<number>();
  /** The server asked (`<r/>`) while stanzas were still being handled: tell it as they finish. */
  private owed = false;
  private sent = 0;
  private serverHandled = 0;
  private waiters: AckWaiter[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private requestQueued = false;
  /** Whether the current connection resumed the previous stream. */
  resumed = false;

  constructor(
    private readonly onDeadConnection: (client: Client) => void,
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
  ) {}

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /**
   * Negotiate on a connection that just authenticated: resume the previous stream if
   * there is one (true), else bind a resource and enable management (false). A server
   * that refuses either still gets a bound, working connection.
   */
  async negotiate(entity: Client, bind: () => Promise<string>): Promise<boolean> {
    this.detach();
    this.resumed = false;
    this.listen(entity);
    const previous = this.resumable;
    if (previous) {
      const answer = await entity.sendReceive(xml('resume', { xmlns: NS_SM, previd: previous.id, h: String(this.handled) }));
      if (answer.is('resumed', NS_SM)) {
        entity._jid(previous.jid);
        return true;
      }
      this.forget('the stream could not be resumed');
    }
    const bound = await bind();
    const answer = await entity.sendReceive(xml('enable', { xmlns: NS_SM, resume: 'true' }));
    if (answer.is('enabled', NS_SM)) {
      const id = answer.attrs.id;
      this.resumable = id && (answer.attrs.resume === 'true' || answer.attrs.resume === '1') ? { id, jid: bound } : undefined;
    }
    return false;
  }

  /**
   * The answers to <enable/> and <resume/> are acted on as they are parsed, not when the
   * awaiting code runs: the stanzas the server sends right after them (held ones, on a
   * resumption) are counted from the first.
   */
  private listen(entity: Client): void {
    entity.on('nonza', (el: Element) => {
      if (el.is('enabled', NS_SM)) {
        this.manage(entity);
        this.received = this.handled = 0;
        this.owed = false;
        this.sent = this.serverHandled = 0;
      } else if (el.is('resumed', NS_SM)) {
        this.manage(entity);
        // The server counted what it got of ours; what it did not get is not sent again here
        // (the core retries those sends, after checking the archive).
        this.acknowledged(Number(el.attrs.h), 'the server did not receive this before the connection dropped');
        this.sent = this.serverHandled;
        this.received = this.handled;
        this.owed = false;
        this.resumed = true;
      } else if (this.client !== entity) {
        return;
      } else if (el.is('r', NS_SM)) {
        void this.report(entity);
      } else if (el.is('a', NS_SM)) {
        this.acknowledged(Number(el.attrs.h));
      }
    });
    entity.on('send', (el: Element) => {
      if (this.client === entity && isStanza(el)) this.sent++;
    });
  }

  private manage(entity: Client): void {
    this.client = entity;
    this.epoch++;
    this.finished.clear();
  }

  /**
   * Called for every stanza the connection receives, in order; `done` settles when the
   * session has finished with it (recorded, or deliberately dropped).
   */
  track(entity: Client, done: Promise<unknown>): void {
    if (this.client !== entity) return;
    const seq = ++this.received;
    const epoch = this.epoch;
    const finish = () => {
      if (this.epoch !== epoch) return;
      this.finished.add(seq);
      const before = this.handled;
      while (this.finished.delete(this.handled + 1)) this.handled++;
      // The server asked while this was still being recorded: tell it now rather than at its next request.
      if (this.handled > before && this.owed) void this.report(entity);
    };
    done.then(finish, finish);
  }

  private async report(entity: Client): Promise<void> {
    this.owed = this.handled < this.received;
    await entity.send(xml('a', { xmlns: NS_SM, h: String(this.handled) })).catch(() => undefined);
  }

  /** Resolves once the server acknowledged every stanza sent so far on this stream. */
  confirmed(): Promise<void> {
    const entity = this.client;
    if (!entity || this.serverHandled >= this.sent) return Promise.resolve();
    const count = this.sent;
    const wait = new Promise<void>((resolve, reject) => this.waiters.push({ count, resolve, reject }));
    if (!this.requestQueued) {
      // One request for every send of this tick.
      this.requestQueued = true;
      queueMicrotask(() => {
        this.requestQueued = false;
        if (this.client === entity) void entity.send(xml('r', { xmlns: NS_SM })).catch(() => undefined);
      });
    }
    if (!this.ackTimer) this.armAckTimer(entity);
    return wait;
  }

  /** The server has this long to move its count while sends wait for it. */
  private armAckTimer(entity: Client): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (this.client === entity && this.waiters.length) this.onDeadConnection(entity);
    }, this.ackTimeoutMs);
  }

  private acknowledged(h: number, lostReason?: string): void {
    if (!Number.isFinite(h)) return;
    const progressed = h > this.serverHandled;
    this.serverHandled = Math.max(this.serverHandled, h);
    const still: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.count <= this.serverHandled) w.resolve();
      else if (lostReason) w.reject(new Error(lostReason));
      else still.push(w);
    }
    this.waiters = still;
    if (!still.length) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    } else if (progressed && this.client) {
      // Acknowledgements are coming: the connection is alive, whatever is still waiting.
      this.armAckTimer(this.client);
    }
  }

  /** The connection dropped: sends waiting for confirmation fail; the stream stays resumable. */
  dropped(): void {
    this.detach();
    for (const w of this.waiters.splice(0)) w.reject(new Error('the connection dropped before the server confirmed this'));
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  /** The stream ends for good (a clean stop, or the server could not resume it). */
  forget(reason = 'the session ended'): void {
    this.dropped();
    for (const w of this.waiters.splice(0)) w.reject(new Error(reason));
    this.resumable = undefined;
    this.handled = this.received = 0;
  }

  private detach(): void {
    this.client = undefined;
    this.epoch++;
  }
}

function isStanza(el: Element): boolean {
  return el.name === 'message' || el.name === 'presence' || el.name === 'iq';
}

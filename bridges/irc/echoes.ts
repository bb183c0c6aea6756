/**
 * Lines we sent, waiting for their echo (IRCv3 echo-message): the echo carries the id
 * the server gave the line (msgid), which becomes the message's id on the bridge. With
 * labeled-response an echo is matched by its label, else echoes come back in order.
 */

/**
 * The client tag carrying the core's Delivery key on a message's first line (or batch).
 * Servers relay it to the bridge's own connection in the echo and, where they keep
 * history (InspIRCd's chanhistory), in the replay after a rejoin: so a send retried after
 * a crash finds out whether it already went (`SeenDeliveries`). A vendor tag: clients ignore it.
 */
export const DELIVERY_TAG = '+switchboard/delivery';
/** Delivery keys one connection remembers having seen; the oldest go first. */
const MAX_SEEN = 5_000;

/** Delivery keys of our own lines the server showed us, with the msgid it gave them. */
export class SeenDeliveries {
  private readonly seen = new Map<string, string | undefined>();

  add(key: string, msgid: string | undefined): void {
    this.seen.delete(key);
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, msgid);
  }

  /** Whether a line with this key was seen, and its msgid. */
  get(key: string): { msgid?: string } | undefined {
    if (!this.seen.has(key)) return undefined;
    const msgid = this.seen.get(key);
    return msgid ? { msgid } : {};
  }
}

/** How long a sent line waits for its echo before its id is made up. */
const ECHO_TIMEOUT_MS = 10_000;

export class EchoWaiters {
  private readonly waiting: { label: string; resolve: (msgid: string | undefined) => void }[] = [];

  /** Resolves with the echo's msgid, or undefined after ECHO_TIMEOUT_MS or when the connection closes. */
  wait(label: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const entry = { label, resolve: (id: string | undefined) => { clearTimeout(t); resolve(id); } };
      const t = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
      }, ECHO_TIMEOUT_MS);
      this.waiting.push(entry);
    });
  }

  /** Our own line came back: the waiter of its label (or the oldest, without labels) has its id. */
  echoed(label: string | undefined, msgid: string | undefined): void {
    const i = label ? this.waiting.findIndex((w) => w.label === label) : 0;
    if (i >= 0 && this.waiting[i]) this.waiting.splice(i, 1)[0]!.resolve(msgid);
  }

  /** The connection closed: no echo will come. */
  clear(): void {
    for (const w of this.waiting.splice(0)) w.resolve(undefined);
  }
}

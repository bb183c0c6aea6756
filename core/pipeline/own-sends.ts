/**
 * Remote ids of messages the bridge itself has just sent, per portal. Networks echo a
 * message back to the session that sent it; the engine drops such an echo before
 * recording it, without a read (it used to cost an inbox row, an attempt and a lookup).
 *
 * Memory only and bounded: an echo that arrives after its entry was pushed out, or after
 * a restart, goes the long way: recorded, then recognised by its mapped remote id
 * (core/portal/remote/message.ts), which stays the rule; this is its fast path.
 */
export class OwnSends {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 10_000) {}

  /** A send the network answered with `remoteId`, recorded in the message map. */
  sent(portalKey: string, remoteId: string): void {
    if (this.ids.size >= this.max) this.ids.delete(this.ids.values().next().value!);
    this.ids.add(key(portalKey, remoteId));
  }

  /**
   * True when `remoteId` is a message the bridge sent in this portal. Not forgotten when
   * asked: every session of the bridge in the chat (the sender's, a relay's) gets a copy.
   */
  isOwn(portalKey: string, remoteId: string): boolean {
    return this.ids.has(key(portalKey, remoteId));
  }
}

/** Length-prefixed: no portal key and remote id pair spells another's key. */
const key = (portalKey: string, remoteId: string) => `${portalKey.length}:${portalKey}${remoteId}`;

/**
 * Encrypted Matrix events in the pipeline (with `encryption.allow`): opened in their
 * portal's queue, so one waiting for its key holds only its portal, in order; a `!sb`
 * command found inside goes to the bot, never over the bridge.
 */
import type { BridgeContext } from '../context.js';
import type { MatrixClientEvent } from '../convert/matrix-types.js';
import { isPortalCommand } from '../commands/prefix.js';
import { RefusedError } from './outcome.js';

/** What people say (as opposed to redactions and room state, which the spec leaves unencrypted). */
const SAID = new Set(['m.room.message', 'm.sticker', 'm.reaction']);
const NOT_ENCRYPTED = 'this bridge carries only encrypted messages (encryption.require): turn encryption on in this room';

export class EncryptedEvents {
  /** Encrypted commands already answered (a room with several portals opens one event once per portal). */
  private readonly answered = new Set<string>();

  constructor(private readonly ctx: BridgeContext, private readonly commands: { handle(ev: MatrixClientEvent): Promise<void> }) {}

  /** The clear event to bridge, or undefined when it was a command (answered here, once). Throws what `Encryption.open` throws. */
  async forPortal(ev: MatrixClientEvent, receivedAt: number): Promise<MatrixClientEvent | undefined> {
    if (this.ctx.encryption?.requireEncrypted && SAID.has(ev.type)) throw new RefusedError(NOT_ENCRYPTED);
    if (ev.type !== 'm.room.encrypted' || !this.ctx.encryption) return ev;
    const clear = await this.ctx.encryption.open(ev, receivedAt);
    if (!isPortalCommand(clear)) return clear;
    if (!this.answered.has(clear.event_id)) {
      this.answered.add(clear.event_id);
      if (this.answered.size > 1_000) this.answered.delete(this.answered.values().next().value!);
      await this.commands.handle(clear);
    }
    return undefined;
  }

  /** An event for the bot (a room without portals), opened first when encrypted. */
  async forBot(ev: MatrixClientEvent): Promise<void> {
    if (ev.type !== 'm.room.encrypted' || !this.ctx.encryption) return this.commands.handle(ev);
    let clear: MatrixClientEvent;
    try {
      clear = await this.ctx.encryption.open(ev, Date.now());
    } catch (err) {
      this.ctx.log.warn({ roomId: ev.room_id, eventId: ev.event_id, err: String(err) }, 'an encrypted message to the bot could not be read');
      return;
    }
    return this.commands.handle(clear);
  }
}

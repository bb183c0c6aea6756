/**
 * End-to-bridge encryption as the rest of the bridge sees it (config `encryption`): the
 * crypto device started once the homeserver answers, what transactions carry for it,
 * encrypted events opened (waiting a bounded time for a key still on its way) and
 * content encrypted for a room's members. The device and its store: bridge-crypto.ts.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../adapter.js';
import type { MatrixClientEvent } from '../convert/matrix-types.js';
import type { MatrixRoomId, MatrixUserId } from '../ids.js';
import type { MatrixSide } from '../matrix/side.js';
import { RefusedError, TransientError } from '../pipeline/outcome.js';
import { BridgeCrypto, type BridgeCryptoOptions } from './bridge-crypto.js';
import { RoomFacts } from './room-facts.js';

export interface EncryptionOptions {
  homeserverUrl: string;
  asToken: string;
  botUserId: string;
  deviceId: string;
  storePath: string;
  /** The login data key: the crypto store's key is derived from it. */
  loginDataKey: string;
  shareWith: BridgeCryptoOptions['shareWith'];
  /** How long an event waits for its room key before its sender is told (ms). */
  keyWaitMs: number;
  /** New portal rooms are created encrypted. */
  encryptNewRooms: boolean;
  /** Messages sent unencrypted into a portal are refused (`encryption.require`). */
  requireEncrypted?: boolean;
  log: Logger;
  /** Told of each encrypted event opened or given up on (metrics). */
  observe?: (outcome: 'decrypted' | 'decrypted_after_wait' | 'failed', waitedSeconds: number) => void;
}

/** How often a waiting event tries again when no key came meanwhile. */
const RETRY_WITHOUT_NEWS_MS = 2_000;

export class Encryption {
  readonly facts: RoomFacts;
  private crypto: BridgeCrypto | undefined;
  private readonly ready: Promise<BridgeCrypto>;
  private markReady!: (c: BridgeCrypto) => void;
  /** Woken whenever a transaction brought to-device messages (a key may be among them). */
  private keysArrived: { promise: Promise<void>; wake: () => void } = newSignal();
  private stopping = false;
  /** When this process started: a key wait of an event received before a restart starts here. */
  private startedAt = Date.now();

  constructor(private readonly opts: EncryptionOptions, matrix: MatrixSide) {
    this.facts = new RoomFacts(matrix);
    this.ready = new Promise((resolve) => { this.markReady = resolve; });
  }

  get encryptNewRooms(): boolean {
    return this.opts.encryptNewRooms;
  }

  get requireEncrypted(): boolean {
    return this.opts.requireEncrypted ?? false;
  }

  /** Start the device (the homeserver must answer: it creates the device and takes its keys). */
  async start(): Promise<void> {
    const o = this.opts;
    this.crypto = await BridgeCrypto.start({
      homeserverUrl: o.homeserverUrl, asToken: o.asToken, userId: o.botUserId, deviceId: o.deviceId,
      storePath: o.storePath, storeKey: storeKeyFrom(o.loginDataKey), shareWith: o.shareWith, log: o.log,
    });
    this.startedAt = Date.now();
    this.markReady(this.crypto);
  }

  /** What a transaction carries for the device; resolves once stored (the transaction is answered after). */
  async receiveTransaction(body: Record<string, unknown>): Promise<void> {
    const crypto = await this.ready;
    await crypto.receiveTransaction(body);
    const toDevice = body.to_device ?? body['de.sorunome.msc2409.to_device'];
    if (Array.isArray(toDevice) && toDevice.length) {
      const { wake } = this.keysArrived;
      this.keysArrived = newSignal();
      wake();
    }
  }

  /**
   * The clear event behind an encrypted one. A missing key is waited for until `keyWaitMs`
   * after `receivedAt` (holding only this event's portal, so order is kept); then, or when
   * the event can never be decrypted, a RefusedError tells the sender.
   */
  async open(ev: MatrixClientEvent, receivedAt: number): Promise<MatrixClientEvent> {
    const crypto = await this.ready;
    const began = Date.now();
    let waited = false;
    for (;;) {
      if (this.stopping) throw new TransientError('the bridge is stopping'); // the row stays pending (InboxRunner stops too)
      const arrived = this.keysArrived.promise;
      const d = await crypto.decrypt(ev.room_id, ev as unknown as Record<string, unknown>);
      if (d.ok && d.type === 'm.room.encrypted') throw new RefusedError('an encrypted event inside an encrypted event');
      if (d.ok) {
        this.opts.observe?.(waited ? 'decrypted_after_wait' : 'decrypted', waited ? (Date.now() - began) / 1000 : 0);
        // The clear event keeps the outer event's identity (id, sender, room, time); only type and content come from inside.
        return { ...ev, type: d.type, content: d.content };
      }
      // An event recorded before a restart gets its whole wait from the start: its key may come with the backlog.
      const left = Math.max(receivedAt, this.startedAt) + this.opts.keyWaitMs - Date.now();
      if (!d.missingKey || left <= 0) {
        this.opts.observe?.('failed', waited ? (Date.now() - began) / 1000 : 0);
        this.opts.log.warn({ roomId: ev.room_id, eventId: ev.event_id, reason: d.reason }, 'an encrypted event could not be decrypted');
        throw new RefusedError(`could not be decrypted (${d.missingKey ? 'its key never reached the bridge; a homeserver may drop keys sent while the bridge was down: please send it again' : d.reason})`);
      }
      if (!waited) this.opts.log.info({ roomId: ev.room_id, eventId: ev.event_id, waitS: Math.ceil(left / 1000) }, 'waiting for the key of an encrypted event (its portal waits too)');
      waited = true;
      await Promise.race([arrived, sleep(Math.min(left, RETRY_WITHOUT_NEWS_MS))]);
    }
  }

  /** Whether the room is encrypted (asked as `reader`, one of ours in it): files sent there are encrypted too. */
  async roomEncrypted(roomId: MatrixRoomId, reader: MatrixUserId): Promise<boolean> {
    return (await this.facts.settings(roomId, reader)) !== undefined;
  }

  /** `content` encrypted for the room's members; undefined when the room is not encrypted. */
  async encryptFor(roomId: MatrixRoomId, sender: MatrixUserId, type: string, content: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const settings = await this.facts.settings(roomId, sender);
    if (!settings) return undefined;
    const crypto = await this.ready;
    const members = await this.facts.memberIds(roomId, sender);
    return crypto.encrypt(roomId, type, content, members, { periodMs: settings.rotationPeriodMs, messages: settings.rotationMessages });
  }

  /** Waits for keys end now: their events stay pending for the next start (call before stopping the engine). */
  endWaits(): void {
    this.stopping = true;
    this.keysArrived.wake();
  }

  /** After the engine stopped: the device's store is closed. */
  async close(): Promise<void> {
    this.endWaits();
    await this.crypto?.close();
  }
}

/** 32 bytes for the crypto library's store cipher, from the login data key (HMAC as a KDF, its own label). */
export function storeKeyFrom(loginDataKey: string): Uint8Array {
  return createHmac('sha256', loginDataKey).update('switchboard crypto store v1').digest();
}

function newSignal(): { promise: Promise<void>; wake: () => void } {
  let wake!: () => void;
  const promise = new Promise<void>((resolve) => { wake = resolve; });
  return { promise, wake };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

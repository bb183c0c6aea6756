/**
 * The bridge's end-to-bridge encryption: one Olm device of the bridge bot
 * (matrix-sdk-crypto-wasm's OlmMachine) whose store is the durable IndexedDB. It takes
 * what appservice transactions carry for it (to-device messages, device list changes,
 * one-time key counts: MSC2409/MSC3202/MSC4203), decrypts room events and encrypts what
 * the bridge sends. Ghosts' messages are encrypted by this device too (see
 * docs/encryption.md: which device sends what, and what clients show).
 */
import * as sdk from '@matrix-org/matrix-sdk-crypto-wasm';
import type { Logger } from '../adapter.js';
import { CryptoHttp } from './crypto-http.js';
import { openDurableIndexedDB, type DurableIndexedDB } from './durable-idb.js';
import { parseCryptoExtensions, type CryptoExtensions } from './transaction-crypto.js';

/** The crypto library itself, for attachments.ts (loaded with this module, when encryption is allowed). */
export { sdk };

export interface BridgeCryptoOptions {
  homeserverUrl: string;
  asToken: string;
  /** The bot's user id; its device decrypts and encrypts for the whole bridge. */
  userId: string;
  deviceId: string;
  /** The SQLite file holding the crypto store. */
  storePath: string;
  /** 32 bytes; the crypto library encrypts what it stores with it. */
  storeKey: Uint8Array;
  /** Which members' devices get room keys (docs/encryption.md). */
  shareWith: 'all' | 'cross-signed';
  log: Logger;
}

export type Decrypted =
  | { ok: true; type: string; content: Record<string, unknown>; senderKey: string; senderDevice: string | undefined }
  | { ok: false; missingKey: boolean; reason: string };

let wasmReady: Promise<void> | undefined;

export class BridgeCrypto {
  private flushing: Promise<void> = Promise.resolve();
  private readonly roomChains = new Map<string, Promise<unknown>>();
  /** Calls into the machine not yet finished: close() waits for them (the machine cannot be freed mid-call). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly opts: BridgeCryptoOptions,
    private readonly machine: sdk.OlmMachine,
    private readonly store: sdk.StoreHandle,
    private readonly durable: DurableIndexedDB,
    private readonly http: CryptoHttp,
  ) {}

  /** Run a call into the machine, counted so close() can wait for it; refused once closing. */
  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the crypto machine is closed'));
    const p = work();
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  static async start(opts: BridgeCryptoOptions): Promise<BridgeCrypto> {
    const durable = await openDurableIndexedDB(opts.storePath);
    durable.install();
    wasmReady ??= sdk.initAsync();
    await wasmReady;
    const store = await sdk.StoreHandle.openWithKey('switchboard-crypto', opts.storeKey);
    const machine = await sdk.OlmMachine.initFromStore(new sdk.UserId(opts.userId), new sdk.DeviceId(opts.deviceId), store);
    const http = new CryptoHttp(opts);
    const crypto = new BridgeCrypto(opts, machine, store, durable, http);
    await crypto.ensureDevice();
    await crypto.flush();
    await crypto.ensureCrossSigning();
    opts.log.info({ deviceId: opts.deviceId, curve25519: machine.identityKeys.curve25519.toBase64() }, 'encryption ready');
    return crypto;
  }

  get deviceId(): string {
    return this.opts.deviceId;
  }

  get identityKeys(): { curve25519: string; ed25519: string } {
    return { curve25519: this.machine.identityKeys.curve25519.toBase64(), ed25519: this.machine.identityKeys.ed25519.toBase64() };
  }

  /** The device exists on the homeserver without a login (MSC4190: an appservice creates its users' devices). */
  private async ensureDevice(): Promise<void> {
    await this.http.request('PUT', `/_matrix/client/v3/devices/${encodeURIComponent(this.opts.deviceId)}`, { display_name: 'Switchboard bridge' }, false);
  }

  /**
   * The bot's cross-signing identity, made once (its private keys stay in the crypto
   * store), with the bridge's device signed by it. Without one the library refuses to
   * encrypt with `share_with: cross-signed`, and clients that send keys only to devices
   * their owner signed (Element's "exclude insecure devices") would leave the bridge out.
   * Synapse takes a first upload without interactive auth (MSC3967), and an appservice's
   * at any time (MSC4190). A homeserver that refuses it is logged; encryption goes on.
   */
  private async ensureCrossSigning(): Promise<void> {
    const status = await this.machine.crossSigningStatus();
    if (status.hasMaster && status.hasSelfSigning && status.hasUserSigning) return;
    try {
      const boot = await this.machine.bootstrapCrossSigning(true);
      if (boot.uploadKeysRequest) await this.send(boot.uploadKeysRequest as sdk.OutgoingRequest);
      await this.http.request('POST', '/_matrix/client/v3/keys/device_signing/upload', boot.uploadSigningKeysRequest.body);
      await this.http.request('POST', '/_matrix/client/v3/keys/signatures/upload', boot.uploadSignaturesRequest.body);
      this.opts.log.info({ deviceId: this.opts.deviceId }, "the bot's cross-signing identity was made, and the bridge device signed with it");
    } catch (err) {
      this.opts.log.warn({ err: String(err) }, "the bot's cross-signing identity could not be uploaded; share_with: cross-signed cannot encrypt without it");
    }
  }

  /**
   * What one appservice transaction carries for the crypto machine. Resolves once the
   * machine stored it, so the transaction is acknowledged only after (a key received is a
   * key kept: durable-idb.ts).
   */
  async receiveTransaction(body: Record<string, unknown>): Promise<void> {
    const ext = parseCryptoExtensions(body, this.opts.userId, this.opts.deviceId);
    if (!ext) return;
    await this.track(() => this.receive(ext));
  }

  private async receive(ext: CryptoExtensions): Promise<void> {
    // A malformed or undecryptable message is reported back, never thrown (tried with
    // hostile ones: bad senders, algorithms, ciphertexts, garbage): only a store failure
    // throws here, and then the transaction fails and is retried, as it should.
    const lists = new sdk.DeviceLists(userIds(ext.changed), userIds(ext.left));
    const processed = await this.machine.receiveSyncChanges(JSON.stringify(ext.toDevice), lists, ext.oneTimeKeyCounts, ext.unusedFallbackKeys);
    const failed = processed.filter((p) => p.type !== sdk.ProcessedToDeviceEventType.Decrypted && p.type !== sdk.ProcessedToDeviceEventType.PlainText).length;
    if (failed) this.opts.log.warn({ failed, of: processed.length }, 'to-device messages that could not be decrypted or read');
    await this.flush();
  }

  /** Send what the machine asks for (key uploads, queries, claims, to-device), one flush at a time. */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushOnce());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async flushOnce(): Promise<void> {
    // A request answered can make another (a query after an upload): a few rounds, never a loop.
    for (let round = 0; round < 4; round++) {
      const requests = await this.machine.outgoingRequests();
      if (!requests.length) return;
      for (const req of requests) await this.send(req);
    }
  }

  private async send(req: sdk.OutgoingRequest): Promise<void> {
    const r = req as { id: string; type: sdk.RequestType; body: string };
    let response: unknown;
    try {
      response = await this.sendRaw(req);
    } catch (err) {
      // Left unmarked: the machine offers it again at the next flush.
      this.opts.log.warn({ requestType: sdk.RequestType[r.type], err: String(err) }, 'a crypto request failed; it is retried at the next one');
      return;
    }
    if (response !== undefined) await this.machine.markRequestAsSent(r.id, r.type, JSON.stringify(response));
  }

  private async sendRaw(req: sdk.OutgoingRequest): Promise<unknown> {
    if (req instanceof sdk.KeysUploadRequest) return this.http.request('POST', '/_matrix/client/v3/keys/upload', req.body);
    if (req instanceof sdk.KeysQueryRequest) return this.http.request('POST', '/_matrix/client/v3/keys/query', req.body);
    if (req instanceof sdk.KeysClaimRequest) return this.http.request('POST', '/_matrix/client/v3/keys/claim', req.body);
    if (req instanceof sdk.SignatureUploadRequest) return this.http.request('POST', '/_matrix/client/v3/keys/signatures/upload', req.body);
    if (req instanceof sdk.ToDeviceRequest) {
      return this.http.request('PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(req.event_type)}/${encodeURIComponent(req.txn_id)}`, req.body);
    }
    if (req instanceof sdk.RoomMessageRequest) {
      return this.http.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(req.room_id)}/send/${encodeURIComponent(req.event_type)}/${encodeURIComponent(req.txn_id)}`, req.body);
    }
    // Key backup is not used (the bridge is the only holder of its keys, in its own store).
    return undefined;
  }

  /**
   * Decrypt a room event. A missing key is reported as such: the key may still arrive
   * over to-device, so the caller waits for it (bounded) before telling the sender.
   */
  decrypt(roomId: string, event: Record<string, unknown>): Promise<Decrypted> {
    return this.track(() => this.decryptNow(roomId, event));
  }

  private async decryptNow(roomId: string, event: Record<string, unknown>): Promise<Decrypted> {
    try {
      const d = await this.machine.decryptRoomEvent(JSON.stringify(event), new sdk.RoomId(roomId), new sdk.DecryptionSettings(sdk.TrustRequirement.Untrusted));
      const clear = JSON.parse(d.event) as { type?: unknown; content?: unknown; room_id?: unknown };
      // The clear payload names its room: one room's ciphertext replayed into another is refused.
      if (clear.room_id !== undefined && clear.room_id !== roomId) return { ok: false, missingKey: false, reason: 'the encrypted payload belongs to another room' };
      if (typeof clear.type !== 'string' || !clear.content || typeof clear.content !== 'object' || Array.isArray(clear.content)) {
        return { ok: false, missingKey: false, reason: 'the decrypted payload has no type or content' };
      }
      return { ok: true, type: clear.type, content: clear.content as Record<string, unknown>, senderKey: d.senderCurve25519Key, senderDevice: d.senderDevice?.toString() };
    } catch (err) {
      if (err instanceof sdk.MegolmDecryptionError) {
        const missingKey = err.code === sdk.DecryptionErrorCode.MissingRoomKey || err.code === sdk.DecryptionErrorCode.UnknownMessageIndex;
        // The library queued a key request (m.room_key_request) to the sender's devices: send it now.
        // Clients on matrix-rust-sdk answer a device they shared the session with; this is how a key
        // the homeserver dropped while the bridge was down comes back (synapse#14710).
        if (missingKey) void this.flush().catch(() => undefined);
        return { ok: false, missingKey, reason: `${sdk.DecryptionErrorCode[err.code]}: ${err.description}` };
      }
      return { ok: false, missingKey: false, reason: String(err) };
    }
  }

  /**
   * Encrypt an event for a room: the members' devices are looked up, Olm sessions claimed
   * where missing and the room key shared, then the event encrypted. One room at a time
   * (two sends racing would each start a session).
   */
  encrypt(roomId: string, type: string, content: Record<string, unknown>, members: string[], rotation?: { periodMs?: number; messages?: number }): Promise<Record<string, unknown>> {
    const previous = this.roomChains.get(roomId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.track(() => this.encryptNow(roomId, type, content, members, rotation)));
    this.roomChains.set(roomId, next);
    void next.finally(() => { if (this.roomChains.get(roomId) === next) this.roomChains.delete(roomId); }).catch(() => undefined);
    return next;
  }

  private async encryptNow(roomId: string, type: string, content: Record<string, unknown>, members: string[], rotation?: { periodMs?: number; messages?: number }): Promise<Record<string, unknown>> {
    // The bindings take ownership of the ids in an array: each call gets its own.
    const users = () => userIds([...new Set(members)]);
    const room = new sdk.RoomId(roomId);
    await this.machine.updateTrackedUsers(users());
    await this.flush(); // device lists of newly tracked users
    const claim = await this.machine.getMissingSessions(users());
    if (claim) await this.send(claim);
    const settings = new sdk.EncryptionSettings();
    settings.sharingStrategy = this.opts.shareWith === 'cross-signed'
      ? sdk.CollectStrategy.identityBasedStrategy()
      : sdk.CollectStrategy.allDevices();
    if (rotation?.periodMs) settings.rotationPeriod = BigInt(rotation.periodMs) * 1000n;
    if (rotation?.messages) settings.rotationPeriodMessages = BigInt(rotation.messages);
    for (const req of await this.machine.shareRoomKey(room, users(), settings)) await this.send(req);
    return JSON.parse(await this.machine.encryptRoomEvent(room, type, JSON.stringify(content))) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    await this.flushing;
    this.machine.close();
    this.store.free();
    this.durable.close();
  }
}

/** Valid user ids as the bindings' objects; an invalid one (from a hostile event) is left out. */
function userIds(ids: string[]): sdk.UserId[] {
  return ids.flatMap((id) => {
    try {
      return [new sdk.UserId(id)];
    } catch {
      return [];
    }
  });
}

/**
 * The bridge's crypto device alone (core/crypto/) against a real Synapse: a registration
 * with what encryption needs, an appservice listener that hands the device its
 * transaction data and keeps the events, and client-server calls as the appservice. For
 * tests and benchmarks of the crypto itself; the whole bridge is `Stack`.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BridgeCrypto } from '../../core/crypto/bridge-crypto.js';
import { AppserviceListener } from '../../core/matrix/listener.js';
import { freePort, tempDir } from './proc.js';
import { Synapse } from './synapse.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;

export class CryptoDeviceRig {
  /** Every event the homeserver pushed, in order. */
  readonly received: Record<string, unknown>[] = [];
  crypto: BridgeCrypto | undefined;
  /**
   * While set, what transactions carry for the device is kept here instead of handed over
   * (the transaction is still answered): a key that arrives late, as over federation.
   */
  heldBack: Record<string, unknown>[] | undefined;

  private constructor(
    readonly synapse: Synapse,
    readonly serverName: string,
    readonly botUserId: string,
    private readonly listener: AppserviceListener,
    private readonly asToken: string,
    private readonly storePath: string,
    private readonly storeKey: Uint8Array,
    private readonly removeDir: () => void,
    readonly dir: string,
  ) {}

  static async start(serverName = 'crypto.test'): Promise<CryptoDeviceRig> {
    const dir = tempDir('sb-crypto-');
    const asToken = randomBytes(16).toString('hex');
    const hsToken = randomBytes(16).toString('hex');
    const bot = `@sbbot:${serverName}`;
    const port = await freePort();
    const regFile = join(dir.path, 'registration.yaml');
    writeFileSync(regFile, stringify({
      id: 'switchboard-crypto', url: `http://127.0.0.1:${port}`, as_token: asToken, hs_token: hsToken, sender_localpart: 'sbbot',
      rate_limited: false, receive_ephemeral: true, 'de.sorunome.msc2409.push_ephemeral': true,
      'org.matrix.msc3202': true, 'io.element.msc4190': true,
      namespaces: { users: [{ exclusive: true, regex: `@sb_.*:${serverName}` }, { exclusive: true, regex: `@sbbot:${serverName}` }], aliases: [], rooms: [] },
    }));
    let rig: CryptoDeviceRig | undefined;
    const listener = new AppserviceListener({
      receiveCrypto: async (body) => {
        if (rig?.heldBack) rig.heldBack.push(body);
        else await rig?.crypto?.receiveTransaction(body);
      },
      onTransaction: (_txn, events) => { rig?.received.push(...(events as Record<string, unknown>[])); },
      isBridgeUser: (u) => u === bot || u.startsWith('@sb_'),
    }, { hsToken, maxBodyBytes: 10_000_000, log: silent });
    await listener.listen(port, '127.0.0.1');
    const synapse = await Synapse.create({ dir: join(dir.path, 'synapse'), serverName, registrations: [regFile] });
    await synapse.start();
    rig = new CryptoDeviceRig(synapse, serverName, bot, listener, asToken, join(dir.path, 'crypto.sqlite'), randomBytes(32), dir.remove, dir.path);
    return rig;
  }

  /** Start (or restart) the device on its store. */
  async startCrypto(shareWith: 'all' | 'cross-signed' = 'all'): Promise<BridgeCrypto> {
    this.crypto = await BridgeCrypto.start({ homeserverUrl: this.synapse.url, asToken: this.asToken, userId: this.botUserId, deviceId: 'SWITCHBOARD', storePath: this.storePath, storeKey: this.storeKey, shareWith, log: silent });
    return this.crypto;
  }

  /** Hand over what was held back, in order, and stop holding. */
  async release(): Promise<void> {
    const held = this.heldBack ?? [];
    this.heldBack = undefined;
    for (const body of held) await this.crypto!.receiveTransaction(body);
  }

  async stopCrypto(): Promise<void> {
    const c = this.crypto;
    this.crypto = undefined;
    await c?.close();
  }

  /** A client-server call as one of the appservice's users. */
  async cs(method: string, path: string, body?: unknown, asUser = this.botUserId): Promise<Record<string, unknown>> {
    const url = new URL(path, this.synapse.url);
    url.searchParams.set('user_id', asUser);
    const res = await fetch(url, { method, headers: { authorization: `Bearer ${this.asToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Register one of the appservice's users (no device). */
  register(localpart: string): Promise<unknown> {
    return this.cs('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: localpart, inhibit_login: true }).catch(() => undefined);
  }

  /** Encrypt as the device and send as `asUser`. */
  async sendEncrypted(room: string, asUser: string, members: string[], content: Record<string, unknown>): Promise<string> {
    const sealed = await this.crypto!.encrypt(room, 'm.room.message', content, members);
    const res = await this.cs('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/${randomBytes(8).toString('hex')}`, sealed, asUser);
    return res.event_id as string;
  }

  async stop(): Promise<void> {
    await this.stopCrypto();
    await this.synapse.stop();
    await this.listener.close();
    this.removeDir();
  }
}

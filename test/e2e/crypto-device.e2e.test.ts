/**
 * The bridge's crypto device (core/crypto/) against a real Synapse and an independent
 * E2EE client (matrix-nio with libolm): the device is created without a login (MSC4190),
 * its keys uploaded as the bot (MSC4326 `device_id`), room keys arrive as to-device
 * messages in appservice transactions (MSC2409/MSC3202), the client's encrypted messages
 * are decrypted and what the bridge encrypts (as the bot and as a ghost) is decrypted by
 * the client. A restart keeps the identity and the sessions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { BridgeCrypto } from '../../core/crypto/bridge-crypto.js';
import { AppserviceListener } from '../../core/matrix/listener.js';
import { E2eeClient, ensureE2eeClient } from '../harness/e2ee-client.js';
import { freePort, tempDir } from '../harness/proc.js';
import { Synapse } from '../harness/synapse.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;
const SERVER = 'crypto.test';
const BOT = `@sbbot:${SERVER}`;
const GHOST = `@sb_ghost:${SERVER}`;
const DEVICE = 'SWITCHBOARD';

describe('the bridge crypto device with Synapse and matrix-nio', { timeout: 240_000 }, () => {
  const dir = tempDir('sb-crypto-');
  const asToken = randomBytes(16).toString('hex');
  const hsToken = randomBytes(16).toString('hex');
  const storeKey = randomBytes(32);
  const storePath = join(dir.path, 'crypto.sqlite');
  const received: Record<string, unknown>[] = [];
  let crypto: BridgeCrypto | undefined;
  let listener: AppserviceListener;
  let synapse: Synapse;
  let alice: E2eeClient;
  let room: string;

  const cs = async (method: string, path: string, body?: unknown, asUser = BOT): Promise<Record<string, unknown>> => {
    const url = new URL(path, synapse.url);
    url.searchParams.set('user_id', asUser);
    const res = await fetch(url, { method, headers: { authorization: `Bearer ${asToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const startCrypto = () => BridgeCrypto.start({ homeserverUrl: synapse.url, asToken, userId: BOT, deviceId: DEVICE, storePath, storeKey, shareWith: 'all', log: silent });

  /** The encrypted event the bridge received with this body once decrypted (its key may come later). */
  async function decryptedFromTransactions(body: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      for (const ev of received.filter((e) => e.type === 'm.room.encrypted' && e.room_id === room)) {
        const d = await crypto!.decrypt(room, ev);
        if (d.ok && d.content.body === body) return { event: ev, clear: d };
        if (!d.ok) last = d.reason;
      }
      if (Date.now() > deadline) throw new Error(`no decryptable event "${body}" among ${received.length} received; last failure: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function sendEncrypted(asUser: string, body: string): Promise<string> {
    const content = await crypto!.encrypt(room, 'm.room.message', { msgtype: 'm.text', body }, [asUser === BOT ? BOT : GHOST, alice.userId, BOT]);
    const txn = randomBytes(8).toString('hex');
    const res = await cs('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/${txn}`, content, asUser);
    return res.event_id as string;
  }

  before(async () => {
    ensureE2eeClient();
    const port = await freePort();
    const regFile = join(dir.path, 'registration.yaml');
    writeFileSync(regFile, stringify({
      id: 'switchboard-crypto', url: `http://127.0.0.1:${port}`, as_token: asToken, hs_token: hsToken, sender_localpart: 'sbbot',
      rate_limited: false, receive_ephemeral: true, 'de.sorunome.msc2409.push_ephemeral': true,
      'org.matrix.msc3202': true, 'io.element.msc4190': true,
      namespaces: { users: [{ exclusive: true, regex: `@sb_.*:${SERVER}` }, { exclusive: true, regex: `@sbbot:${SERVER}` }], aliases: [], rooms: [] },
    }));
    listener = new AppserviceListener({
      receiveCrypto: async (body) => { await crypto?.receiveTransaction(body); },
      onTransaction: (_txn, events) => { received.push(...(events as Record<string, unknown>[])); },
      isBridgeUser: (u) => u === BOT || u.startsWith('@sb_'),
    }, { hsToken, maxBodyBytes: 10_000_000, log: silent });
    await listener.listen(port, '127.0.0.1');
    synapse = await Synapse.create({ dir: join(dir.path, 'synapse'), serverName: SERVER, registrations: [regFile] });
    await synapse.start();
    await cs('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'sb_ghost' }).catch(() => undefined);
    crypto = await startCrypto();
    const account = await synapse.register('alice');
    alice = new E2eeClient(synapse.url, account.userId, 'alice-pass', join(dir.path, 'nio'));
    await alice.login();
  });

  after(async () => {
    await alice?.close();
    await crypto?.close();
    await synapse?.stop();
    await listener?.close();
    dir.remove();
  });

  it('decrypts what the client sends into an encrypted room the bot joined', async () => {
    room = await alice.createRoom({ name: 'encrypted portal', invite: [BOT], encrypted: true });
    await cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
    await alice.waitFor((e) => e.type === 'm.room.member' && e.sender === BOT);
    await alice.send(room, { msgtype: 'm.text', body: 'hello bridge' });
    const { event, clear } = await decryptedFromTransactions('hello bridge');
    assert.equal(event.sender, alice.userId);
    assert.equal(clear.type, 'm.room.message');
    assert.ok(clear.ok && typeof clear.senderKey === 'string' && clear.senderKey.length === 43, 'the sending device key is given');
  });

  it('the client decrypts what the bot and a ghost send, encrypted by the bridge device', async () => {
    await sendEncrypted(BOT, 'hello from the bot');
    const fromBot = await alice.waitFor((e) => e.content?.body === 'hello from the bot');
    assert.equal(fromBot.sender, BOT);
    assert.ok(fromBot.decrypted, 'nio decrypted it');
    assert.equal(fromBot.sender_key, crypto!.identityKeys.curve25519);

    await cs('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: GHOST });
    await cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {}, GHOST);
    await sendEncrypted(GHOST, 'hello from a ghost');
    const fromGhost = await alice.waitFor((e) => e.content?.body === 'hello from a ghost' || (e.undecryptable && e.sender === GHOST));
    assert.equal(fromGhost.sender, GHOST);
    assert.ok(fromGhost.decrypted, `nio decrypted the ghost's message: ${JSON.stringify(fromGhost)}`);
    assert.equal(fromGhost.sender_key, crypto!.identityKeys.curve25519, 'encrypted by the bridge device');
  });

  it('keeps its identity and sessions across a restart', async () => {
    const keys = crypto!.identityKeys;
    await crypto!.close();
    crypto = undefined;
    crypto = await startCrypto();
    assert.deepEqual(crypto.identityKeys, keys);
    await alice.send(room, { msgtype: 'm.text', body: 'after the restart' });
    await decryptedFromTransactions('after the restart');
    // An earlier message too: its inbound session was kept.
    await decryptedFromTransactions('hello bridge');
    await sendEncrypted(BOT, 'bot after the restart');
    assert.ok((await alice.waitFor((e) => e.content?.body === 'bot after the restart')).decrypted);
  });
});

/**
 * The bridge's crypto device (core/crypto/) against a real Synapse and an independent
 * E2EE client (matrix-nio with libolm): the device is created without a login (MSC4190),
 * its keys uploaded as the bot (MSC4326 `device_id`), room keys arrive as to-device
 * messages in appservice transactions (MSC2409/MSC3202), the client's encrypted messages
 * are decrypted and what the bridge encrypts (as the bot and as a ghost) is decrypted by
 * the client. A restart keeps the identity and the sessions.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CryptoDeviceRig } from '../harness/crypto-device.js';
import { E2eeClient, ensureE2eeClient } from '../harness/e2ee-client.js';

describe('the bridge crypto device with Synapse and matrix-nio', { timeout: 240_000 }, () => {
  let rig: CryptoDeviceRig;
  let alice: E2eeClient;
  let room: string;
  let bot: string;
  let aliceToken: string;
  let ghost: string;

  /** The encrypted event the bridge received with this body once decrypted (its key may come later). */
  async function decryptedFromTransactions(body: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      for (const ev of rig.received.filter((e) => e.type === 'm.room.encrypted' && e.room_id === room)) {
        const d = await rig.crypto!.decrypt(room, ev);
        if (d.ok && d.content.body === body) return { event: ev, clear: d };
        if (!d.ok) last = d.reason;
      }
      if (Date.now() > deadline) throw new Error(`no decryptable event "${body}" among ${rig.received.length} received; last failure: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const sendEncrypted = (asUser: string, body: string) => rig.sendEncrypted(room, asUser, [asUser, alice.userId, bot], { msgtype: 'm.text', body });

  before(async () => {
    ensureE2eeClient();
    rig = await CryptoDeviceRig.start();
    bot = rig.botUserId;
    ghost = `@sb_ghost:${rig.serverName}`;
    await rig.register('sb_ghost');
    await rig.startCrypto();
    const account = await rig.synapse.register('alice');
    aliceToken = account.accessToken;
    alice = new E2eeClient(rig.synapse.url, account.userId, 'alice-pass', join(rig.dir, 'nio'));
    await alice.login();
  });

  after(async () => {
    await alice?.close();
    await rig?.stop();
  });

  it('decrypts what the client sends into an encrypted room the bot joined', async () => {
    room = await alice.createRoom({ name: 'encrypted portal', invite: [bot], encrypted: true });
    await rig.cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
    await alice.waitFor((e) => e.type === 'm.room.member' && e.sender === bot);
    await alice.send(room, { msgtype: 'm.text', body: 'hello bridge' });
    const { event, clear } = await decryptedFromTransactions('hello bridge');
    assert.equal(event.sender, alice.userId);
    assert.equal(clear.type, 'm.room.message');
    assert.ok(clear.ok && typeof clear.senderKey === 'string' && clear.senderKey.length === 43, 'the sending device key is given');
  });

  it('the client decrypts what the bot and a ghost send, encrypted by the bridge device', async () => {
    await sendEncrypted(bot, 'hello from the bot');
    const fromBot = await alice.waitFor((e) => e.content?.body === 'hello from the bot');
    assert.equal(fromBot.sender, bot);
    assert.ok(fromBot.decrypted, 'nio decrypted it');
    assert.equal(fromBot.sender_key, rig.crypto!.identityKeys.curve25519);

    await rig.cs('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/invite`, { user_id: ghost });
    await rig.cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {}, ghost);
    await sendEncrypted(ghost, 'hello from a ghost');
    const fromGhost = await alice.waitFor((e) => e.content?.body === 'hello from a ghost' || (e.undecryptable && e.sender === ghost));
    assert.equal(fromGhost.sender, ghost);
    assert.ok(fromGhost.decrypted, `nio decrypted the ghost's message: ${JSON.stringify(fromGhost)}`);
    assert.equal(fromGhost.sender_key, rig.crypto!.identityKeys.curve25519, 'encrypted by the bridge device');
  });

  it('a key that arrives after its message: the message is undecryptable until then, and decrypts after', async () => {
    rig.heldBack = [];
    await alice.newSession(room);
    await alice.send(room, { msgtype: 'm.text', body: 'before its key' });
    const deadline = Date.now() + 20_000;
    let ev: Record<string, unknown> | undefined;
    while (!ev && Date.now() < deadline) {
      ev = rig.received.filter((e) => e.type === 'm.room.encrypted' && e.room_id === room).at(-1);
      if (ev) {
        const d = await rig.crypto!.decrypt(room, ev);
        if (d.ok) ev = undefined; // an older message; wait for the new one
        else assert.ok(d.missingKey, d.reason);
      }
      if (!ev) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ev, 'the message came without its key');
    assert.ok(rig.heldBack.length > 0, 'its key was held back');
    await rig.release();
    const d = await rig.crypto!.decrypt(room, ev);
    assert.ok(d.ok && d.content.body === 'before its key', 'decrypted once the key came');
  });

  it("rotates the room's session after the number of messages the room asks for", async () => {
    // A room of its own: the library keeps a session to the settings it was made with, and
    // the bridge always passes the room's own settings, so a room's first session has them.
    const rotating = await alice.createRoom({ name: 'rotating', invite: [bot], encrypted: true });
    await rig.cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(rotating)}`, {});
    const members = [bot, alice.userId];
    const sessions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sealed = await rig.crypto!.encrypt(rotating, 'm.room.message', { msgtype: 'm.text', body: `r${i}` }, members, { messages: 2 });
      sessions.push(String(sealed.session_id));
    }
    assert.equal(new Set(sessions).size, 3, `two messages per session: ${JSON.stringify(sessions)}`);
  });

  it('hostile to-device messages are left out, and the transactions behind them go on', async () => {
    const hostile = [
      { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'x', ciphertext: { nope: 1 } },
      { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: 5 },
      { body: 'x'.repeat(10_000) },
    ];
    for (const [i, content] of hostile.entries()) {
      const res = await fetch(`${rig.synapse.url}/_matrix/client/v3/sendToDevice/m.room.encrypted/hostile${i}`, {
        method: 'PUT', headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: { [bot]: { SWITCHBOARD: content } } }),
      });
      assert.equal(res.status, 200);
    }
    await alice.send(room, { msgtype: 'm.text', body: 'after the hostile ones' });
    await decryptedFromTransactions('after the hostile ones');
  });

  it('keeps its identity and sessions across a restart', async () => {
    const keys = rig.crypto!.identityKeys;
    await rig.stopCrypto();
    await rig.startCrypto();
    assert.deepEqual(rig.crypto!.identityKeys, keys);
    await alice.send(room, { msgtype: 'm.text', body: 'after the restart' });
    await decryptedFromTransactions('after the restart');
    // An earlier message too: its inbound session was kept.
    await decryptedFromTransactions('hello bridge');
    await sendEncrypted(bot, 'bot after the restart');
    assert.ok((await alice.waitFor((e) => e.content?.body === 'bot after the restart')).decrypted);
  });

  it("the bot has a cross-signing identity, and the bridge device is signed by it", async () => {
    const res = await fetch(`${rig.synapse.url}/_matrix/client/v3/keys/query`, {
      method: 'POST', headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device_keys: { [bot]: [] } }),
    });
    const keys = (await res.json()) as { master_keys?: Record<string, unknown>; self_signing_keys?: Record<string, { keys: Record<string, string> }>; device_keys: Record<string, Record<string, { signatures: Record<string, Record<string, string>> }>> };
    assert.ok(keys.master_keys?.[bot], 'a master key');
    const selfSigning = Object.keys(keys.self_signing_keys?.[bot]?.keys ?? {})[0];
    assert.ok(selfSigning, 'a self-signing key');
    assert.ok(keys.device_keys[bot]?.SWITCHBOARD?.signatures[bot]?.[selfSigning!], 'the device carries the self-signing key\'s signature');
  });

  it('share_with: cross-signed gives no room key to a device its owner did not cross-sign (nio cannot cross-sign)', async () => {
    await rig.stopCrypto();
    await rig.startCrypto('cross-signed');
    try {
      // A room of its own: the library keeps a session to the settings it was made with.
      const guarded = await alice.createRoom({ name: 'cross-signed only', invite: [bot], encrypted: true });
      await rig.cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(guarded)}`, {});
      await rig.sendEncrypted(guarded, bot, [bot, alice.userId], { msgtype: 'm.text', body: 'for cross-signed devices only' });
      const seen = await alice.waitFor((e) => e.room_id === guarded && e.type === 'm.room.encrypted', 30_000);
      assert.equal(seen.undecryptable, true, `nio's device is not cross-signed: no key for it (${JSON.stringify(seen)})`);
    } finally {
      await rig.stopCrypto();
      await rig.startCrypto();
    }
  });
});

/**
 * End-to-bridge encryption through the whole bridge (`encryption.allow` and `default`):
 * a real Synapse, the loopback network, and an independent E2EE client (matrix-nio with
 * libolm) as the Matrix user. Portals are created encrypted, the client decrypts what
 * ghosts say, what the client says encrypted reaches the network, the encrypted DM with
 * the bot answers commands, and an event that can never be decrypted is announced after
 * the bounded wait for its key.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OutboundEvent } from '../../core/events.js';
import { E2eeClient, ensureE2eeClient, type SeenEvent } from '../harness/e2ee-client.js';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { freePort } from '../harness/proc.js';
import { Stack } from '../harness/stack.js';

type Msg = Extract<OutboundEvent, { type: 'message' }>;
const isMessage = (text: string) => (e: { event: OutboundEvent }) => e.event.type === 'message' && (e.event as Msg).content.text === text;
const KEY_WAIT_S = 6;
// A 1x1 PNG one way, a 1x1 GIF the other.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

describe('end-to-bridge encryption with matrix-nio', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: E2eeClient;
  /** The same account without encryption: sends what a broken client would. */
  let plain: MatrixTestClient;
  let dm: string;
  const seen: Record<string, SeenEvent> = {};

  let metricsPort: number;

  before(async () => {
    ensureE2eeClient();
    metricsPort = await freePort();
    stack = await Stack.start({
      bridge: {
        loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] },
        extra: { encryption: { allow: true, default: true, key_wait_s: KEY_WAIT_S }, metrics: { enabled: true, bind_address: `127.0.0.1:${metricsPort}` } },
      },
    });
    plain = await stack.user('alice');
    alice = new E2eeClient(stack.synapse.url, '@alice:switchboard.test', 'alice-pass', join(stack.dir, 'nio-alice'));
    await alice.login('nio alice');
    await stack.loopback.addUser('bob', 'Bob');
  });

  after(async () => {
    await alice?.close();
    await plain?.stop();
    await stack?.stop();
  });

  it('a remote DM arrives in an encrypted portal, and the client decrypts the ghost message', async () => {
    await stack.loopback.dm('bob', 'alice', 'hello encrypted alice');
    dm = await alice.waitForInvite();
    await alice.join(dm);
    const msg = await alice.waitFor((e) => e.room_id === dm && e.content?.body === 'hello encrypted alice');
    seen.ghost = msg;
    assert.equal(msg.sender, stack.ghost('bob'));
    assert.ok(msg.decrypted, 'sent encrypted and decrypted by the client');
    await alice.waitFor((e) => e.room_id === dm && e.type === 'm.room.encryption');
  });

  it("the client's encrypted answer reaches the network", async () => {
    await alice.send(dm, { msgtype: 'm.text', body: 'hi bob, encrypted' });
    const e = await stack.loopback.waitFromBridge(isMessage('hi bob, encrypted'), 30_000);
    assert.equal(e.by, 'alice');
    assert.equal((e.event as Msg).chat, 'bob');
  });

  it('edits, replies, reactions and redactions go both ways, encrypted', async () => {
    const rel = (e: SeenEvent) => e.content?.['m.relates_to'] as { rel_type?: string; event_id?: string; key?: string; 'm.in_reply_to'?: { event_id: string } } | undefined;
    // remote -> Matrix
    const remoteId = await stack.loopback.dm('bob', 'alice', 'typo hre');
    const original = await alice.waitFor((e) => e.room_id === dm && e.content?.body === 'typo hre');
    await stack.loopback.edit(remoteId, 'typo here');
    const edit = await alice.waitFor((e) => rel(e)?.rel_type === 'm.replace' && rel(e)?.event_id === original.event_id);
    assert.ok(edit.decrypted);
    seen.edit = edit;
    assert.equal((edit.content['m.new_content'] as { body: string }).body, 'typo here');
    await stack.loopback.react('bob', remoteId, '👍');
    const reaction = await alice.waitFor((e) => e.type === 'm.reaction' && rel(e)?.event_id === original.event_id);
    assert.ok(reaction.decrypted, 'the reaction was encrypted');
    seen.reaction = reaction;
    assert.equal(rel(reaction)?.key, '👍');
    const replyId = await stack.loopback.dm('bob', 'alice', 'replying', remoteId);
    const reply = await alice.waitFor((e) => e.room_id === dm && e.content?.body === 'replying');
    assert.equal(rel(reply)?.['m.in_reply_to']?.event_id, original.event_id);
    seen.reply = reply;
    await stack.loopback.delete(replyId);
    await alice.waitFor((e) => e.type === 'm.room.redaction' && (e.content?.redacts === reply.event_id || JSON.stringify(e).includes(reply.event_id)));

    // Matrix -> remote
    const mine = await alice.send(dm, { msgtype: 'm.text', body: 'my mistkae' });
    const sent = await stack.loopback.waitFromBridge(isMessage('my mistkae'), 30_000);
    await alice.send(dm, { msgtype: 'm.text', body: '* my mistake', 'm.new_content': { msgtype: 'm.text', body: 'my mistake' }, 'm.relates_to': { rel_type: 'm.replace', event_id: mine } });
    const edited = await stack.loopback.waitFromBridge((e) => e.event.type === 'edit', 30_000);
    assert.deepEqual(edited.event.type === 'edit' && [edited.event.target, edited.event.content.text], [sent.id, 'my mistake']);
    await alice.send(dm, { msgtype: 'm.text', body: 'answering that', 'm.relates_to': { 'm.in_reply_to': { event_id: original.event_id } } });
    const replied = await stack.loopback.waitFromBridge(isMessage('answering that'), 30_000);
    assert.equal((replied.event as Msg).replyTo, remoteId);
    const reactionId = await alice.send(dm, { 'm.relates_to': { rel_type: 'm.annotation', event_id: original.event_id, key: '🎉' } }, 'm.reaction');
    const reacted = await stack.loopback.waitFromBridge((e) => e.event.type === 'reaction', 30_000);
    assert.deepEqual(reacted.event.type === 'reaction' && [reacted.event.target, reacted.event.keys], [remoteId, ['🎉']]);
    await alice.redact(dm, reactionId);
    const unreacted = await stack.loopback.waitFromBridge((e) => e.event.type === 'reaction' && e.event.keys.length === 0, 30_000);
    assert.ok(unreacted);
    await alice.redact(dm, mine);
    const deleted = await stack.loopback.waitFromBridge((e) => e.event.type === 'delete', 30_000);
    assert.equal(deleted.event.type === 'delete' && deleted.event.target, sent.id);
  });

  it('images go both ways as encrypted files', async () => {
    await stack.loopback.dm('bob', 'alice', { kind: 'text', text: '', attachments: [{ kind: 'image', name: 'dot.png', mime: 'image/png', size: PNG.length, width: 1, height: 1, source: { kind: 'bytes', bytes: new Uint8Array(PNG) } }] });
    const img = await alice.waitFor((e) => e.room_id === dm && e.content?.msgtype === 'm.image' && e.sender === stack.ghost('bob'));
    seen.image = img;
    assert.equal(img.content.url, undefined, 'no clear url in an encrypted room');
    const file = img.content.file as Record<string, unknown>;
    assert.match(String(file.url), /^mxc:\/\//);
    assert.deepEqual(await alice.downloadDecrypt(file), PNG, 'nio decrypted the file to the bytes bob sent');

    await alice.sendImage(dm, GIF, 'image/gif', 'dot.gif');
    const out = await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && (e.event.content.attachments?.length ?? 0) > 0, 30_000);
    const att = (out.event as Msg).content.attachments![0]!;
    assert.equal(att.name, 'dot.gif');
    assert.equal(att.link, undefined, 'no public link to an encrypted file');
    const stored = await stack.loopback.message(out.id!);
    const source = stored.content.attachments![0]!.source;
    assert.ok(source.kind === 'bytes');
    assert.deepEqual(Buffer.from(source.bytes), GIF, 'the network got the clear bytes');
  });

  it('keys survive a clean restart and a SIGKILL right after a new key arrived', async () => {
    await stack.bridge.stop('SIGTERM');
    await alice.send(dm, { msgtype: 'm.text', body: 'while the bridge was down' });
    await stack.bridge.start();
    stack.loopback.bridgeRestarted();
    await stack.loopback.waitFromBridge(isMessage('while the bridge was down'), 60_000);
    await stack.loopback.dm('bob', 'alice', 'after the restart');
    assert.ok((await alice.waitFor((e) => e.room_id === dm && e.content?.body === 'after the restart', 60_000)).decrypted);

    // A new session: its key reaches the bridge over to-device with this message...
    await alice.newSession(dm);
    await alice.send(dm, { msgtype: 'm.text', body: 'first of a new session' });
    await stack.loopback.waitFromBridge(isMessage('first of a new session'), 30_000);
    // ...and the bridge dies right after it used it. The next message of the session needs that key.
    await stack.bridge.stop('SIGKILL');
    await alice.send(dm, { msgtype: 'm.text', body: 'second of the session, sent while the bridge was dead' });
    await stack.bridge.start();
    stack.loopback.bridgeRestarted();
    await stack.loopback.waitFromBridge(isMessage('second of the session, sent while the bridge was dead'), 60_000);
    assert.ok(!(await alice.events()).some((e) => /could not be decrypted/.test(String(e.content?.body)) && e.room_id === dm && JSON.stringify(e).includes('second of')), 'no key was lost');
  });

  it('an encrypted group portal: several ghosts, both ways', async () => {
    await stack.loopback.addUser('carol', 'Carol');
    await stack.loopback.addGroup('general', { name: 'General', members: ['alice', 'bob', 'carol'] });
    await stack.loopback.say('bob', 'general', 'morning all');
    const room = await alice.waitForInvite((r) => r !== dm);
    await alice.join(room);
    await stack.loopback.say('carol', 'general', 'morning bob');
    const m1 = await alice.waitFor((e) => e.room_id === room && e.content?.body === 'morning all');
    const m2 = await alice.waitFor((e) => e.room_id === room && e.content?.body === 'morning bob');
    assert.deepEqual([m1.sender, m2.sender, m1.decrypted, m2.decrypted], [stack.ghost('bob'), stack.ghost('carol'), true, true]);
    await alice.send(room, { msgtype: 'm.text', body: 'morning, encrypted' });
    const out = await stack.loopback.waitFromBridge(isMessage('morning, encrypted'), 30_000);
    assert.equal((out.event as Msg).chat, 'general');
  });

  it("a new device of the user, logged in later, decrypts what the bridge sends after", async () => {
    const second = new E2eeClient(stack.synapse.url, '@alice:switchboard.test', 'alice-pass', join(stack.dir, 'nio-alice-2'));
    try {
      await second.login('nio alice, second device');
      await new Promise((r) => setTimeout(r, 2_000)); // the device list change reaches the bridge in a transaction (MSC3202)
      await stack.loopback.dm('bob', 'alice', 'for both of your devices');
      const got = await second.waitFor((e) => e.room_id === dm && e.content?.body === 'for both of your devices', 30_000);
      assert.ok(got.decrypted, 'the new device got the room key');
      assert.ok((await alice.waitFor((e) => e.room_id === dm && e.content?.body === 'for both of your devices')).decrypted);
    } finally {
      await second.close();
    }
  });

  it('the encrypted DM with the bot answers commands and runs a login, encrypted', async () => {
    // Someone with no login yet, so the whole login flow runs in the encrypted DM.
    await stack.synapse.register('dave');
    const dave = new E2eeClient(stack.synapse.url, '@dave:switchboard.test', 'dave-pass', join(stack.dir, 'nio-dave'));
    await dave.login('nio dave');
    try {
      const room = await dave.createRoom({ name: 'bot', invite: [stack.botUserId], encrypted: true, isDirect: true });
      await dave.waitFor((e) => e.room_id === room && e.type === 'm.room.member' && e.sender === stack.botUserId);
      const fromBot = (inRoom: string, pattern: RegExp) => dave.waitFor((e) => e.room_id === inRoom && e.sender === stack.botUserId && pattern.test(String(e.content?.body)), 30_000);
      await dave.send(room, { msgtype: 'm.text', body: 'help' });
      const reply = await fromBot(room, /login <network>/);
      seen.bot = reply;
      assert.ok(reply.decrypted, 'the bot answered encrypted in the encrypted DM');
      await dave.send(room, { msgtype: 'm.text', body: 'login loopback' });
      // The login asks for a password and the bot cannot delete messages in a DM the user
      // made, so it goes on in a room the bot makes, encrypted too.
      assert.ok((await fromBot(room, /I opened a room where I can/)).decrypted);
      const loginRoom = await dave.waitForInvite((id) => id !== room, 30_000);
      await dave.join(loginRoom);
      assert.ok((await fromBot(loginRoom, /Send your loopback user name/)).decrypted, 'the login flow runs encrypted');
      await dave.send(loginRoom, { msgtype: 'm.text', body: 'dave' });
      assert.ok((await fromBot(loginRoom, /password/i)).decrypted);
      await dave.send(loginRoom, { msgtype: 'm.text', body: 'dave-loopback-pass' });
      const done = await fromBot(loginRoom, /^Logged in to loopback as/);
      assert.ok(done.decrypted, 'the login completed, encrypted');
      const encryption = await dave.waitFor((e) => e.room_id === loginRoom && e.type === 'm.room.encryption');
      assert.ok(encryption, 'the login room is encrypted');
      // The new login works: a contact's message opens an encrypted portal for dave.
      await stack.loopback.dm('bob', 'dave', 'hello dave');
      const portal = await dave.waitForInvite((id) => id !== room && id !== loginRoom, 30_000);
      await dave.join(portal);
      assert.ok((await dave.waitFor((e) => e.room_id === portal && e.content?.body === 'hello dave', 30_000)).decrypted, 'decrypted by dave');
      // The bridge's one device, as the client knows it: the bot's, not verified by anyone.
      const devices = await dave.deviceTrust(stack.botUserId);
      process.stdout.write(`# nio's view of the bot's devices: ${JSON.stringify(devices)}\n`);
      assert.deepEqual(devices.map((d) => [d.device_id, d.verified]), [['SWITCHBOARD', false]]);
      assert.deepEqual(await dave.deviceTrust(stack.ghost('bob')), [], 'ghosts have no devices');
    } finally {
      await dave.close();
    }
  });

  /** A Megolm message of a session nobody has (well formed: version 3, index, ciphertext, MAC, signature). */
  function unknownSessionMessage(): Record<string, unknown> {
    const body = Buffer.concat([Buffer.from([0x03, 0x08, 0x00, 0x12, 0x10]), Buffer.alloc(16, 7), Buffer.alloc(8, 1), Buffer.alloc(64, 2)]);
    return { algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'A'.repeat(43), device_id: 'NOSUCHDEVICE', session_id: 'B'.repeat(43), ciphertext: body.toString('base64').replace(/=+$/, '') };
  }
  const notDecrypted = (eventId: string) => (e: SeenEvent) =>
    e.room_id === dm && e.sender === stack.ghost('bob') && /could not be decrypted/.test(String(e.content?.body)) && JSON.stringify(e.content).includes(eventId);

  it('an event that can never be decrypted is announced at once; the portal goes on', async () => {
    const broken = { algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'A'.repeat(43), device_id: 'NOSUCHDEVICE', session_id: 'B'.repeat(43), ciphertext: 'AwgAEhA' };
    const bad = await plain.send(dm, 'm.room.encrypted', broken);
    await alice.send(dm, { msgtype: 'm.text', body: 'after the broken one' });
    const notice = await alice.waitFor(notDecrypted(bad), 30_000);
    assert.ok(notice.decrypted, 'the notice is encrypted too');
    assert.match(String(notice.content.body), /Not delivered/);
    await stack.loopback.waitFromBridge(isMessage('after the broken one'), 30_000);
  });

  it('an event whose key never comes holds its portal for the key wait, then its sender is told; what follows goes after it', async () => {
    const waiting = await plain.send(dm, 'm.room.encrypted', unknownSessionMessage());
    await alice.send(dm, { msgtype: 'm.text', body: 'behind the waiting one' });
    // Held behind the event that waits for its key (KEY_WAIT_S from its arrival), in order.
    await assert.rejects(stack.loopback.waitFromBridge(isMessage('behind the waiting one'), 2_000), /no matching loopback event/);
    const notice = await alice.waitFor(notDecrypted(waiting), (KEY_WAIT_S + 30) * 1000);
    assert.match(String(notice.content.body), /its key never reached the bridge/);
    await stack.loopback.waitFromBridge(isMessage('behind the waiting one'), 30_000);
  });

  it('decryptions, failures and key waits are counted; no key is ever in the log', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const value = (outcome: string) => Number(new RegExp(`switchboard_decryptions_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    assert.ok(value('decrypted') >= 3, text.split('\n').filter((l) => l.includes('decrypt')).join('\n'));
    assert.equal(value('failed'), 2, 'the broken event and the one whose key never came (counted since the last start)');
    assert.match(text, /switchboard_decryption_key_wait_seconds_count [1-9]/);
    const log = stack.bridge.process!.output();
    assert.match(log, /waiting for the key of an encrypted event/);
    const keys = (await alice.events()).flatMap((e) => [((e.content?.file as { key?: { k?: string } })?.key?.k)]).filter((k): k is string => !!k);
    assert.ok(keys.length > 0);
    for (const k of keys) assert.ok(!log.includes(k), 'a file key in the log');
    assert.ok(!/"(ciphertext|session_key|room_key)"/.test(log), 'no ciphertext or room key in the log');
  });

  after(() => {
    // What the independent client showed, for the issue note.
    for (const [what, e] of Object.entries(seen)) {
      const body = typeof e.content?.body === 'string' ? e.content.body.slice(0, 60) : undefined;
      process.stdout.write(`# nio showed (${what}): ${JSON.stringify({ type: e.type, sender: e.sender, body, relates_to: e.content?.['m.relates_to'], decrypted: e.decrypted, verified: e.verified, sender_key: e.sender_key })}\n`);
    }
  });
});

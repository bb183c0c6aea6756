/**
 * Encryption rules of the pipeline that need no crypto (core/portal/matrix/encryption.ts,
 * core/pipeline/encrypted-events.ts): an encrypted event with encryption off is announced,
 * `encryption.require` refuses what is sent unencrypted, and a DM portal where encryption
 * is turned on gets the bot. Decryption itself: test/e2e/encryption.e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Encryption } from '../../core/crypto/encryption.js';
import { RoomFacts } from '../../core/crypto/room-facts.js';
import { ALICE, matrixText, startHarness, type Harness } from '../fakes/harness.js';
import { RecordingMatrix } from '../fakes/recording-matrix.js';
import { silentLogger } from '../../core/log.js';

const encrypted = (roomId: string) => ({ type: 'm.room.encrypted', room_id: roomId, sender: ALICE, content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x', session_id: 'y', sender_key: 'z', device_id: 'D' } });

/** Encryption as configured, never started: these rules must hold before any key exists. */
function encryptionWith(matrix: RecordingMatrix, requireEncrypted: boolean): Encryption {
  return new Encryption({
    homeserverUrl: 'http://127.0.0.1:1', asToken: 'x', botUserId: '@bot:test', deviceId: 'SB', storePath: ':memory:', loginDataKey: 'k'.repeat(16),
    shareWith: 'all', keyWaitMs: 1_000, encryptNewRooms: requireEncrypted, requireEncrypted, log: silentLogger(),
  }, matrix);
}

async function groupRoom(h: Harness): Promise<string> {
  h.world.addUser('bob', 'Bob');
  h.world.addGroup('general', { name: 'General', members: ['alice', 'bob', 'relaybot'] });
  await h.world.say('bob', 'general', 'hello');
  await h.engine.idle();
  return h.matrix.sends()[0]!.roomId;
}

describe('what encryption knows of a room (core/crypto/room-facts.ts)', () => {
  it("reads the room's rotation settings from its m.room.encryption, ignores hostile values, and asks the homeserver once when it saw nothing", async () => {
    const matrix = new RecordingMatrix();
    const facts = new RoomFacts(matrix);
    facts.observe({ type: 'm.room.encryption', state_key: '', room_id: '!a:test', sender: ALICE, event_id: '$1', content: { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: 3_600_000, rotation_period_msgs: 10 } });
    assert.deepEqual(await facts.settings('!a:test', '@bot:test' as never), { rotationPeriodMs: 3_600_000, rotationMessages: 10 });
    facts.observe({ type: 'm.room.encryption', state_key: '', room_id: '!b:test', sender: ALICE, event_id: '$2', content: { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: -5, rotation_period_msgs: 1e400 } });
    assert.deepEqual(await facts.settings('!b:test', '@bot:test' as never), { rotationPeriodMs: undefined, rotationMessages: undefined });
    facts.observe({ type: 'm.room.encryption', state_key: '', room_id: '!c:test', sender: ALICE, event_id: '$3', content: { algorithm: 'm.olm.v1.curve25519-aes-sha2' } });
    assert.equal(await facts.settings('!c:test', '@bot:test' as never), undefined, 'not an algorithm for rooms: not encrypted');
    const asked = matrix.calls.length;
    assert.equal(await facts.settings('!d:test', '@bot:test' as never), undefined);
    assert.equal(await facts.settings('!d:test', '@bot:test' as never), undefined);
    assert.ok(matrix.calls.length - asked <= 1, 'asked once at most');
  });
});

describe('encryption rules in the pipeline', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('with encryption off, an encrypted message in a portal is announced to its sender, not dropped in silence', async () => {
    h = await startHarness();
    const roomId = await groupRoom(h);
    const before = h.world.fromBridge.length;
    await h.fromMatrix(encrypted(roomId));
    const notice = h.matrix.sends().find((s) => String(s.content.body).includes('encryption.allow'));
    assert.ok(notice, 'a notice says why');
    assert.deepEqual((notice.content['m.mentions'] as { user_ids: string[] }).user_ids, [ALICE]);
    assert.equal(h.world.fromBridge.length, before, 'nothing reached the network');
  });

  it('encryption.require: a message sent unencrypted into a portal is refused and its sender told; commands still work', async () => {
    const matrix = new RecordingMatrix();
    h = await startHarness({ matrix, encryption: encryptionWith(matrix, true) });
    const roomId = await groupRoom(h);
    const before = h.world.fromBridge.length;
    await h.fromMatrix(matrixText(roomId, ALICE, 'in the clear'));
    assert.equal(h.world.fromBridge.length, before);
    assert.ok(h.matrix.sends().some((s) => String(s.content.body).includes('carries only encrypted messages')));
    await h.fromMatrix(matrixText(roomId, ALICE, '!sb links'));
    assert.ok(h.matrix.sends().some((s) => String(s.content.body).includes('loopback')), 'the command was answered');
  });

  it('encryption turned on in a DM portal: the contact invites the bot, which joins', async () => {
    const matrix = new RecordingMatrix();
    h = await startHarness({ matrix, encryption: encryptionWith(matrix, false) });
    h.world.addUser('bob', 'Bob');
    await h.world.dm('bob', 'alice', 'hi');
    await h.engine.idle();
    const roomId = h.matrix.sends()[0]!.roomId;
    assert.ok(!h.matrix.of('join').some((c) => c.userId === h!.engine.ctx.naming.botUserId), 'not in the DM before');
    await h.fromMatrix({ type: 'm.room.encryption', state_key: '', room_id: roomId, sender: ALICE, content: { algorithm: 'm.megolm.v1.aes-sha2' } });
    const bot = h.engine.ctx.naming.botUserId;
    assert.ok(h.matrix.of('invite').some((c) => c.roomId === roomId && c.userId === bot));
    assert.ok(h.matrix.of('join').some((c) => c.roomId === roomId && c.userId === bot));
  });
});

describe('the key wait of an encrypted event counts from its arrival', () => {
  let h: Harness | undefined;
  afterEach(async () => { await h?.stop(); h = undefined; });

  it('an event queued behind a slow one is given the time it arrived, not the time its turn came', async () => {
    const matrix = new RecordingMatrix();
    const real = encryptionWith(matrix, false);
    const seen: { body: string; receivedAt: number; turn: number }[] = [];
    // Opens without crypto; the first event takes 300 ms (a key wait), holding its portal.
    const opening = Object.assign(Object.create(real) as Encryption, {
      async open(ev: { content: { ciphertext: string } } & Record<string, unknown>, receivedAt: number) {
        const body = ev.content.ciphertext;
        seen.push({ body, receivedAt, turn: Date.now() });
        if (body === 'first') await new Promise((r) => setTimeout(r, 300));
        return { ...ev, type: 'm.room.message', content: { msgtype: 'm.text', body } };
      },
    });
    const harness = await startHarness({ matrix, encryption: opening });
    h = harness;
    const roomId = await groupRoom(harness);
    const event = (body: string) => ({ ...encrypted(roomId), content: { ...encrypted(roomId).content, ciphertext: body } });
    await harness.fromMatrix(event('first'), event('second'));
    assert.deepEqual(seen.map((s) => s.body), ['first', 'second']);
    const second = seen[1]!;
    assert.ok(second.turn - second.receivedAt >= 250, `the second was stamped when it arrived, ${second.turn - second.receivedAt} ms before its turn`);
    assert.deepEqual(harness.world.fromBridge.filter((e) => e.event.type === 'message').map((e) => (e.event as { content: { text: string } }).content.text).slice(-2), ['first', 'second']);
  });
});

/**
 * Hostile input (issue 19), inside one process: one stranger's event must never block a
 * chat, change someone else's words, fail a transaction after it was recorded, or vanish
 * without a word. Each test names the numbered item of the issue it covers.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { remoteMessageId } from '../../core/ids.js';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const config = testConfig({ bridge: { permissions: { '*': 'relay', 'example.org': 'user' }, retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 20 } } });

/** A group portal with bob and mallory, created by bob's first message. */
async function groupPortal(h: Harness): Promise<{ roomId: string; bobId: string }> {
  h.world.addUser('bob', 'Bob');
  h.world.addUser('mallory', 'Mallory');
  h.world.addGroup('general', { name: 'General', members: ['alice', 'bob', 'mallory', 'relaybot'] });
  const bobId = await h.world.say('bob', 'general', 'hello from bob');
  await h.engine.idle();
  return { roomId: h.matrix.sends()[0]!.roomId, bobId };
}

const bodies = (h: Harness) => h.matrix.sends().map((s) => String(s.content.body));
const remoteTexts = (h: Harness) => h.world.fromBridge.flatMap((s) => (s.event.type === 'message' ? [s.event.content.text] : []));

describe('hostile input', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness({ config }); });
  afterEach(() => h.stop());

  it('1. a lone surrogate is replaced at the boundary, both ways', async () => {
    const { roomId } = await groupPortal(h);
    await h.world.say('bob', 'general', 'x\ud800y');
    await h.engine.idle();
    assert.equal(bodies(h).at(-1), 'x\ufffdy');
    await h.fromMatrix(matrixText(roomId, ALICE, 'a\udc00b'));
    assert.equal(remoteTexts(h).at(-1), 'a\ufffdb');
  });

  it('1. a span that splits an emoji (found by the abuse suite) never makes the bridge write a lone surrogate', async () => {
    await groupPortal(h);
    await h.world.say('bob', 'general', { kind: 'text', text: 'a😀b', spans: [{ kind: 'bold', offset: 2, length: 2 }] });
    await h.engine.idle();
    const sent = h.matrix.sends().at(-1)!;
    assert.equal(sent.content.body, 'a😀b');
    assert.equal(sent.content.formatted_body, 'a<strong>😀b</strong>');
    assert.equal(h.store.countInbox('failed'), 0);
  });

  it('1. an event the homeserver refuses with a 500 while it answers otherwise is parked, announced, and the chat moves on', { timeout: 20_000 }, async () => {
    const { roomId } = await groupPortal(h);
    h.matrix.refuseWith500 = (content) => content.body === 'poison';
    await h.world.say('bob', 'general', 'poison');
    await h.world.say('bob', 'general', 'after the poison');
    await h.fromMatrix(matrixText(roomId, ALICE, 'and Matrix still reaches the chat'));
    await h.engine.idle();
    const after = bodies(h);
    assert.ok(after.includes('after the poison'), 'the later message went');
    assert.ok(after.some((b) => /^⚠ A message from Bob on loopback could not be bridged here: parked after 3 attempts/.test(b)), `the room was told: ${after.join(' | ')}`);
    assert.ok(remoteTexts(h).some((t) => /^⚠ Bob: your message could not be bridged to Matrix/.test(t)), 'the sender was told on their network');
    assert.ok(remoteTexts(h).some((t) => t.endsWith('and Matrix still reaches the chat')));
    assert.equal(h.store.countInbox('pending'), 0);
    // The parked list says how often it was tried: the first attempt counted when recorded, the others as they came.
    assert.deepEqual(h.store.parkedInbox(10).map((r) => [r.direction, r.attempts]), [['remote', 3]]);
  });

  it('1. a 500 while the homeserver does not answer at all is an outage: waited out, never parked', async () => {
    await groupPortal(h);
    h.matrix.down = true;
    const said = h.world.say('bob', 'general', 'during the outage');
    setTimeout(() => { h.matrix.down = false; }, 300);
    await said;
    await new Promise((r) => setTimeout(r, 350));
    await h.engine.idle();
    assert.equal(bodies(h).at(-1), 'during the outage');
    assert.equal(h.store.countInbox('failed'), 0);
  });

  it('2. a remote edit or retraction of someone else\'s message is refused; a moderator\'s deletion is applied', async () => {
    const { roomId, bobId } = await groupPortal(h);
    await h.fromMatrix({ ...matrixText(roomId, ALICE, 'alice on Matrix'), event_id: '$alice' });
    const aliceRemote = h.world.fromBridge.at(-1)!;
    const aliceId = [...h.world.messages.values()].find((m) => m.content.text === 'alice on Matrix')?.id;
    assert.ok(aliceId, `alice's message reached the network (${JSON.stringify(aliceRemote.event)})`);
    await h.world.delete(aliceId, 'mallory');
    await h.world.edit(aliceId, 'forged by mallory', 'mallory');
    await h.world.delete(remoteMessageId(bobId), 'mallory');
    await h.world.edit(remoteMessageId(bobId), 'forged by mallory', 'mallory');
    await h.engine.idle();
    assert.deepEqual(h.matrix.of('redact'), [], 'nothing redacted');
    assert.equal(h.matrix.sends().filter((s) => JSON.stringify(s.content).includes('forged')).length, 0, 'no forged edit');
    // Bob's own edit, and a moderator's deletion, are applied.
    await h.world.edit(remoteMessageId(bobId), 'bob corrects himself');
    await h.world.delete(aliceId, 'mallory', true);
    await h.engine.idle();
    assert.equal(h.matrix.sends().at(-1)!.content.body, '* bob corrects himself');
    assert.deepEqual(h.matrix.of('redact').map((r) => r.eventId), ['$alice'].map(() => h.matrix.of('redact')[0]!.eventId));
    assert.equal(h.matrix.of('redact').length, 1);
  });

  it('2. a Matrix redaction of someone else\'s message is refused unless the sender may redact others', async () => {
    const { roomId } = await groupPortal(h);
    const bobEvent = h.matrix.sends()[0]!.eventId;
    await h.fromMatrix({ ...matrixText(roomId, ALICE, 'mine'), event_id: '$mine' });
    const before = h.world.fromBridge.length;
    await h.fromMatrix({ type: 'm.room.redaction', room_id: roomId, sender: '@dave:example.org', redacts: '$mine', content: {} });
    await h.fromMatrix({ type: 'm.room.redaction', room_id: roomId, sender: '@dave:example.org', redacts: bobEvent, content: {} });
    assert.equal(h.world.fromBridge.length, before, 'no deletion reached the network');
    h.matrix.powers.set(`${roomId}|@dave:example.org`, 50);
    await h.fromMatrix({ type: 'm.room.redaction', room_id: roomId, sender: '@dave:example.org', redacts: bobEvent, content: {} });
    assert.equal(h.world.fromBridge.at(-1)!.event.type, 'delete', 'a moderator deletes');
  });

  it('3. a transaction whose ephemeral array holds null is still recorded once and its message bridged', async () => {
    const { roomId } = await groupPortal(h);
    assert.doesNotThrow(() => h.engine.handleTransaction('eph-null', [{ ...matrixText(roomId, ALICE, 'beside a null'), event_id: '$n1', origin_server_ts: Date.now() }], [null, 7, { type: 'm.typing' }]));
    await h.engine.idle();
    assert.ok(remoteTexts(h).some((t) => t.endsWith('beside a null')));
  });

  it('6. a pill with a malformed %-escape degrades to text and the message goes', async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(matrixText(roomId, ALICE, 'hi bob', { format: 'org.matrix.custom.html', formatted_body: 'hi <a href="https://matrix.to/#/@%E0%A4%A:example.org">bob</a>' }));
    assert.equal(remoteTexts(h).at(-1), 'hi bob');
    assert.equal(h.store.countInbox('failed'), 0);
  });
});

describe('hostile input: sizes', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness({ config }); });
  afterEach(() => h.stop());

  it('5. a 1 MB remote message reaches Matrix cut to fit, marked, with the whole text as a file', async () => {
    await groupPortal(h);
    const big = `${'0123456789'.repeat(100_000)}END`;
    const id = await h.world.say('bob', 'general', big);
    await h.engine.idle();
    const [text, file] = h.matrix.sends().slice(-2);
    assert.match(String(text!.content.body), /^0123456789.*\n\[… the message continues in the attached file message\.txt\]$/s);
    assert.ok(Buffer.byteLength(JSON.stringify(text!.content)) <= 60_000);
    assert.equal(file!.content.msgtype, 'm.file');
    assert.equal(Buffer.from(h.matrix.media.get(String(file!.content.url))!.bytes).toString('utf8'), big, 'the whole text, byte for byte');
    assert.equal(h.store.messageParts('loopback/general/', id).length, 2);
    assert.equal(h.store.countInbox('failed'), 0);
  });

  it('5. styled text whose HTML would not fit goes as plain text; a huge edit is cut and marked', async () => {
    await groupPortal(h);
    const text = 'ab '.repeat(15_000);
    const spans = Array.from({ length: 1000 }, (_, i) => ({ kind: 'bold' as const, offset: i * 3, length: 2 }));
    assert.ok(Buffer.byteLength(text) < 60_000, 'the text alone fits');
    const id = await h.world.say('bob', 'general', { kind: 'text', text, spans });
    await h.engine.idle();
    const sent = h.matrix.sends().at(-1)!;
    assert.equal(sent.content.body, text);
    assert.equal(sent.content.formatted_body, undefined, 'formatting went first');
    await h.world.edit(id, 'x'.repeat(200_000));
    await h.engine.idle();
    const edit = h.matrix.sends().at(-1)!;
    assert.match(String(edit.content.body), /^\* x+\n\[… cut: the edit is longer than one Matrix event can hold\]$/);
    assert.equal(h.store.countInbox('failed'), 0);
  });
});

describe('hostile input: reactions', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness({ config }); });
  afterEach(() => h.stop());

  it('9. a reaction set with 1,000 keys becomes at most 20 reactions, and replacing it at most 20 redactions', async () => {
    const { bobId } = await groupPortal(h);
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    await h.world.reactSet('mallory', remoteMessageId(bobId), [...keys, 'x'.repeat(10_000)]);
    await h.engine.idle();
    assert.equal(h.matrix.sends('m.reaction').length, 20);
    await h.world.reactSet('mallory', remoteMessageId(bobId), keys.slice(500));
    await h.engine.idle();
    assert.equal(h.matrix.of('redact').length, 20);
    assert.equal(h.matrix.sends('m.reaction').length, 40);
    // One at a time, too: the 21st is not added.
    for (let i = 0; i < 25; i++) await h.world.react('bob', remoteMessageId(bobId), `b${i}`);
    await h.engine.idle();
    assert.equal(h.store.reactionsBy('loopback/general/', remoteMessageId(bobId), 'bob').length, 20);
  });
});

describe('hostile input: names and echoes', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness({ config }); });
  afterEach(() => h.stop());

  it('a remote display name with CR/LF becomes one line on its ghost', async () => {
    h.world.addUser('eve', 'Eve\r\nBob: I agree');
    h.world.addGroup('general', { members: ['alice', 'eve', 'relaybot'] });
    await h.world.say('eve', 'general', 'hi');
    await h.engine.idle();
    assert.deepEqual(h.matrix.of('displayname').map((d) => d.name), ['Eve Bob: I agree']);
  });

  it('the bot never echoes control characters or direction overrides back', async () => {
    await h.fromMatrix(matrixText('!dm:example.org', ALICE, 'he\u0007lp\u202e\u0000x'));
    const answer = String(h.matrix.sends().at(-1)!.content.body);
    assert.match(answer, /^Unknown command "helpx"/);
    assert.doesNotMatch(answer, /[\u0000-\u0008\u202e]/);
  });
});

describe('hostile input: what the bridge itself cannot read', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness({ config }); });
  afterEach(() => h.stop());

  it('3. one event the bridge fails to read is skipped; the rest of its transaction is recorded once and bridged', async () => {
    const { roomId } = await groupPortal(h);
    const portalsByRoom = h.store.portalsByRoom.bind(h.store);
    // A bug's stand-in: reading the portals of one room throws.
    h.store.portalsByRoom = (room) => {
      if (room === '!cursed:example.org') throw new Error('a bug');
      return portalsByRoom(room);
    };
    assert.doesNotThrow(() => h.engine.handleTransaction('cursed', [
      { ...matrixText('!cursed:example.org', ALICE, 'never read'), event_id: '$c1', origin_server_ts: Date.now() },
      { ...matrixText(roomId, ALICE, 'after the cursed one'), event_id: '$c2', origin_server_ts: Date.now() },
    ]));
    await h.engine.idle();
    assert.ok(remoteTexts(h).some((t) => t.endsWith('after the cursed one')));
  });

  it('a room that refuses every message is told once in ten minutes, not once per message', async () => {
    await groupPortal(h);
    h.matrix.refuseWith500 = (content) => typeof content.body === 'string' && content.body.startsWith('refused');
    for (let i = 0; i < 3; i++) await h.world.say('bob', 'general', `refused ${i}`);
    await h.engine.idle();
    assert.equal(h.matrix.sends().filter((s) => /could not be bridged here/.test(String(s.content.body))).length, 1);
    assert.equal(remoteTexts(h).filter((t) => /could not be bridged to Matrix/.test(t)).length, 1);
    assert.equal(h.store.countInbox('failed'), 3, 'each one parked (and logged)');
  });
});

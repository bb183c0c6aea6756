import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackWorld } from '../../bridges/loopback/index.js';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';
import { RecordingMatrix } from '../fakes/recording-matrix.js';

/** Given a group portal alice's login created, with its room id. */
async function groupPortal(h: Harness): Promise<{ roomId: string; firstRemote: string; firstEvent: string }> {
  h.world.addUser('bob', 'Bob');
  h.world.addGroup('general', { name: 'General', members: ['alice', 'bob', 'relaybot'] });
  const firstRemote = await h.world.say('bob', 'general', 'hello from bob');
  await h.engine.idle();
  const [msg] = h.matrix.sends();
  return { roomId: msg!.roomId, firstRemote, firstEvent: msg!.eventId };
}

describe('Matrix -> remote', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness(); });
  afterEach(() => h.stop());

  it("a Matrix user's message goes out through their own login, and the echo is dropped", async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(matrixText(roomId, ALICE, 'hi bob'));
    const sent = h.world.fromBridge.at(-1)!;
    assert.equal(sent.by, 'alice');
    assert.deepEqual(sent.event, { chat: 'general', type: 'message', content: { kind: 'text', text: 'hi bob' } });
    // The loopback network reflects the message to alice's own session (after answering the
    // send, as a server does): it must not come back to Matrix, and is not even recorded.
    assert.equal(h.matrix.sends().length, 1);
    const remoteRows = () => (h.store.driver.prepare("SELECT count(*) AS n FROM inbox WHERE direction = 'remote'").get() as { n: number }).n;
    assert.equal(remoteRows(), 1, "only bob's first message is on record, not alice's echo");
    await h.world.redeliver(sent.id!);
    await h.engine.idle();
    assert.equal(remoteRows(), 1, 'a repeat while the bridge remembers its send is dropped the same way');
    assert.equal(h.matrix.sends().length, 1);
  });

  it('an echo the bridge no longer remembers (a restart came between) goes the long way, and still never reaches Matrix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-echo-'));
    try {
      const path = join(dir, 'echo.db');
      const world = new LoopbackWorld();
      const matrix = new RecordingMatrix();
      const h1 = await startHarness({ path, world, matrix });
      const { roomId } = await groupPortal(h1);
      await h1.fromMatrix(matrixText(roomId, ALICE, 'hi bob'));
      const id = world.fromBridge.at(-1)!.id!;
      await h1.stop();
      const h2 = await startHarness({ path, world, matrix });
      // The network repeats it (a history replay after the reconnect): recorded, then recognised by its mapped id.
      await world.redeliver(id);
      await h2.engine.idle();
      const rows = h2.store.driver.prepare("SELECT dedup_key, state FROM inbox WHERE direction = 'remote' ORDER BY seq").all();
      assert.deepEqual(rows.at(-1), { dedup_key: `msg:${id}`, state: 'done' });
      assert.equal(matrix.sends().length, 1, "only bob's message ever reached Matrix");
      await h2.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Matrix user without a login is relayed with the name template', async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(
      { type: 'm.room.member', room_id: roomId, sender: '@dave:other.org', state_key: '@dave:other.org', content: { membership: 'join', displayname: 'Dave' } },
      matrixText(roomId, '@dave:other.org', 'hi all'),
    );
    const sent = h.world.fromBridge.at(-1)!;
    assert.equal(sent.by, 'relaybot');
    assert.deepEqual(sent.event, {
      chat: 'general', type: 'message', relayedFor: { displayName: 'Dave', matrixId: '@dave:other.org' },
      content: { kind: 'text', text: 'Dave: hi all', spans: [{ kind: 'bold', offset: 0, length: 4 }] },
    });
  });

  it('replies, edits, reactions and redactions reach the loopback network with the right remote ids', async () => {
    const { roomId, firstRemote, firstEvent } = await groupPortal(h);
    await h.fromMatrix({ ...matrixText(roomId, ALICE, '> <@_loopback_bob:example.org> hello from bob\n\nreply!', { 'm.relates_to': { 'm.in_reply_to': { event_id: firstEvent } } }), event_id: '$reply' });
    const reply = h.world.fromBridge.at(-1)!.event;
    assert.deepEqual(reply, { chat: 'general', type: 'message', content: { kind: 'text', text: 'reply!' }, replyTo: firstRemote });
    const replyRemote = [...h.world.messages.values()].at(-1)!.id;

    await h.fromMatrix(matrixText(roomId, ALICE, '* reply (edited)', { 'm.new_content': { msgtype: 'm.text', body: 'reply (edited)' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$reply' } }));
    assert.deepEqual(h.world.fromBridge.at(-1)!.event, { chat: 'general', type: 'edit', target: replyRemote, content: { kind: 'text', text: 'reply (edited)' } });

    await h.fromMatrix({ type: 'm.reaction', room_id: roomId, sender: ALICE, event_id: '$react', content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: firstEvent, key: '🎉' } } });
    assert.deepEqual(h.world.fromBridge.at(-1)!.event, { chat: 'general', type: 'reaction', target: firstRemote, key: '🎉', removed: false, keys: ['🎉'] });
    assert.deepEqual([...h.world.messages.get(firstRemote as never)!.reactions.get('alice' as never)!], ['🎉']);

    await h.fromMatrix({ type: 'm.room.redaction', room_id: roomId, sender: ALICE, redacts: '$react', content: {} });
    assert.deepEqual(h.world.fromBridge.at(-1)!.event, { chat: 'general', type: 'reaction', target: firstRemote, key: '🎉', removed: true, keys: [] });

    await h.fromMatrix({ type: 'm.room.redaction', room_id: roomId, sender: ALICE, redacts: '$reply', content: {} });
    assert.deepEqual(h.world.fromBridge.at(-1)!.event, { chat: 'general', type: 'delete', target: replyRemote });
    assert.equal(h.world.messages.get(replyRemote)!.deleted, true);
  });

  it('the same Matrix event delivered twice (and a repeated transaction) is sent once', async () => {
    const { roomId } = await groupPortal(h);
    const ev = { ...matrixText(roomId, ALICE, 'only once'), event_id: '$dup', origin_server_ts: 1 };
    h.engine.handleTransaction('same-txn', [ev]);
    h.engine.handleTransaction('same-txn', [ev]);
    h.engine.handleTransaction('other-txn', [ev]);
    await h.engine.idle();
    assert.equal(h.world.fromBridge.filter((s) => s.event.type === 'message').length, 1);
  });

  it("events from the bridge's own ghosts and bot are ignored (echo)", async () => {
    const { roomId } = await groupPortal(h);
    const before = h.world.fromBridge.length;
    await h.fromMatrix(matrixText(roomId, '@_loopback_bob:example.org', 'echo'), matrixText(roomId, '@switchboard:example.org', 'bot echo'));
    assert.equal(h.world.fromBridge.length, before);
  });

  it('mentions of ghosts become remote mentions; formatting becomes spans', async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(matrixText(roomId, ALICE, 'Bob: look', { format: 'org.matrix.custom.html', formatted_body: '<a href="https://matrix.to/#/@_loopback_bob:example.org">Bob</a>: <b>look</b>' }));
    assert.deepEqual(h.world.fromBridge.at(-1)!.event, {
      chat: 'general', type: 'message',
      content: { kind: 'text', text: 'Bob: look', spans: [{ kind: 'mention', offset: 0, length: 3, user: 'bob' }, { kind: 'bold', offset: 5, length: 4 }] },
    });
  });

  it('a malformed event in a transaction is skipped and the rest still flows', async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix({ type: 42 } as never, matrixText(roomId, ALICE, 'still here'));
    assert.deepEqual(h.world.fromBridge.at(-1)!.event, { chat: 'general', type: 'message', content: { kind: 'text', text: 'still here' } });
  });

  it('a message from someone who may not be relayed is refused with a notice in the room', async () => {
    await h.stop();
    h = await startHarness({ config: testConfig({ bridge: { permissions: { 'example.org': 'user' } } }) });
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(matrixText(roomId, '@mallory:evil.org', 'spam'));
    assert.equal(h.world.fromBridge.length, 0);
    const notice = h.matrix.sends().at(-1)!;
    assert.equal(notice.sender, '@switchboard:example.org');
    assert.match(String(notice.content.body), /Not delivered to loopback: you are not allowed/);
  });
});

describe('Matrix typing and receipts', () => {
  it("go out through the user's own login only, once per transaction", async () => {
    const h = await startHarness();
    const { roomId, firstRemote, firstEvent } = await groupPortal(h);
    const typing = { type: 'm.typing', room_id: roomId, content: { user_ids: [ALICE, '@dave:other.org'] } };
    const receipt = { type: 'm.receipt', room_id: roomId, content: { [firstEvent]: { 'm.read': { [ALICE]: { ts: 1 }, '@dave:other.org': { ts: 1 } } } } };
    h.engine.handleTransaction('eph-1', [], [typing, receipt]);
    h.engine.handleTransaction('eph-1', [], [typing, receipt]);
    h.engine.handleTransaction('eph-2', [], [{ type: 'm.typing', room_id: roomId, content: { user_ids: [] } }]);
    await h.engine.idle();
    assert.deepEqual(h.world.fromBridge.map((s) => [s.by, s.event]), [
      ['alice', { type: 'typing', chat: 'general', active: true }],
      ['alice', { type: 'receipt', chat: 'general', upTo: firstRemote }],
      ['alice', { type: 'typing', chat: 'general', active: false }],
    ]);
    await h.stop();
  });
});

describe('Matrix presence', () => {
  it("goes to the user's own login on changes only, with a one-line status; others' and malformed ones are ignored", async () => {
    const h = await startHarness();
    const presence = (sender: string, content: Record<string, unknown>) => ({ type: 'm.presence', sender, content });
    const aliceRemote = 'alice' as never;
    h.engine.handleTransaction('p-1', [], [presence(ALICE, { presence: 'online', last_active_ago: 5 })]);
    await h.engine.idle();
    assert.deepEqual(h.world.presence.get(aliceRemote), { state: 'online' });
    // Synapse repeats a presence as "last active" moves: nothing new goes out.
    h.world.presence.delete(aliceRemote);
    h.engine.handleTransaction('p-2', [], [presence(ALICE, { presence: 'online', last_active_ago: 900 })]);
    await h.engine.idle();
    assert.equal(h.world.presence.get(aliceRemote), undefined);
    h.engine.handleTransaction('p-3', [], [
      presence(ALICE, { presence: 'unavailable', status_msg: 'at lunch\n<b>back</b> soon' }),
      presence('@dave:other.org', { presence: 'offline' }),
      presence('@_loopback_bob:example.org', { presence: 'offline' }),
      presence(ALICE, { presence: 'sleeping' }),
      presence(ALICE, 'junk' as never),
    ]);
    await h.engine.idle();
    assert.deepEqual(h.world.presence.get(aliceRemote), { state: 'unavailable', status: 'at lunch <b>back</b> soon' });
    assert.deepEqual([...h.world.presence.keys()], [aliceRemote]);
    await h.stop();
  });
});

describe('capability fallbacks', () => {
  let h: Harness;
  afterEach(() => h.stop());

  it('text longer than the network limit is split into several messages', async () => {
    h = await startHarness({ config: testConfig({}, { max_text_length: 20 }) });
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(matrixText(roomId, ALICE, 'one two three four five six seven eight'));
    const texts = h.world.fromBridge.filter((s) => s.event.type === 'message').map((s) => (s.event as { content: { text: string } }).content.text);
    assert.deepEqual(texts, ['one two three four ', 'five six seven eight']);
    assert.ok(texts.every((t) => t.length <= 20));
  });
});

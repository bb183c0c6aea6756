/**
 * Gap repair (core/pipeline/gap-repair.ts) must only ever bridge events the homeserver never
 * delivered. Found by independent clients (issue 18): a `link` command typed in a room,
 * then linked, was later taken for a skipped event and relayed to the remote chat.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LoopbackWorld } from '../../bridges/loopback/index.js';
import { RecordingMatrix } from '../fakes/recording-matrix.js';
import { matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-gaps-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const ERIN = '@erin:example.org';
const ROOM = '!team:example.org';
const config = testConfig({ bridge: { permissions: { '*': 'relay', 'example.org': 'user' }, retry: { max_attempts: 2, base_delay_ms: 5, max_delay_ms: 10 } } });

/** A room whose whole timeline the fake homeserver knows, fed to the bridge one transaction per event. */
class Room {
  readonly timeline: Record<string, unknown>[] = [];
  private n = 0;
  private txn = 100;
  constructor(private readonly matrix: RecordingMatrix) {
    matrix.timelines.set(ROOM, this.timeline);
  }
  /** An event whose transaction the homeserver created (taking an id) and never sent, as Synapse's recovery race does. */
  lostInTransaction(sender: string, body: string, ts = Date.now()): Record<string, unknown> {
    this.txn++;
    return this.event(sender, body, ts);
  }
  /** `ts`: when the homeserver took the event (an event held through an outage arrives long after). */
  event(sender: string, body: string, ts = Date.now()): Record<string, unknown> {
    const ev = { ...matrixText(ROOM, sender, body), event_id: `$e${++this.n}`, origin_server_ts: ts };
    this.timeline.push(ev);
    return ev;
  }
  /** The homeserver delivers `ev` as a transaction of its own, after gap repair had its look. */
  async deliver(h: Harness, ev: Record<string, unknown>): Promise<string[]> {
    const txnId = String(++this.txn);
    const amended = await h.engine.repairGaps(txnId, [ev]);
    h.engine.handleTransaction(txnId, amended);
    await h.engine.idle();
    return amended.map((e) => (e as { event_id: string }).event_id);
  }
}

const remoteTexts = (world: LoopbackWorld) => world.fromBridge.flatMap((s) => (s.event.type === 'message' ? [s.event.content.text.replace(/^.*?: /, '')] : []));
const botAnswers = (h: Harness) => h.matrix.sends().filter((s) => s.sender === h.matrix.botUserId && s.roomId === ROOM).map((s) => String(s.content.body));

/** A loopback group "team" with bob, and a room where erin is an admin, its timeline kept by the fake homeserver. */
function teamRoom(): { world: LoopbackWorld; matrix: RecordingMatrix; room: Room } {
  const world = new LoopbackWorld();
  world.addUser('bob');
  world.addGroup('team', { members: ['bob', 'relaybot'] });
  const matrix = new RecordingMatrix();
  matrix.powers.set(`${ROOM}|${ERIN}`, 100);
  return { world, matrix, room: new Room(matrix) };
}

describe('gap repair takes only undelivered events for skipped ones', () => {
  it('a command typed before a link, a refused message and a prefixed command are never bridged after a restart', async () => {
    const path = join(dir, 'commands.db');
    const { world, matrix, room } = teamRoom();

    let h = await startHarness({ config, path, world, matrix });
    await room.deliver(h, room.event(ERIN, 'link loopback team'));
    assert.match(botAnswers(h).at(-1)!, /^Linked this room/);
    await room.deliver(h, room.event(ERIN, 'one'));
    await room.deliver(h, room.event(ERIN, '!sb relay off'));
    assert.match(botAnswers(h).at(-1)!, /^Relaying is off/);
    await room.deliver(h, room.event(ERIN, 'refused while relay is off'));
    await room.deliver(h, room.event(ERIN, '!sb relay on'));
    await h.stop();

    // The bridge restarts: gap repair is armed and reads the room's timeline before the next event.
    h = await startHarness({ config, path, world, matrix });
    const answersBefore = botAnswers(h).length;
    await world.say('bob', 'team', 'bob writes after the restart');
    await h.engine.idle();
    assert.deepEqual(await room.deliver(h, room.event(ERIN, 'two')), ['$e6'], 'nothing delivered before is taken for skipped');
    assert.deepEqual(remoteTexts(world), ['one', 'two'], 'only the two messages reached the chat');
    assert.equal(botAnswers(h).length, answersBefore, 'no command ran twice');
    await h.stop();
  });

  it('an event the homeserver never delivered is still found and bridged in order', async () => {
    const { world, matrix, room } = teamRoom();
    const h = await startHarness({ config, world, matrix });
    await room.deliver(h, room.event(ERIN, 'link loopback team'));
    await room.deliver(h, room.event(ERIN, 'one'));
    room.lostInTransaction(ERIN, 'skipped by the homeserver');
    assert.deepEqual(await room.deliver(h, room.event(ERIN, 'three')), ['$e3', '$e4']);
    assert.deepEqual(remoteTexts(world), ['one', 'skipped by the homeserver', 'three']);
    await h.stop();
  });

  it('an encrypted event the homeserver never delivered is found too (it is opened, or announced, in its place)', async () => {
    const { world, matrix, room } = teamRoom();
    const h = await startHarness({ config, world, matrix });
    await room.deliver(h, room.event(ERIN, 'link loopback team'));
    await room.deliver(h, room.event(ERIN, 'one'));
    const lost = room.lostInTransaction(ERIN, 'sealed');
    Object.assign(lost, { type: 'm.room.encrypted', content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x', session_id: 'y', sender_key: 'z', device_id: 'D' } });
    assert.deepEqual(await room.deliver(h, room.event(ERIN, 'three')), ['$e3', '$e4']);
    // Encryption is off in this harness: the sender is told about it, before 'three' goes.
    assert.ok(h.matrix.sends().some((s) => String(s.content.body).includes('encryption.allow')));
    assert.deepEqual(remoteTexts(world), ['one', 'three']);
    await h.stop();
  });

  it('an event lost at the end of an outage is found although the event before it arrived late (seen in the fault suite: reordered 1)', async () => {
    // The homeserver held both through the bridge's outage; its recovery sent 'one' late and
    // left the transaction of 'skipped' unsent. When the bridge received 'one' says nothing
    // of when 'skipped' was written: the timeline's order does.
    const { world, matrix, room } = teamRoom();
    const h = await startHarness({ config, world, matrix });
    await room.deliver(h, room.event(ERIN, 'link loopback team', Date.now() - 60_000));
    const start = Date.now();
    await room.deliver(h, room.event(ERIN, 'one', start - 20_000));
    room.lostInTransaction(ERIN, 'skipped by the homeserver', start - 19_000);
    assert.deepEqual(await room.deliver(h, room.event(ERIN, 'three')), ['$e3', '$e4']);
    assert.deepEqual(remoteTexts(world), ['one', 'skipped by the homeserver', 'three']);
    await h.stop();
  });
});

describe('start asks the homeserver for what it held', () => {
  it('pings the homeserver once at start (Synapse then ends its retry backoff), and starts all the same when the ping fails', async () => {
    for (const down of [false, true]) {
      const { world, matrix } = teamRoom();
      matrix.down = down;
      const h = await startHarness({ config, world, matrix });
      try {
        // startHarness returned: the engine started whether or not the ping was answered.
        assert.equal(matrix.pings, 1, `down=${down}`);
      } finally {
        await h.stop();
      }
    }
  });
});

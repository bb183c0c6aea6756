/**
 * The delivery rules of issue 7 inside one process: a poisoned event is parked and its
 * portal moves on, an outage is announced once and waited out in order, and an attempt
 * interrupted mid-send is retried with the same delivery key so the network can tell.
 */
import assert from 'node:assert/strict';
import { GapRepair } from '../../core/pipeline/gap-repair.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TransientError, type Delivery } from '../../core/adapter.js';
import type { OutboundEvent } from '../../core/events.js';
import type { RemoteUserId } from '../../core/ids.js';
import { MESSAGE_STATUS_TYPE } from '../../core/portal/matrix/notify.js';
import { crashStore } from '../fakes/store.js';
import { RecordingMatrix } from '../fakes/recording-matrix.js';
import { MatrixRequestError } from '../../core/matrix/side.js';
import { LoopbackAdapter, LoopbackWorld } from '../../bridges/loopback/index.js';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-durable-'));
// A crashed harness's store may still be finishing a WAL checkpoint in its worker: retry, do not fail the file.
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const fastRetry = testConfig({ bridge: { permissions: { '*': 'relay', 'example.org': 'user' }, retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 20 } } });

/** A portal room with bob in it, created by a first message from bob. */
async function portalRoom(h: Harness, world = h.world): Promise<string> {
  world.addUser('bob');
  world.addGroup('general', { members: ['alice', 'bob', 'relaybot'] });
  await world.say('bob', 'general', 'hi');
  await h.engine.idle();
  return h.matrix.sends()[0]!.roomId;
}

const texts = (world: LoopbackWorld) => world.fromBridge.map((s) => (s.event.type === 'message' ? s.event.content.text : s.event.type));
const bodies = (h: Harness) => h.matrix.sends().map((s) => String(s.content.body));

/** Wrap the world's fromSession to observe (and optionally sabotage) every send. */
function interceptSends(world: LoopbackWorld, before: (ev: OutboundEvent, key: string | undefined) => void): void {
  const original = world.fromSession.bind(world);
  world.fromSession = async (by: RemoteUserId, ev: OutboundEvent, key?: string) => {
    before(ev, key);
    return original(by, ev, key);
  };
}

describe('durability rules', () => {
  it('parks an event the connected network keeps refusing, tells the sender, and moves on', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    let tries = 0;
    interceptSends(h.world, (ev) => {
      if (ev.type === 'message' && ev.content.text === 'poison' && ++tries) throw new Error('the network refuses this one');
    });
    await h.fromMatrix(matrixText(roomId, ALICE, 'before'), matrixText(roomId, ALICE, 'poison'), matrixText(roomId, ALICE, 'after'));
    assert.deepEqual(texts(h.world), ['before', 'after'], 'the portal moved on past the poisoned event');
    assert.equal(tries, 3, 'tried max_attempts times');
    assert.equal(h.store.countInbox('failed'), 1);
    const notice = bodies(h).find((b) => b.startsWith('⚠ Not delivered'));
    assert.match(notice ?? '', /parked after 3 attempts: loopback send failed: the network refuses this one/);
    const status = h.matrix.sends(MESSAGE_STATUS_TYPE);
    assert.equal(status.length, 1);
    assert.equal(status[0]!.content.status, 'FAIL_PERMANENT');
    assert.match(String(status[0]!.content.message), /parked after 3 attempts/);
    await h.stop();
  });

  it('an outage of the network is announced once, waited out, and the queue flows in order after it', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    h.world.setOnline(false);
    h.engine.handleTransaction('out-1', ['one', 'two', 'three'].map((t, i) => ({ ...matrixText(roomId, ALICE, t), event_id: `$o${i}` })));
    // Far longer than max_attempts x max_delay: an outage never parks.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(texts(h.world), []);
    assert.equal(h.store.countInbox('failed'), 0);
    // A shared room: no notice for everyone, a ⏳ mark on the sender's message (issue 18).
    assert.deepEqual(bodies(h).filter((b) => b.startsWith('⏳ Delayed')), []);
    const marks = h.matrix.sends('m.reaction').filter((r) => r.sender === h.matrix.botUserId);
    assert.deepEqual(marks.map((r) => r.content['m.relates_to']), [{ rel_type: 'm.annotation', event_id: '$o0', key: '⏳' }], 'one mark for the outage, on the first waiting message');
    assert.deepEqual(h.matrix.sends(MESSAGE_STATUS_TYPE).map((s) => s.content.status), ['PENDING']);
    h.world.setOnline(true);
    await h.engine.idle();
    assert.deepEqual(texts(h.world), ['one', 'two', 'three']);
    const statuses = h.matrix.sends(MESSAGE_STATUS_TYPE);
    assert.deepEqual(statuses.map((s) => [s.content.status, (s.content['m.relates_to'] as { event_id: string }).event_id]), [['PENDING', '$o0'], ['SUCCESS', '$o0']]);
    assert.deepEqual(h.matrix.of('redact').map((r) => r.eventId), [marks[0]!.eventId], 'the mark is taken off once the message went');
    await h.stop();
  });

  it('a message that waited and is then given up on loses its ⏳ mark and gets the failure notice', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    interceptSends(h.world, (ev) => {
      if (ev.type === 'message' && ev.content.text.endsWith('doomed')) throw new Error('the network refuses this one');
    });
    h.world.setOnline(false);
    h.engine.handleTransaction('doomed-1', [{ ...matrixText(roomId, ALICE, 'doomed'), event_id: '$doomed' }]);
    await new Promise((r) => setTimeout(r, 150));
    const mark = h.matrix.sends('m.reaction').find((r) => r.sender === h.matrix.botUserId);
    assert.ok(mark, 'marked while it waits');
    h.world.setOnline(true);
    await h.engine.idle();
    assert.deepEqual(h.matrix.of('redact').map((r) => r.eventId), [mark.eventId], 'the mark is taken off');
    assert.ok(bodies(h).some((b) => b.startsWith('⚠ Not delivered')));
    await h.stop();
  });

  it('in a DM the outage is said with a notice', async () => {
    const h = await startHarness({ config: fastRetry });
    h.world.addUser('bob');
    await h.world.dm('bob', 'alice', 'hi alice');
    await h.engine.idle();
    const dm = h.matrix.sends()[0]!.roomId;
    h.world.setOnline(false);
    h.engine.handleTransaction('dm-out', [{ ...matrixText(dm, ALICE, 'are you there'), event_id: '$d0' }]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(bodies(h).filter((b) => b.startsWith('⏳ Delayed')).length, 1);
    h.world.setOnline(true);
    await h.engine.idle();
    await h.stop();
  });

  it('a flood wait the adapter reports is an outage: the portal waits at least that long, tells the sender once, parks nothing', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    const session = h.engine.ctx.sessions.all().find((l) => l.login.remoteUser === 'alice')!.session;
    const send = session.send.bind(session);
    const tries: number[] = [];
    session.send = async (ev, delivery) => {
      tries.push(Date.now());
      // Five refusals, more than max_attempts (3): a flood wait must never count towards parking.
      if (tries.length <= 5) throw new TransientError('flood control: retry in 0.2 s', 200, { outage: true });
      return send(ev, delivery);
    };
    await h.fromMatrix(matrixText(roomId, ALICE, 'slowly'), matrixText(roomId, ALICE, 'then this'));
    assert.deepEqual(texts(h.world).map((t) => t.replace(/^.*: /, '')), ['slowly', 'then this']);
    assert.equal(h.store.countInbox('failed'), 0);
    for (let i = 1; i <= 5; i++) assert.ok(tries[i]! - tries[i - 1]! >= 190, `retry ${i} waited ${tries[i]! - tries[i - 1]!} ms, not the 200 ms asked`);
    assert.equal(h.matrix.sends('m.reaction').filter((r) => r.sender === h.matrix.botUserId).length, 1, 'the sender is told once (a mark in a shared room)');
    await h.stop();
  });

  it('events the homeserver dropped instead of sending (synapse#11637) are found in the room and bridged in order, once', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    const ev = (id: string, body: string) => ({ ...matrixText(roomId, ALICE, body), event_id: id, origin_server_ts: Date.now() });
    const before = ev('$before', 'before'), lost = ev('$lost', 'lost in the homeserver'), after = ev('$after', 'after');
    h.engine.handleTransaction('7', [before]);
    await h.engine.idle();
    // The room has all three; the homeserver's next transaction carries only the last.
    h.matrix.timelines.set(roomId, [{ ...matrixText(roomId, '@someone:example.org', 'older, before the link'), event_id: '$old', origin_server_ts: 1 }, before, lost, after]);
    const amended = await h.engine.repairGaps('8', [after]);
    h.engine.handleTransaction('8', amended);
    await h.engine.idle();
    assert.deepEqual(texts(h.world).slice(-3).map((t) => t.replace(/^.*: /, '')), ['before', 'lost in the homeserver', 'after']);
    await h.stop();
  });

  it('for a while after a sign of trouble a transaction id that jumps gets every room checked again (a recovering Synapse can leave one unsent), then once per room', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    let clock = Date.now();
    const gaps = new GapRepair(h.engine.ctx, () => clock);
    const ev = (id: string, ts = clock) => ({ ...matrixText(roomId, ALICE, id.slice(1)), event_id: id, origin_server_ts: ts });
    const ids = (list: unknown[]) => list.map((e) => (e as { event_id: string }).event_id);
    const timeline: Record<string, unknown>[] = [];
    h.matrix.timelines.set(roomId, timeline);
    /**
     * `lost` reaches the room but not us: as in Synapse, its transaction took an id and was
     * never sent, so `next` comes with the id after it. Returns what the check makes of it.
     */
    const round = async (txnId: string, lost: string, next: Record<string, unknown>) => {
      timeline.push(ev(lost), next);
      return deliver(txnId, next);
    };
    const deliver = async (txnId: string, next: Record<string, unknown>) => {
      if (!timeline.includes(next)) timeline.push(next);
      const amended = await gaps.fill(txnId, [next]);
      h.engine.handleTransaction(txnId, amended);
      await h.engine.idle();
      return ids(amended);
    };
    h.engine.handleTransaction('1', [ev('$first')]);
    await h.engine.idle();
    gaps.arm('test');
    assert.deepEqual(await round('3', '$lost1', ev('$a')), ['$lost1', '$a']);
    // Within the while, transactions that follow one another directly are not read for: none can be missing.
    const reads = h.matrix.contextReads;
    assert.deepEqual(await deliver('4', ev('$a1')), ['$a1']);
    assert.deepEqual(await deliver('5', ev('$a2')), ['$a2']);
    assert.equal(h.matrix.contextReads, reads);
    // The same room again, within the while, after an id that jumps: checked again.
    clock += 30_000;
    assert.deepEqual(await round('7', '$lost2', ev('$b')), ['$lost2', '$b']);
    // An event that waited 10 s: the homeserver is still catching up, so the while goes on.
    clock += 25_000;
    assert.deepEqual(await round('9', '$lost3', ev('$late', clock - 10_000)), ['$lost3', '$late']);
    clock += 50_000;
    assert.deepEqual(await round('11', '$lost4', ev('$c')), ['$lost4', '$c']);
    // Past the while: each room once per sign of trouble, and this one was checked.
    clock += 61_000;
    assert.deepEqual(await round('13', '$lost5', ev('$d')), ['$d']);
    // Late events forever (a homeserver clock behind ours looks like that) do not keep the watch on past 10 minutes.
    clock += 8 * 60_000;
    assert.deepEqual(await round('15', '$lost7', ev('$f', clock - 60_000)), ['$f']);
    // A transaction id going back (the homeserver restarted) is a sign again.
    clock += 1_000;
    assert.deepEqual(await round('1', '$lost6', ev('$e')), ['$lost5', '$lost7', '$lost6', '$e']);
    // Everything reached the network once; what was found late, late but before what followed it.
    assert.deepEqual(texts(h.world).map((t) => t.replace(/^.*: /, '')), ['first', 'lost1', 'a', 'a1', 'a2', 'lost2', 'b', 'lost3', 'late', 'lost4', 'c', 'd', 'f', 'lost5', 'lost7', 'lost6', 'e']);
    await h.stop();
  });

  it('a send whose answer was lost is retried with the same key and maybeSent, and the network keeps one message', async () => {
    const h = await startHarness({ config: fastRetry });
    const roomId = await portalRoom(h);
    const seen: Delivery[] = [];
    // Alice has her own loopback login in the test config: her messages go through it.
    const session = h.engine.ctx.sessions.all().find((l) => l.login.remoteUser === 'alice')!.session;
    const send = session.send.bind(session);
    let lose = true;
    session.send = async (ev, delivery) => {
      seen.push(delivery!);
      const result = await send(ev, delivery);
      // The network took it, then the connection dropped before the answer came back.
      if (lose) { lose = false; throw new Error('connection reset'); }
      return result;
    };
    await h.fromMatrix(matrixText(roomId, ALICE, 'exactly once'));
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.key, seen[1]!.key);
    assert.deepEqual(seen.map((d) => d.maybeSent), [false, true]);
    assert.equal(h.world.chatMessages('general').filter((m) => m.content.text.endsWith('exactly once')).length, 1);
    await h.stop();
  });

  it('after a crash mid-send the replay knows an attempt may have gone out, and sends nothing twice', async () => {
    const path = join(dir, 'crash.db');
    const stateFile = join(dir, 'crash-world.json');
    const world1 = new LoopbackWorld();
    world1.persistTo(stateFile);
    const h1 = await startHarness({ config: fastRetry, path, world: world1 });
    const roomId = await portalRoom(h1, world1);
    // The network records the message, then the bridge "dies" before the answer: never resolve, close the store under it.
    const hang = new Promise<never>(() => undefined);
    // The crash comes at once, before the group commit that follows the attempt: only
    // what was committed before the send survives (the event, recorded as possibly sent).
    let crashed = false;
    world1.fromSession = async (by, ev, key) => {
      crashStore(h1.store);
      crashed = true;
      // The network takes the message (its echo to our own session finds the bridge dead).
      await LoopbackWorld.prototype.fromSession.call(world1, by, ev, key).catch(() => undefined);
      return hang;
    };
    h1.engine.handleTransaction('crash-1', [{ ...matrixText(roomId, ALICE, 'sent before the crash'), event_id: '$c1' }]);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(crashed);
    await h1.store.close();

    const world2 = new LoopbackWorld();
    world2.persistTo(stateFile);
    const keys: (string | undefined)[] = [];
    interceptSends(world2, (ev, key) => { if (ev.type === 'message') keys.push(key); });
    // What each send of the replay was told: wrapped in the adapter, since the replay starts with the engine.
    const deliveries: Delivery[] = [];
    class Recording extends LoopbackAdapter {
      override createSession(...args: Parameters<LoopbackAdapter['createSession']>) {
        const session = super.createSession(...args);
        const send = session.send.bind(session);
        session.send = (ev, delivery) => { if (ev.type === 'message') deliveries.push(delivery!); return send(ev, delivery); };
        return session;
      }
    }
    const h2 = await startHarness({ config: fastRetry, path, world: world2, adapters: [new Recording(world2)] });
    await h2.engine.idle();
    const first = world2.chatMessages('general').filter((m) => m.content.text.endsWith('sent before the crash'));
    assert.equal(first.length, 1, 'the network recognised the resend');
    assert.deepEqual(keys, [first[0]!.clientKey], 'the replay carried the key of the attempt that reached the network');
    const row = h2.store.driver.prepare("SELECT attempts, state FROM inbox WHERE dedup_key = '$c1'").get() as { attempts: number; state: string };
    // Counted as attempted when the event was recorded, before anything could reach the network.
    assert.deepEqual(row, { attempts: 1, state: 'done' }, 'the event was on record as possibly sent, so the replay was sent as maybeSent');
    assert.deepEqual(deliveries.map((d) => d.maybeSent), [true], 'the replay was sent as maybeSent');
    assert.equal(h2.store.messageByEvent(h2.store.listPortals()[0]!.portalKey, '$c1' as never)?.remoteId, first[0]!.id, 'the message map learned the remote id');
    await h2.stop();
  });

  it('a configured login keeps what its session saved (joined chats, archive positions) across restarts', async () => {
    const path = join(dir, 'configured.db');
    const h1 = await startHarness({ path });
    const relay = h1.store.listLogins().find((l) => l.kind === 'relay')!;
    h1.store.updateLoginData(relay.loginId, { ...relay.data, mucs: ['room@conference.example.org'], history: { cursor: 'x1' } });
    await h1.stop();
    const h2 = await startHarness({ path });
    assert.deepEqual(h2.store.getLogin(relay.loginId)!.data, { ...relay.data, mucs: ['room@conference.example.org'], history: { cursor: 'x1' } });
    await h2.stop();
  });

  it('after a restart, nobody is joined or invited again where the bridge made them members; a leave seen from Matrix makes the next message join again', async () => {
    const path = join(dir, 'members.db');
    const world = new LoopbackWorld();
    world.addUser('bob');
    world.addGroup('general', { members: ['alice', 'bob', 'relaybot'] });
    const h1 = await startHarness({ path, world });
    await world.dm('bob', 'alice', 'first');
    await world.say('bob', 'general', 'hi');
    await h1.engine.idle();
    const rooms = h1.matrix.of('createRoom').map((c) => c.roomId);
    assert.equal(rooms.length, 2);
    await h1.stop();

    const h2 = await startHarness({ path, world, matrix: new RecordingMatrix() });
    await world.dm('bob', 'alice', 'second');
    await world.say('bob', 'general', 'again');
    await h2.engine.idle();
    assert.deepEqual(h2.matrix.sends().map((s) => s.content.body), ['second', 'again']);
    assert.deepEqual([...h2.matrix.of('join'), ...h2.matrix.of('invite')], [], 'no join, no invite: remembered across the restart');

    // A Matrix moderator kicks bob's ghost from the group room; the bridge sees it in a transaction.
    const group = h2.matrix.sends().find((s) => s.content.body === 'again')!.roomId;
    const ghost = '@_loopback_bob:example.org';
    await h2.fromMatrix({ type: 'm.room.member', room_id: group, sender: ALICE, state_key: ghost, content: { membership: 'leave' } });
    await world.say('bob', 'general', 'after the kick');
    await h2.engine.idle();
    assert.deepEqual(h2.matrix.of('join').map((j) => [j.roomId, j.userId]), [[group, ghost]], 'joined again before speaking');
    await h2.stop();
  });

  it('an invite that did not reach the homeserver is not taken as done: the owner is invited when it is back', async () => {
    const matrix = new RecordingMatrix();
    const h = await startHarness({ matrix });
    h.world.addUser('bob');
    await h.world.dm('bob', 'alice', 'first');
    await h.engine.idle();
    const room = h.matrix.of('createRoom')[0]!.roomId;
    // alice leaves the DM; the bridge sees it. Then the homeserver is unreachable for the invite only.
    await h.fromMatrix({ type: 'm.room.member', room_id: room, sender: ALICE, state_key: ALICE, content: { membership: 'leave' } });
    const invite = matrix.invite.bind(matrix);
    let refused = 0;
    matrix.invite = async (...args) => {
      if (refused++ === 0) throw new MatrixRequestError(502, 'M_UNKNOWN', 'bad gateway (test)');
      return invite(...args);
    };
    await h.world.dm('bob', 'alice', 'second');
    await h.engine.idle();
    assert.ok(h.matrix.sends().some((s) => s.content.body === 'second'));
    assert.deepEqual(h.matrix.of('invite').map((i) => [i.roomId, i.userId]), [[room, ALICE]], 'invited on the retry');
    await h.stop();
  });

  it('a transaction id the homeserver reuses for other events (after its own restart) is processed, a true repeat is not', async () => {
    const h = await startHarness();
    const roomId = await portalRoom(h);
    h.engine.handleTransaction('1', [{ ...matrixText(roomId, ALICE, 'before the homeserver restarted'), event_id: '$r1' }]);
    h.engine.handleTransaction('1', [{ ...matrixText(roomId, ALICE, 'before the homeserver restarted'), event_id: '$r1' }]);
    h.engine.handleTransaction('1', [{ ...matrixText(roomId, ALICE, 'after it restarted, with txn ids from 1 again'), event_id: '$r2' }]);
    await h.engine.idle();
    assert.deepEqual(texts(h.world), ['before the homeserver restarted', 'after it restarted, with txn ids from 1 again']);
    await h.stop();
  });
});

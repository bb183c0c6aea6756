/**
 * The store's rules, on the store this run tests (SQLite, or PostgreSQL with
 * SWITCHBOARD_TEST_STORE=postgres): the same statements through either driver must keep
 * the same promises. SQLite's own file handling is tested in test/unit/store.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loginId, matrixEventId, matrixRoomId, networkId, remoteMessageId } from '../../core/ids.js';
import { openTestStore, TEST_STORE } from '../fakes/store.js';

describe(`store rules on ${TEST_STORE}`, () => {
  it('portal rows read from memory stay true to the table: copies out, every change seen at once', async () => {
    const s = await openTestStore();
    const key = 'loopback/team';
    s.upsertPortal({ portalKey: key, network: networkId('loopback'), chatId: 'team' as never, kind: 'group' });
    const first = s.getPortal(key)!;
    first.name = 'changed by a caller';
    assert.equal(s.getPortal(key)!.name, undefined, 'a caller changing its copy changes nothing');
    s.updatePortal(key, { name: 'Team', roomId: matrixRoomId('!r:x') });
    assert.equal(s.getPortal(key)!.name, 'Team');
    const inRoom = (room: string) => s.portalsByRoom(matrixRoomId(room)).map((p) => `${p.portalKey}=${p.name ?? ''}`);
    assert.deepEqual(inRoom('!r:x'), [`${key}=Team`]);
    // Rooms' portal lists are served from memory too, and follow every change.
    s.upsertPortal({ portalKey: 'loopback/second', network: networkId('loopback'), chatId: 'second' as never, kind: 'group', roomId: matrixRoomId('!r:x') });
    assert.deepEqual(inRoom('!r:x'), [`${key}=Team`, 'loopback/second='], 'in the order they were made');
    s.updatePortal(key, { name: 'Team 2' });
    assert.deepEqual(inRoom('!r:x'), [`${key}=Team 2`, 'loopback/second=']);
    s.updatePortal('loopback/second', { roomId: matrixRoomId('!other:x') });
    assert.deepEqual(inRoom('!r:x'), [`${key}=Team 2`]);
    assert.deepEqual(inRoom('!other:x'), ['loopback/second=']);
    assert.throws(() => s.transaction(() => {
      s.updatePortal('loopback/second', { roomId: matrixRoomId('!r:x') });
      assert.equal(inRoom('!r:x').length, 2);
      throw new Error('roll back');
    }));
    assert.deepEqual(inRoom('!r:x'), [`${key}=Team 2`], 'nothing read inside a rolled-back transaction stays');
    s.forgetPortal('loopback/second');
    assert.deepEqual(inRoom('!other:x'), []);
    s.updatePortal(key, { name: 'Team' });
    s.updatePortal(key, { roomId: null, nameTemplate: '[t] {name}' });
    assert.deepEqual(inRoom('!r:x'), []);
    assert.equal(s.getPortal(key)!.roomId, undefined);
    assert.equal(s.getPortal(key)!.nameTemplate, '[t] {name}');
    // A rolled-back transaction leaves nothing it read behind.
    assert.throws(() => s.transaction(() => {
      s.updatePortal(key, { name: 'never committed' });
      assert.equal(s.getPortal(key)!.name, 'never committed');
      throw new Error('roll back');
    }));
    assert.equal(s.getPortal(key)!.name, 'Team');
    // More portals than the cache holds: the oldest are read from the table again.
    for (let i = 0; i < 5_100; i++) s.upsertPortal({ portalKey: `loopback/g${i}`, network: networkId('loopback'), chatId: `g${i}` as never, kind: 'group' });
    for (let i = 0; i < 5_100; i++) assert.equal(s.getPortal(`loopback/g${i}`)!.chatId, `g${i}`);
    assert.equal(s.getPortal(key)!.name, 'Team');
  });

  it('UNIQUE constraints back the idempotency rules', async () => {
    const s = await openTestStore();
    assert.equal(s.addTransaction('t1'), true);
    assert.equal(s.addTransaction('t1'), false);
    assert.equal(s.addTransaction('t2', 'events a'), true);
    assert.equal(s.addTransaction('t2', 'events a'), false, 'the same transaction again');
    assert.equal(s.addTransaction('t2', 'events b'), true, 'a reused id with other events is a new transaction');
    assert.equal(s.addTransaction('t2', 'events b'), false);
    const row = { direction: 'matrix' as const, portalKey: 'p', dedupKey: '$e', payload: '{}' };
    assert.equal(typeof s.addInbox(row), 'number');
    assert.equal(s.addInbox(row), undefined);
    const part = { remoteId: remoteMessageId('r1'), part: 0, roomId: matrixRoomId('!r'), eventId: matrixEventId('$e') };
    assert.equal(s.addMessagePart('p', part), true);
    assert.equal(s.addMessagePart('p', part), false);
    await s.close();
  });

  it('pruning the inbox forgets old handled rows but keeps pending and parked ones, and each portal\'s newest Matrix row', async () => {
    const s = await openTestStore();
    const add = (direction: 'matrix' | 'remote', portalKey: string, dedupKey: string) => s.addInbox({ direction, portalKey, dedupKey, payload: `{"from":"+4915112345678"}` })!;
    const [m1, m2, m3, r1, p2, parked] = [add('matrix', 'p1', 'a'), add('matrix', 'p1', 'b'), add('matrix', 'p1', 'c'), add('remote', 'p1', 'd'), add('matrix', 'p2', 'e'), add('remote', 'p2', 'f')];
    for (const seq of [m1, m2, r1, p2]) s.finishInbox(seq, 'done');
    s.finishInbox(parked, 'failed', 'gave up');
    const at = s.lastMatrixEventAt('p1');
    assert.equal(s.pruneInbox(Date.now() - 60_000), 0, 'nothing is old yet');
    assert.equal(s.pruneInbox(Date.now() + 1_000), 3, 'm1, m2 and r1 go');
    assert.deepEqual([m1, m2, m3, r1, p2, parked].map((seq) => s.getInbox(seq) !== undefined), [false, false, true, false, true, true], 'm3 pending, p2 the newest of its portal, the parked row: kept');
    assert.equal(s.lastMatrixEventAt('p1'), at, 'gap repair still knows when the room last spoke');
    await s.close();
  });

  it('encrypts login data at rest when a key is configured', async () => {
    const s = await openTestStore({ loginDataKey: 'a-long-enough-secret' });
    s.putLogin({ loginId: loginId('l1'), network: networkId('xmpp'), kind: 'puppet', data: { password: 'hunter2' } });
    const raw = (s.driver.prepare('SELECT data FROM logins').get() as { data: string }).data;
    assert.ok(!raw.includes('hunter2'));
    assert.match(raw, /^v1:/);
    assert.deepEqual(s.getLogin(loginId('l1'))?.data, { password: 'hunter2' });
    await s.close();
  });

  it('parked rows: listed newest first and by network, put back to pending with their attempts, or dropped for good', async () => {
    const store = await openTestStore();
    const add = (portalKey: string, dedupKey: string) => store.addInbox({ direction: 'matrix', portalKey, dedupKey, payload: '{}', attempts: 1 })!;
    const a = add('xmpp/chat/', 'a');
    const b = add('telegram/chat/', 'b');
    const c = add('xmpp/other/', 'c');
    const pending = add('xmpp/chat/', 'd');
    for (const seq of [a, b, c]) store.finishInbox(seq, 'failed', `reason ${seq}`);
    assert.deepEqual(store.parkedInbox(10).map((r) => [r.seq, r.reason]), [[c, `reason ${c}`], [b, `reason ${b}`], [a, `reason ${a}`]]);
    assert.deepEqual(store.parkedInbox(10, networkId('xmpp')).map((r) => r.seq), [c, a]);
    assert.deepEqual(store.parkedInbox(1).map((r) => r.seq), [c]);
    assert.deepEqual(store.unpark(a), { ...store.getInbox(a)!, attempts: 1 });
    assert.equal(store.unpark(a), undefined, 'pending now, not parked');
    assert.equal(store.unpark(pending), undefined);
    assert.equal(store.dropParked(b, 'dropped by @root:example.org'), true);
    assert.equal(store.dropParked(b, 'again'), false);
    assert.deepEqual(store.parkedInbox(10).map((r) => r.seq), [c]);
    assert.equal(store.countInbox('pending'), 2);
    assert.equal(store.addInbox({ direction: 'matrix', portalKey: 'telegram/chat/', dedupKey: 'b', payload: '{}' }), undefined, 'a dropped row still deduplicates');
    await store.close();
  });
});

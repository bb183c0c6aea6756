import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadMigrations, migrate } from '../../core/store/migrate.js';
import { SqliteStore } from '../../core/store/sqlite.js';
import { loginId, matrixEventId, matrixRoomId, networkId, remoteMessageId } from '../../core/ids.js';

describe('store', () => {
  it('applies every migration to a fresh database, once', () => {
    const db = new Database(':memory:');
    const all = loadMigrations();
    assert.deepEqual(migrate(db), all.map((m) => m.version));
    assert.deepEqual(migrate(db), []);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    for (const t of ['inbox', 'logins', 'message_map', 'portals', 'reactions', 'transactions']) assert.ok(tables.includes(t), t);
  });

  it('every migration file starts with a one-line header saying what it does', () => {
    for (const m of loadMigrations()) assert.match(m.sql, /^-- \d{4}-[a-z0-9-]+: .+/);
  });

  it('refuses a database newer than this code', () => {
    const db = new Database(':memory:');
    migrate(db);
    db.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future');
    assert.throws(() => migrate(db), /newer than this Switchboard knows/);
  });

  it('portal rows read from memory stay true to the table: copies out, every change seen at once', () => {
    const s = new SqliteStore({ path: ':memory:' });
    const key = 'loopback/team';
    s.upsertPortal({ portalKey: key, network: networkId('loopback'), chatId: 'team' as never, kind: 'group' });
    const first = s.getPortal(key)!;
    first.name = 'changed by a caller';
    assert.equal(s.getPortal(key)!.name, undefined, 'a caller changing its copy changes nothing');
    s.updatePortal(key, { name: 'Team', roomId: matrixRoomId('!r:x') });
    assert.equal(s.getPortal(key)!.name, 'Team');
    assert.deepEqual(s.portalsByRoom(matrixRoomId('!r:x')).map((p) => p.portalKey), [key]);
    s.updatePortal(key, { roomId: null, nameTemplate: '[t] {name}' });
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

  it('UNIQUE constraints back the idempotency rules', () => {
    const s = new SqliteStore({ path: ':memory:' });
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
    s.close();
  });

  it('pruning the inbox forgets old handled rows but keeps pending and parked ones, and each portal\'s newest Matrix row', () => {
    const s = new SqliteStore({ path: ':memory:' });
    const add = (direction: 'matrix' | 'remote', portalKey: string, dedupKey: string) => s.addInbox({ direction, portalKey, dedupKey, payload: `{"from":"+4915112345678"}` })!;
    const [m1, m2, m3, r1, p2, parked] = [add('matrix', 'p1', 'a'), add('matrix', 'p1', 'b'), add('matrix', 'p1', 'c'), add('remote', 'p1', 'd'), add('matrix', 'p2', 'e'), add('remote', 'p2', 'f')];
    for (const seq of [m1, m2, r1, p2]) s.finishInbox(seq, 'done');
    s.finishInbox(parked, 'failed', 'gave up');
    const at = s.lastMatrixEventAt('p1');
    assert.equal(s.pruneInbox(Date.now() - 60_000), 0, 'nothing is old yet');
    assert.equal(s.pruneInbox(Date.now() + 1_000), 3, 'm1, m2 and r1 go');
    assert.deepEqual([m1, m2, m3, r1, p2, parked].map((seq) => s.getInbox(seq) !== undefined), [false, false, true, false, true, true], 'm3 pending, p2 the newest of its portal, the parked row: kept');
    assert.equal(s.lastMatrixEventAt('p1'), at, 'gap repair still knows when the room last spoke');
    s.close();
  });

  it('encrypts login data at rest when a key is configured', () => {
    const s = new SqliteStore({ path: ':memory:', loginDataKey: 'a-long-enough-secret' });
    s.putLogin({ loginId: loginId('l1'), network: networkId('xmpp'), kind: 'puppet', data: { password: 'hunter2' } });
    const raw = (s.db.prepare('SELECT data FROM logins').get() as { data: string }).data;
    assert.ok(!raw.includes('hunter2'));
    assert.match(raw, /^v1:/);
    assert.deepEqual(s.getLogin(loginId('l1'))?.data, { password: 'hunter2' });
    s.close();
  });

  it('group commit: writes of one event-loop turn commit together; durable() resolves only once they are committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-store-'));
    const file = join(dir, 'g.db');
    const store = new SqliteStore({ path: file });
    const reader = new Database(file, { readonly: true });
    const count = () => (reader.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }).n;
    store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'a', payload: '{}' });
    store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'b', payload: '{}' });
    assert.equal(count(), 0, 'not visible to another connection before the commit');
    const durable = store.durable();
    await durable;
    assert.equal(count(), 2, 'both committed once durable() resolved');
    store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'c', payload: '{}' });
    store.flush();
    assert.equal(count(), 3, 'flush() commits at once');
    await store.durable(); // nothing open: resolves at once
    reader.close();
    store.close();
    rmSync(dir, { recursive: true });
  });

  it('a background worker checkpoints the WAL into the database file (no checkpoint stalls on commit)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-store-'));
    const file = join(dir, 'c.db');
    const store = new SqliteStore({ path: file });
    const before = statSync(file).size;
    for (let i = 0; i < 500; i++) store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: `k${i}`, payload: 'x'.repeat(2000) });
    store.flush();
    assert.equal(statSync(file).size, before, 'the commit itself does not checkpoint');
    for (let i = 0; i < 40 && statSync(file).size === before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(statSync(file).size > before + 500 * 1000, 'the worker moved the pages into the database file');
    store.close();
    rmSync(dir, { recursive: true });
  });

  it('writable() says whether a write could commit now, and answers within a moment when another process holds the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-store-'));
    const file = join(dir, 'w.db');
    const commits: number[] = [];
    const store = new SqliteStore({ path: file, onCommit: (s) => commits.push(s) });
    assert.equal(store.writable(), true);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const began = Date.now();
    assert.equal(store.writable(), false, 'another process holds the write lock');
    assert.ok(Date.now() - began < 2_000, 'no five-second wait');
    other.exec('ROLLBACK');
    other.close();
    assert.equal(store.writable(), true);
    store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'a', payload: '{}' });
    assert.equal(store.writable(), true, 'an open group holds the lock already');
    await store.durable();
    assert.equal(commits.length, 1, 'the commit was timed');
    await store.close();
    assert.equal(store.writable(), false, 'closed');
    rmSync(dir, { recursive: true });
  });

  it('parked rows: listed newest first and by network, put back to pending with their attempts, or dropped for good', () => {
    const store = new SqliteStore({ path: ':memory:' });
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
    void store.close();
  });
});

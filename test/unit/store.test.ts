import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadMigrations, migrate } from '../../core/store/migrate.js';
import { SqliteStore } from '../../core/store/sqlite.js';
import { sqliteDriver } from '../../core/store/sql-driver.js';
import { loginId, matrixEventId, matrixRoomId, networkId, remoteMessageId } from '../../core/ids.js';

describe('store', () => {
  it('applies every migration to a fresh database, once', () => {
    const db = new Database(':memory:');
    const all = loadMigrations();
    assert.deepEqual(migrate(sqliteDriver(db)), all.map((m) => m.version));
    assert.deepEqual(migrate(sqliteDriver(db)), []);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    for (const t of ['inbox', 'logins', 'message_map', 'portals', 'reactions', 'transactions']) assert.ok(tables.includes(t), t);
  });

  it('every migration file starts with a one-line header saying what it does', () => {
    for (const m of loadMigrations()) assert.match(m.sql, /^-- \d{4}-[a-z0-9-]+: .+/);
  });

  it('refuses a database newer than this code', () => {
    const db = new Database(':memory:');
    migrate(sqliteDriver(db));
    db.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future');
    assert.throws(() => migrate(sqliteDriver(db)), /newer than this Switchboard knows/);
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

});

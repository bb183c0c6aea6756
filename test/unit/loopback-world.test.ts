import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LoopbackWorld } from '../../bridges/loopback/world.js';
import { remoteUserId } from '../../core/ids.js';

describe('loopback world state file', () => {
  it('a second world on the same file has the same users, chats, messages and reactions, and new ids do not repeat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-world-'));
    try {
      const file = join(dir, 'world.json');
      const a = new LoopbackWorld();
      a.persistTo(file);
      a.addUser('bob', 'Bob', { kind: 'image', name: 'b.png', mime: 'image/png', source: { kind: 'bytes', bytes: new Uint8Array([1, 2, 3]) } });
      a.addGroup('general', { name: 'General', members: ['bob'] });
      const id = await a.say('bob', 'general', 'hello');
      await a.react('bob', id, '👍');
      await a.edit(id, 'hello!');

      const b = new LoopbackWorld();
      b.persistTo(file);
      assert.deepEqual(b.users.get(remoteUserId('bob')), a.users.get(remoteUserId('bob')));
      assert.deepEqual(b.messages.get(id), a.messages.get(id));
      assert.deepEqual(b.chatInfo('general' as never, remoteUserId('bob')).name, 'General');
      const next = await b.say('bob', 'general', 'again');
      assert.notEqual(next, id);
      assert.ok(!a.messages.has(next));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('each change appends one line of its own size; a line torn by a crash is dropped; loading compacts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-world-'));
    try {
      const file = join(dir, 'world.json');
      const a = new LoopbackWorld();
      a.persistTo(file);
      a.addUser('bob', 'Bob');
      a.addGroup('general', { members: ['bob'] });
      for (let i = 0; i < 500; i++) await a.say('bob', 'general', `message ${i}`);
      const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);
      const before = readFileSync(file, 'utf8').length;
      const id = await a.say('bob', 'general', 'one more');
      const added = readFileSync(file, 'utf8').length - before;
      assert.ok(added < 400, `a new message appended ${added} bytes to a ${before}-byte journal`);
      await a.edit(id, 'one more, edited');
      assert.equal(lines().length, 2 + 501 + 1);
      appendFileSync(file, '{"seq":999,"message":{"id":"lb99'); // killed mid-write

      const b = new LoopbackWorld();
      b.persistTo(file);
      assert.equal(b.messages.size, 501);
      assert.deepEqual(b.messages.get(id), a.messages.get(id));
      assert.equal(lines().length, 2 + 501, 'one line per user, chat and message after loading');
      assert.notEqual(await b.say('bob', 'general', 'after'), id);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a state file of an earlier version (the whole state in one JSON object) still loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-world-'));
    try {
      const file = join(dir, 'old.json');
      writeFileSync(file, JSON.stringify({ seq: 7, users: [{ id: 'bob', name: 'Bob' }], chats: [{ id: 'general', members: ['bob'] }], messages: [{ id: 'lb7', chat: 'general', sender: 'bob', content: { kind: 'text', text: 'hi' }, edits: [], deleted: false, reactions: [] }] }));
      const w = new LoopbackWorld();
      w.persistTo(file);
      assert.equal(w.users.get(remoteUserId('bob'))?.name, 'Bob');
      assert.equal(w.messages.get('lb7' as never)?.content.kind, 'text');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unreadable state file is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-world-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ nope\n{"seq":1}\n');
      assert.throws(() => new LoopbackWorld().persistTo(join(dir, 'bad.json')), /loopback state_file .*bad\.json is unreadable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

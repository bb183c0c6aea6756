import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  it('an unreadable state file is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-world-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ nope');
      assert.throws(() => new LoopbackWorld().persistTo(join(dir, 'bad.json')), /loopback state_file .*bad\.json is unreadable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

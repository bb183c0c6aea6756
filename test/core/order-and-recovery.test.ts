import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LoopbackWorld } from '../../bridges/loopback/index.js';
import { RecordingMatrix } from '../fakes/recording-matrix.js';
import { ALICE, matrixText, startHarness } from '../fakes/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-core-'));
// A crashed harness's store may still be finishing a WAL checkpoint in its worker: retry, do not fail the file.
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

describe('order and recovery', () => {
  it('keeps order within each portal under concurrent load from both sides', async () => {
    const h = await startHarness();
    h.world.addUser('bob');
    const chats = ['c1', 'c2', 'c3'];
    for (const c of chats) h.world.addGroup(c, { members: ['alice', 'bob'] });
    // 3 portals x 100 messages, all emitted at once, interleaved.
    await Promise.all(chats.flatMap((c) => Array.from({ length: 100 }, (_, i) => h.world.say('bob', c, `${c}-${i}`))));
    await h.engine.idle();
    for (const c of chats) {
      const bodies = h.matrix.sends().map((s) => String(s.content.body)).filter((b) => b.startsWith(`${c}-`));
      assert.deepEqual(bodies, Array.from({ length: 100 }, (_, i) => `${c}-${i}`));
    }
    // And Matrix -> remote in one room keeps transaction order.
    const roomId = h.matrix.sends().find((s) => s.content.body === 'c1-0')!.roomId;
    await h.fromMatrix(...Array.from({ length: 50 }, (_, i) => matrixText(roomId, ALICE, `m-${i}`)));
    const out = h.world.fromBridge.map((s) => (s.event.type === 'message' ? s.event.content.text : '')).filter((t) => t.startsWith('m-'));
    assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => `m-${i}`));
    await h.stop();
  });

  it('a remote message recorded while the homeserver is down reaches Matrix after a restart, once', async () => {
    const path = join(dir, 'restart.db');
    const world = new LoopbackWorld();
    world.addUser('bob');
    world.addGroup('general', { members: ['alice', 'bob'] });
    const down = new RecordingMatrix();
    down.down = true;
    const h1 = await startHarness({ path, world, matrix: down });
    await world.say('bob', 'general', 'survives');
    await new Promise((r) => setTimeout(r, 50)); // the handler is now retrying
    await h1.stop(); // stops mid-retry: the inbox row stays pending
    assert.equal(h1.store.driver.open, false);

    const up = new RecordingMatrix();
    const h2 = await startHarness({ path, world, matrix: up });
    await h2.engine.idle();
    assert.deepEqual(up.sends().map((s) => s.content.body), ['survives']);
    await h2.stop();

    const h3 = await startHarness({ path, world, matrix: up });
    await h3.engine.idle();
    assert.equal(up.sends().length, 1, 'nothing is sent twice after another restart');
    await h3.stop();
  });

  it('a Matrix event is retried while the remote network is offline and delivered when it returns', async () => {
    const h = await startHarness();
    h.world.addUser('bob');
    h.world.addGroup('general', { members: ['alice', 'bob'] });
    await h.world.say('bob', 'general', 'hi');
    await h.engine.idle();
    const roomId = h.matrix.sends()[0]!.roomId;
    h.world.online = false;
    h.engine.handleTransaction('offline-1', [{ ...matrixText(roomId, ALICE, 'queued while offline'), event_id: '$q1' }]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.world.fromBridge.length, 0);
    h.world.online = true;
    await h.engine.idle();
    assert.deepEqual(h.world.fromBridge.map((s) => s.event.type === 'message' && s.event.content.text), ['queued while offline']);
    await h.stop();
  });
});

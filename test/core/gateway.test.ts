/**
 * Gateway rooms (issue 9) inside one process: one Matrix room linked to chats on two
 * loopback networks. The recording Matrix side plays the homeserver's part of pushing
 * what the bridge's ghosts sent back to the appservice, as Synapse does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LoopbackAdapter, LoopbackWorld } from '../../bridges/loopback/index.js';
import type { MatrixRoomId } from '../../core/ids.js';
import { linkRoom } from '../../core/linking.js';
import { TXN_KEY } from '../../core/portal/txn.js';
import { RecordingMatrix } from '../fakes/recording-matrix.js';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-gateway-'));
// A crashed harness's store may still be finishing a WAL checkpoint in its worker: retry, do not fail the file.
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const config = testConfig({
  networks: {
    loopback: { relay_user: 'relaybot', ignore_users: ['otherbot'] },
    loopback2: { relay_user: 'relay2' },
  },
});

interface Gateway {
  h: Harness;
  w1: LoopbackWorld;
  w2: LoopbackWorld;
  room: MatrixRoomId;
  /** Push what the bridge sent to Matrix since the last call back to it, as the homeserver does. */
  echo(): Promise<void>;
}

async function gateway(opts: { path?: string; w1?: LoopbackWorld; w2?: LoopbackWorld; matrix?: RecordingMatrix; setUp?: boolean; annex?: string } = {}): Promise<Gateway> {
  const w1 = opts.w1 ?? new LoopbackWorld();
  const w2 = opts.w2 ?? new LoopbackWorld();
  const matrix = opts.matrix ?? new RecordingMatrix();
  const h = await startHarness({ config, matrix, ...(opts.path && { path: opts.path }), world: w1, adapters: [new LoopbackAdapter(w1), new LoopbackAdapter(w2, 'loopback2')] });
  let pushed = matrix.calls.length;
  const echo = async () => {
    for (;;) {
      const fresh = matrix.calls.slice(pushed);
      pushed = matrix.calls.length;
      // As Synapse pushes them: the content carries the bridge's transaction id (core/matrix/appservice.ts).
      const events = fresh.flatMap((c, i) => {
        if (c.op === 'send') return [{ type: c.type, room_id: c.roomId, sender: c.sender, content: { ...c.content, [TXN_KEY]: c.txnId }, event_id: c.eventId, origin_server_ts: Date.now() }];
        if (c.op === 'redact') return [{ type: 'm.room.redaction', room_id: c.roomId, sender: c.sender, redacts: c.eventId, content: { [TXN_KEY]: c.txnId }, event_id: `$redaction-${pushed}-${i}`, origin_server_ts: Date.now() }];
        return [];
      });
      if (!events.length) return;
      h.engine.handleTransaction(`echo-${pushed}`, events);
      await h.engine.idle();
    }
  };
  const room = '!gateway:example.org' as MatrixRoomId;
  if (opts.setUp !== false) {
    w1.addUser('bob', 'Bob');
    w1.addGroup('team', { name: 'Team', members: ['bob', 'relaybot', 'otherbot'] });
    w2.addUser('carol', 'Carol');
    w2.addGroup('crew', { name: 'Crew', members: ['carol', 'relay2'] });
    const admin = { userId: ALICE as never, level: 'admin' as const };
    await linkRoom(h.engine.ctx, admin, room, 'loopback', 'team');
    await linkRoom(h.engine.ctx, admin, room, 'loopback2', 'crew');
    if (opts.annex !== undefined) {
      // A second chat of the same network in the room, its people named by its own template.
      w1.addUser('dan', 'Dan');
      w1.addGroup('annex', { name: 'Annex', members: ['dan', 'bob', 'relaybot'] });
      await linkRoom(h.engine.ctx, admin, room, 'loopback', 'annex', { nameTemplate: opts.annex });
    }
  }
  await echo();
  return { h, w1, w2, room, echo };
}

const lastText = (w: LoopbackWorld, chat: string) => w.chatMessages(chat).at(-1);

describe('gateway rooms: one room, chats on two networks', () => {
  it('a message from either chat reaches the other once, named with its network, and the room once', async () => {
    const g = await gateway();
    await g.w1.say('bob', 'team', 'hello from team');
    await g.h.engine.idle();
    await g.echo();
    assert.equal(lastText(g.w2, 'crew')?.content.text, 'Bob (loopback): hello from team');
    assert.equal(lastText(g.w2, 'crew')?.sender, 'relay2');

    await g.w2.say('carol', 'crew', 'hello from crew');
    await g.h.engine.idle();
    await g.echo();
    assert.equal(lastText(g.w1, 'team')?.content.text, 'Carol (loopback2): hello from crew');
    const bodies = g.h.matrix.sends().map((s) => String(s.content.body));
    assert.equal(bodies.filter((b) => b.endsWith('hello from team')).length, 1, "the room holds bob's message once");
    assert.equal(bodies.filter((b) => b.endsWith('hello from crew')).length, 1, "and carol's once: the relayed copy echoed by loopback is not bridged back");
    assert.equal(g.w1.chatMessages('team').filter((m) => m.content.text.endsWith('hello from crew')).length, 1);
    assert.equal(g.w2.chatMessages('crew').filter((m) => m.content.text.endsWith('hello from team')).length, 1, 'no ping-pong');
    // Matrix users reach both chats.
    await g.h.fromMatrix(matrixText(g.room, ALICE, 'hello from Matrix'));
    assert.match(lastText(g.w1, 'team')?.content.text ?? '', /hello from Matrix$/);
    assert.match(lastText(g.w2, 'crew')?.content.text ?? '', /hello from Matrix$/);
    await g.h.stop();
  });

  it('edits and reactions follow a message across the chats, also after a restart', async () => {
    const path = join(dir, 'gateway.db');
    const w1 = new LoopbackWorld();
    const w2 = new LoopbackWorld();
    const matrix = new RecordingMatrix();
    const g = await gateway({ path, w1, w2, matrix });
    const id = await w1.say('bob', 'team', 'typo');
    await g.h.engine.idle();
    await g.echo();
    const copy = lastText(w2, 'crew')!;
    assert.equal(copy.content.text, 'Bob (loopback): typo');
    await g.h.stop();

    const g2 = await gateway({ path, w1, w2, matrix, setUp: false });
    await w1.edit(id, 'fixed');
    await g2.h.engine.idle();
    await g2.echo();
    assert.equal(w2.messages.get(copy.id)!.edits.at(-1)?.text, 'Bob (loopback): fixed', 'the edit found its copy through the persisted message map');

    await w2.react('carol', copy.id, '👍');
    await g2.h.engine.idle();
    await g2.echo();
    assert.deepEqual([...(w1.messages.get(id)!.reactions.get('relaybot' as never) ?? [])], ['👍'], "carol's reaction reached bob's original, through the relay");
    await g2.h.stop();
  });

  it('ignored remote users and links "in" carry nothing out', async () => {
    const g = await gateway();
    await g.w1.say('otherbot', 'team', '[other bridge] someone: hi');
    await g.h.engine.idle();
    await g.echo();
    assert.ok(!g.h.matrix.sends().some((s) => String(s.content.body).includes('[other bridge]')), 'a sender on ignore_users is not bridged');
    assert.ok(!g.w2.chatMessages('crew').some((m) => m.content.text.includes('[other bridge]')));

    const crew = g.h.store.portalsByRoom(g.room).find((p) => p.network === 'loopback2')!;
    g.h.store.updatePortal(crew.portalKey, { direction: 'in' });
    await g.h.fromMatrix(matrixText(g.room, ALICE, 'only to team'));
    await g.echo();
    assert.match(lastText(g.w1, 'team')?.content.text ?? '', /only to team$/);
    assert.ok(!g.w2.chatMessages('crew').some((m) => m.content.text.endsWith('only to team')), 'a link "in" takes nothing from the room');
    await g.w2.say('carol', 'crew', 'still comes in');
    await g.h.engine.idle();
    assert.ok(g.h.matrix.sends().some((s) => s.content.body === 'still comes in'));
    await g.h.stop();
  });

  it('two chats of one network in a room: each hears the other, named by its link, and never itself', async () => {
    const g = await gateway({ annex: '[annex] {name}' });
    await g.w1.say('bob', 'team', 'from team');
    await g.h.engine.idle();
    await g.echo();
    await g.w1.say('dan', 'annex', 'from annex');
    await g.h.engine.idle();
    await g.echo();
    await g.h.fromMatrix(matrixText(g.room, ALICE, 'from Matrix'));
    await g.echo();

    const texts = (chat: string, w = g.w1) => w.chatMessages(chat).map((m) => m.content.text);
    assert.deepEqual(texts('team'), ['from team', '[annex] Dan: from annex', 'alice: from Matrix']);
    assert.deepEqual(texts('annex'), ['Bob (loopback): from team', 'from annex', 'alice: from Matrix']);
    assert.deepEqual(texts('crew', g.w2), ['Bob (loopback): from team', '[annex] Dan: from annex', 'alice: from Matrix']);
    const bodies = g.h.matrix.sends().filter((s) => s.type === 'm.room.message').map((s) => String(s.content.body));
    assert.deepEqual(bodies.filter((b) => b.startsWith('from ')), ['from team', 'from annex'], 'each remote message is in the room once, as its ghost');

    // The same person in both chats is one ghost: what bob says in annex still goes only to the others.
    await g.w1.say('bob', 'annex', 'bob in annex');
    await g.h.engine.idle();
    await g.echo();
    assert.equal(texts('team').at(-1), '[annex] Bob: bob in annex');
    assert.equal(texts('annex').at(-1), 'bob in annex', 'not sent back into the chat it came from');
    assert.equal(texts('crew', g.w2).at(-1), '[annex] Bob: bob in annex');

    const h = g.h;
    h.matrix.powers.set(`${g.room}|${ALICE}`, 100);
    const answer = async (text: string) => {
      const before = h.matrix.sends().length;
      await h.fromMatrix(matrixText(g.room, ALICE, text));
      return String(h.matrix.sends().slice(before).find((s) => s.sender === h.engine.ctx.naming.botUserId)?.content.body);
    };
    assert.match(await answer('!sb links'), /loopback "Annex" \(annex\): both .*named "\[annex\] \{name\}"/);
    assert.match(await answer('!sb unlink loopback'), /several loopback chats; name one: team, annex/);
    assert.match(await answer('!sb unlink loopback annex'), /Unlinked this room from loopback chat annex\. It still links 2 chats/);
    await g.h.stop();
  });

  it('a deletion and a picture follow a message into the other chats', async () => {
    const g = await gateway();
    const id = await g.w1.say('bob', 'team', 'soon gone');
    await g.h.engine.idle();
    await g.echo();
    const copy = lastText(g.w2, 'crew')!;
    assert.equal(copy.content.text, 'Bob (loopback): soon gone');
    await g.w1.delete(id);
    await g.h.engine.idle();
    await g.echo();
    assert.equal(g.w2.messages.get(copy.id)?.deleted, true, 'the ghost redaction went on to crew as a deletion');

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    await g.w1.say('bob', 'team', { kind: 'text', text: '', attachments: [{ kind: 'image', name: 'map.png', mime: 'image/png', source: { kind: 'bytes', bytes: png } }] });
    await g.h.engine.idle();
    await g.echo();
    const got = g.w2.chatMessages('crew').flatMap((m) => m.content.attachments ?? []);
    assert.equal(got.length, 1, 'the picture reached crew once');
    assert.equal(got[0]!.name, 'map.png');
    assert.equal(got[0]!.source.kind, 'bytes');
    assert.deepEqual([...(got[0]!.source as { bytes: Uint8Array }).bytes], [...png], 'the same bytes, re-read from the Matrix media repository');
    await g.h.stop();
  });
});

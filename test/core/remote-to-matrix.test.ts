import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ALICE, startHarness, type Harness } from '../fakes/harness.js';

describe('remote -> Matrix', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.world.addUser('bob', 'Bob Builder');
    h.world.addUser('carol', 'Carol');
  });
  afterEach(() => h.stop());

  it('a new remote DM creates a room opened by the contact ghost and invites the Matrix user', async () => {
    await h.world.dm('bob', 'alice', 'hello alice');
    await h.engine.idle();
    const [create] = h.matrix.of('createRoom');
    assert.ok(create, 'a room was created');
    assert.equal(create.opts.creator, '@_loopback_bob:example.org');
    assert.deepEqual(create.opts.invite, [ALICE]);
    assert.equal(create.opts.isDirect, true);
    const bridgeState = create.opts.initialState.find((s) => s.type === 'm.bridge');
    assert.deepEqual((bridgeState?.content as { protocol: unknown }).protocol, { id: 'loopback', displayname: 'Loopback' });
    const [msg] = h.matrix.sends();
    assert.equal(msg?.sender, '@_loopback_bob:example.org');
    assert.equal(msg?.roomId, create.roomId);
    assert.deepEqual(msg?.content, { msgtype: 'm.text', body: 'hello alice', 'm.mentions': {} });
    assert.deepEqual(h.matrix.of('displayname'), [{ op: 'displayname', userId: '@_loopback_bob:example.org', name: 'Bob Builder' }]);
  });

  it('a ghost seen for the first time gets the remote avatar, even when the event carries a name', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    h.world.addUser('dave', 'Dave', { kind: 'image', name: 'dave.png', mime: 'image/png', source: { kind: 'bytes', bytes: png } });
    await h.world.dm('dave', 'alice', 'hi');
    await h.world.dm('dave', 'alice', 'again');
    await h.engine.idle();
    const uploads = h.matrix.of('upload');
    assert.equal(uploads.length, 1, 'the avatar is uploaded once, not per message');
    assert.deepEqual(h.matrix.of('avatar'), [{ op: 'avatar', userId: '@_loopback_dave:example.org', mxc: uploads[0]!.mxc }]);
    assert.deepEqual(h.matrix.of('displayname').map((d) => d.name), ['Dave']);
  });

  it('group messages arrive as the right ghosts, with formatting as sanitised HTML', async () => {
    h.world.addGroup('general', { name: 'General', members: ['alice', 'bob', 'carol'] });
    await h.world.say('bob', 'general', { kind: 'text', text: 'hi bold', spans: [{ kind: 'bold', offset: 3, length: 4 }] });
    await h.world.say('carol', 'general', { kind: 'text', text: 'evil link', spans: [{ kind: 'link', offset: 0, length: 4, url: 'javascript:alert(1)' }] });
    await h.engine.idle();
    const [create] = h.matrix.of('createRoom');
    assert.equal(create?.opts.name, 'General');
    assert.equal(create?.opts.creator, '@switchboard:example.org');
    const [m1, m2] = h.matrix.sends();
    assert.equal(m1?.sender, '@_loopback_bob:example.org');
    assert.equal(m1?.content.formatted_body, 'hi <strong>bold</strong>');
    assert.equal(m2?.sender, '@_loopback_carol:example.org');
    assert.equal(m2?.content.formatted_body, undefined, 'a javascript: link is no link at all: its text stays (convert/links.ts)');
    assert.equal(m2?.content.body, 'evil link');
  });

  it('remote edits, deletes and reactions reach the mapped Matrix events', async () => {
    h.world.addGroup('general', { members: ['alice', 'bob'] });
    const id = await h.world.say('bob', 'general', 'first');
    await h.world.edit(id, 'first (edited)');
    await h.world.react('bob', id, '👍');
    await h.world.react('bob', id, '👍', true);
    await h.world.delete(id);
    await h.engine.idle();
    const [orig, edit] = h.matrix.sends();
    assert.deepEqual(edit?.content['m.relates_to'], { rel_type: 'm.replace', event_id: orig!.eventId });
    assert.equal((edit?.content['m.new_content'] as { body: string }).body, 'first (edited)');
    assert.equal(edit?.content.body, '* first (edited)');
    const [reaction] = h.matrix.sends('m.reaction');
    assert.deepEqual(reaction?.content, { 'm.relates_to': { rel_type: 'm.annotation', event_id: orig!.eventId, key: '👍' } });
    const redactions = h.matrix.of('redact').map((r) => r.eventId);
    assert.deepEqual(redactions, [reaction!.eventId, orig!.eventId]);
  });

  it('a duplicate remote message is dropped', async () => {
    h.world.addGroup('general', { members: ['alice', 'bob'] });
    const id = await h.world.say('bob', 'general', 'once');
    await h.engine.idle();
    // The network delivers the same message again (a reconnect replaying history).
    const live = h.engine.ctx.sessions.all().find((l) => l.login.remoteUser === 'alice')!;
    const sink = (live.session as unknown as { sink: { emit: (e: unknown) => Promise<void> } }).sink;
    await sink.emit({ type: 'message', chat: { id: 'general', kind: 'group' }, id, sender: { id: 'bob' }, content: { kind: 'text', text: 'once' } });
    await h.engine.idle();
    assert.equal(h.matrix.sends().length, 1);
  });

  it('a remote reply points at the replied-to Matrix event', async () => {
    h.world.addGroup('general', { members: ['alice', 'bob', 'carol'] });
    const first = await h.world.say('bob', 'general', 'question?');
    await h.world.say('carol', 'general', 'answer', first);
    await h.engine.idle();
    const [q, a] = h.matrix.sends();
    assert.deepEqual(a?.content['m.relates_to'], { 'm.in_reply_to': { event_id: q!.eventId } });
  });

  it('inline attachments are uploaded and sent as media events after the text', async () => {
    h.world.addGroup('general', { members: ['alice', 'bob'] });
    const bytes = new Uint8Array([137, 80, 78, 71]);
    await h.world.say('bob', 'general', { kind: 'text', text: 'look', attachments: [{ kind: 'image', name: 'cat.png', mime: 'image/png', source: { kind: 'bytes', bytes } }] });
    await h.engine.idle();
    const [text, image] = h.matrix.sends();
    assert.equal(text?.content.body, 'look');
    const [upload] = h.matrix.of('upload');
    assert.deepEqual(image?.content, { msgtype: 'm.image', body: 'cat.png', filename: 'cat.png', url: upload!.mxc, info: { mimetype: 'image/png', size: 4 } });
  });

  it('a group chat only a relay sees is not given a room (an admin must link it)', async () => {
    h.world.addGroup('secret', { members: ['relaybot', 'bob'] });
    await h.world.say('bob', 'secret', 'nobody bridges this');
    await h.engine.idle();
    assert.equal(h.matrix.of('createRoom').length, 0);
    assert.equal(h.matrix.sends().length, 0);
  });

  it('typing and room renames are bridged', async () => {
    h.world.addGroup('general', { name: 'General', members: ['alice', 'bob'] });
    await h.world.say('bob', 'general', 'hi');
    await h.world.typing('bob', 'general', true);
    await h.world.rename('general', 'Renamed');
    await h.engine.idle();
    assert.deepEqual(h.matrix.of('typing').map((t) => [t.userId, t.typing]), [['@_loopback_bob:example.org', true]]);
    assert.deepEqual(h.matrix.of('state').map((s) => [s.type, s.content]), [['m.room.name', { name: 'Renamed' }]]);
  });

  it('a remote moderator\'s ghost gets power level 50 and loses it again; a level set higher on Matrix, and a bot without power, are left alone', async () => {
    h.world.addGroup('general', { members: ['alice', 'bob', 'carol'] });
    await h.world.say('bob', 'general', 'hi');
    await h.engine.idle();
    const roomId = h.matrix.of('createRoom')[0]!.roomId;
    const levels = { users: { '@switchboard:example.org': 100, '@_loopback_carol:example.org': 75 }, users_default: 0, events: { 'm.room.power_levels': 100 } };
    h.matrix.roomStates.set(`${roomId}|m.room.power_levels|`, levels);
    h.matrix.powers.set(`${roomId}|@switchboard:example.org`, 100);
    await h.world.setRole('bob', 'general', 'moderator');
    await h.engine.idle();
    const [up] = h.matrix.of('state').filter((s) => s.type === 'm.room.power_levels');
    assert.deepEqual(up?.content.users, { '@switchboard:example.org': 100, '@_loopback_carol:example.org': 75, '@_loopback_bob:example.org': 50 });
    assert.equal(up?.sender, '@switchboard:example.org');
    h.matrix.roomStates.set(`${roomId}|m.room.power_levels|`, up!.content);
    await h.world.setRole('bob', 'general', 'moderator'); // again: nothing to change
    await h.world.setRole('carol', 'general', 'member'); // 75 was given on Matrix: not the network's to take
    await h.world.setRole('bob', 'general', 'member');
    await h.engine.idle();
    const changes = h.matrix.of('state').filter((s) => s.type === 'm.room.power_levels');
    assert.equal(changes.length, 2);
    assert.deepEqual(changes[1]?.content.users, { '@switchboard:example.org': 100, '@_loopback_carol:example.org': 75 });
    h.matrix.roomStates.set(`${roomId}|m.room.power_levels|`, changes[1]!.content);
    h.matrix.powers.set(`${roomId}|@switchboard:example.org`, 50); // a linked room where the bot is a mere moderator
    await h.world.setRole('bob', 'general', 'moderator');
    await h.engine.idle();
    assert.equal(h.matrix.of('state').filter((s) => s.type === 'm.room.power_levels').length, 2, 'the bot may not change power levels: nothing sent');
  });
});

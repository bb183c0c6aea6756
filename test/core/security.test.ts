/**
 * The security checklist of the management issue, one test per rule. Each rule comes
 * from an advisory against some bridge; the comment names what it prevents.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { identifierProblem, singleLineName } from '../../core/safety.js';
import { ALICE, matrixText, startHarness, type Harness } from '../fakes/harness.js';

/** A group portal alice's login created, with bob's first message in it. */
async function groupPortal(h: Harness): Promise<{ roomId: string; bobEvent: string }> {
  h.world.addUser('bob', 'Bob');
  h.world.addGroup('general', { name: 'General', members: ['alice', 'bob', 'relaybot'] });
  await h.world.say('bob', 'general', 'hello from bob');
  await h.engine.idle();
  const [msg] = h.matrix.sends();
  return { roomId: msg!.roomId, bobEvent: msg!.eventId };
}

const lastOut = (h: Harness) => h.world.fromBridge.at(-1)!.event as { type: string; content?: { text: string; mentionsAll?: boolean }; replyTo?: string };

describe('security checklist', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness(); });
  afterEach(() => h.stop());

  it('no SQL is assembled from strings: every statement is a literal with bound parameters', () => {
    // Advisory class: SQL injection through a chat or user id that reached a query.
    const dir = join('core', 'store');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const src = readFileSync(join(dir, file), 'utf8');
      for (const m of src.matchAll(/\b(?:prepare|p|exec)\(\s*([^)]{0,1})/g)) {
        const first = m[1]!;
        const callText = src.slice(m.index!, src.indexOf(')', m.index!) + 1);
        if (/^(?:prepare|p|exec)\((?:sql|file|m\.sql)\)$/.test(callText.replace(/^\.?/, ''))) continue; // the helper itself; migration files from the repository
        if (first === '') continue;
        if (!['`', "'", '"'].includes(first)) continue; // not a SQL call (e.g. a RegExp's exec)
        const literal = src.slice(m.index! + m[0].length - 1, src.indexOf(first, m.index! + m[0].length) + 1);
        assert.ok(!literal.includes('${'), `${file}: SQL with interpolation: ${literal.slice(0, 80)}`);
      }
      assert.doesNotMatch(src, /(?:prepare|exec)\([^'"`)]*\+/, `${file}: SQL built with +`);
    }
  });

  it('CR/LF and other control characters are refused in identifiers and flattened in relayed names', () => {
    // Advisory class: "\r\nPRIVMSG" in a nick or channel became a second IRC command.
    assert.equal(identifierProblem('room@conference.example.org'), undefined);
    assert.equal(identifierProblem('#chan\r\nQUIT'), 'it contains a line break or another control character');
    assert.equal(identifierProblem('a\u0000b'), 'it contains a line break or another control character');
    assert.equal(identifierProblem('a\u2028b'), 'it contains a line break or another control character');
    assert.equal(identifierProblem('two words'), 'it contains white space');
    assert.equal(identifierProblem(''), 'it is empty');
    assert.equal(identifierProblem('x'.repeat(1025)), 'it is longer than 1024 characters');
    assert.equal(singleLineName('Dave\r\nbob: fake line'), 'Dave bob: fake line');
  });

  it('a relayed display name with a line break cannot fake a second speaker', async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(
      { type: 'm.room.member', room_id: roomId, sender: '@dave:other.org', state_key: '@dave:other.org', content: { membership: 'join', displayname: 'Dave\nbob' } },
      matrixText(roomId, '@dave:other.org', 'hi'),
    );
    assert.equal(lastOut(h).content!.text, 'Dave bob: hi');
  });

  it('an edit is applied only when it comes from the original sender', async () => {
    // Advisory class: anyone in a room could rewrite another user's bridged message.
    const { roomId, bobEvent } = await groupPortal(h);
    await h.fromMatrix({ ...matrixText(roomId, ALICE, 'mine'), event_id: '$alice1' });
    const count = h.world.fromBridge.length;
    const edit = (target: string, sender: string) => matrixText(roomId, sender, '* forged', { 'm.new_content': { msgtype: 'm.text', body: 'forged' }, 'm.relates_to': { rel_type: 'm.replace', event_id: target } });
    await h.fromMatrix(edit('$alice1', '@dave:other.org')); // someone else's message
    await h.fromMatrix(edit(bobEvent, ALICE)); // a remote user's message, through its Matrix event
    assert.equal(h.world.fromBridge.length, count, 'no forged edit reached the network');
    await h.fromMatrix(edit('$alice1', ALICE));
    assert.equal(lastOut(h).type, 'edit');
  });

  it('@room becomes a mass mention only from a sender with the room notification power', async () => {
    const { roomId } = await groupPortal(h);
    await h.fromMatrix(matrixText(roomId, ALICE, '@room lunch!'));
    assert.equal(lastOut(h).content!.mentionsAll, undefined);
    await h.fromMatrix(matrixText(roomId, ALICE, 'hey all', { 'm.mentions': { room: true } }));
    assert.equal(lastOut(h).content!.mentionsAll, undefined);

    h.matrix.powers.set(`${roomId}|${ALICE}`, 50);
    await h.fromMatrix(matrixText(roomId, ALICE, '@room lunch!'));
    assert.equal(lastOut(h).content!.mentionsAll, true);
    // The room may raise the bar.
    h.matrix.roomStates.set(`${roomId}|m.room.power_levels|`, { notifications: { room: 100 } });
    await h.fromMatrix(matrixText(roomId, ALICE, 'hey all', { 'm.mentions': { room: true } }));
    assert.equal(lastOut(h).content!.mentionsAll, undefined);
  });

  it('a room upgrade moves the portal only when a room admin sent it and the new room names the old one as predecessor', async () => {
    // Advisory class: a tombstone pointing at an attacker's room hijacked the portal.
    const { roomId, bobEvent } = await groupPortal(h);
    const tombstone = (to: string, sender = ALICE) => ({ type: 'm.room.tombstone', room_id: roomId, sender, state_key: '', content: { body: 'upgraded', replacement_room: to } });
    // A moderator (power 50 may send tombstones) points at a room she made, naming the portal as its predecessor.
    const MOD = '@mod:example.org';
    h.matrix.powers.set(`${roomId}|${MOD}`, 50);
    h.matrix.roomStates.set('!hers:example.org|m.room.create|', { room_version: '11', predecessor: { room_id: roomId } });
    await h.fromMatrix(tombstone('!hers:example.org', MOD));
    assert.equal(h.store.getPortal('loopback/general/')?.roomId, roomId, 'the portal stays');
    assert.deepEqual(h.matrix.of('join').filter((j) => j.roomId === '!hers:example.org'), [], 'the bot never went there');

    h.matrix.powers.set(`${roomId}|${ALICE}`, 100);
    h.matrix.roomStates.set('!evil:example.org|m.room.create|', { room_version: '11', predecessor: { room_id: '!elsewhere:example.org' } });
    await h.fromMatrix(tombstone('!evil:example.org'));
    assert.equal(h.store.getPortal('loopback/general/')?.roomId, roomId);
    assert.deepEqual(h.matrix.of('leave').map((l) => l.roomId), ['!evil:example.org']);

    h.matrix.roomStates.set('!new:example.org|m.room.create|', { room_version: '11', predecessor: { room_id: roomId } });
    await h.fromMatrix(tombstone('!new:example.org'));
    assert.equal(h.store.getPortal('loopback/general/')?.roomId, '!new:example.org');
    await h.world.say('bob', 'general', 'after the upgrade');
    await h.engine.idle();
    assert.equal(h.matrix.sends().at(-1)!.roomId, '!new:example.org');

    // A reply quotes only events of the same room, from our own records: the old room's event is not quoted.
    await h.fromMatrix(matrixText('!new:example.org', ALICE, 'replying to the old room', { 'm.relates_to': { 'm.in_reply_to': { event_id: bobEvent } } }));
    assert.equal(lastOut(h).replyTo, undefined);
    assert.equal(lastOut(h).content!.text, 'replying to the old room');
  });

  it('the message map is keyed by portal as well as event id: an event of one room never resolves in another', async () => {
    const { roomId } = await groupPortal(h);
    h.world.addGroup('other', { name: 'Other', members: ['alice', 'bob'] });
    await h.world.say('bob', 'other', 'in the other group');
    await h.engine.idle();
    const otherEvent = h.matrix.sends().at(-1)!;
    assert.notEqual(otherEvent.roomId, roomId);
    await h.fromMatrix(matrixText(roomId, ALICE, 'quoting across rooms', { 'm.relates_to': { 'm.in_reply_to': { event_id: otherEvent.eventId } } }));
    assert.equal(lastOut(h).replyTo, undefined);
  });
});

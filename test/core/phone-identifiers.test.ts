/** A remote person known by a phone number, through the engine: nothing the bridge writes on Matrix holds the number. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';
import { phoneAudit } from '../../core/identity/audit.js';
import { forgetUnseen } from '../../core/identity/forget.js';

const NUMBER = '+4915112345678';
const ADMIN = '@root:example.org';
const MGMT = '!mgmt:example.org';

/** What the bot answers `sender` writing `text` in `room` (all its notices, joined). */
async function botAnswer(h: Harness, room: string, sender: string, text: string): Promise<string> {
  const before = h.matrix.sends().length;
  await h.fromMatrix(matrixText(room, sender, text));
  return h.matrix.sends().slice(before).filter((x) => x.sender === h.matrix.botUserId).map((x) => String(x.content.body)).join('\n');
}

describe('phone numbers stay off Matrix', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ config: testConfig({ bridge: { permissions: { '*': 'relay', 'example.org': 'user', [ADMIN]: 'admin' } } }) });
    h.world.addUser(NUMBER); // no name of their own: the ghost shows the number masked
    h.world.addUser('carol', `Carol ${NUMBER}`);
  });
  afterEach(() => h.stop());

  it('a DM from a number: the ghost id is a pseudonym, its name masked, and no call to Matrix carries the digits', async () => {
    await h.world.dm(NUMBER, 'alice', 'hello from a phone');
    h.world.addGroup('team', { name: `Team of ${NUMBER}`, topic: `ring ${NUMBER}`, members: ['alice', 'carol', NUMBER] });
    await h.world.say('carol', 'team', 'hi all');
    await h.engine.idle();
    const [dm] = h.matrix.of('createRoom');
    assert.match(dm!.opts.creator, /^@_loopback_=p[a-z2-7]{24}:example\.org$/);
    assert.deepEqual(dm!.opts.invite, [ALICE]);
    assert.deepEqual(h.matrix.of('displayname').map((d) => d.name).sort(), ['+49 151 ••• 78', 'Carol +49 151 ••• 78']);
    assert.equal(h.matrix.sends()[0]?.content.body, 'hello from a phone');
    const everything = JSON.stringify(h.matrix.calls);
    assert.ok(!everything.includes('15112345678'), `the number reached Matrix: ${everything.slice(everything.indexOf('15112345678') - 200, everything.indexOf('15112345678') + 50)}`);
    // The bridge's own record still knows who it is, to send the answer.
    const ghost = dm!.opts.creator;
    assert.equal(h.engine.ctx.naming.parseGhost(ghost)?.remote, NUMBER);
  });

  it('audit counts the numbers held by country, network and place, never showing one; only bridge admins may ask', async () => {
    h.world.addUser('+15551234567');
    await h.world.dm(NUMBER, 'alice', 'one');
    await h.world.dm('+15551234567', 'alice', 'two');
    await h.world.dm('carol', 'alice', 'no number here');
    await h.engine.idle();
    const audit = phoneAudit(h.store, h.engine.ctx.naming.phones);
    assert.equal(audit.numbers, 2);
    assert.deepEqual(audit.byRegion, { DE: 1, US: 1 });
    assert.deepEqual(audit.byNetwork, { loopback: 2 });
    assert.deepEqual(audit.byPlace, { ghost: 2, portal: 2 }, 'each number is a ghost mapping and a direct chat');
    assert.ok(audit.oldest && audit.newest && audit.oldest <= audit.newest);
    assert.match(audit.kept.ghost!, /pseudonym/);

    const ask = (sender: string, text: string) => botAnswer(h, MGMT, sender, text);
    const text = await ask(ADMIN, 'audit');
    assert.match(text, /^The bridge holds 2 phone numbers\.\nBy country: DE 1, US 1\.\nBy network: loopback 2\.\nWhere kept: ghost 2, portal 2\./);
    assert.ok(!/5551234567|15112345678/.test(text), 'never a number');
    assert.deepEqual(JSON.parse(await ask(ADMIN, 'audit json')).byRegion, { DE: 1, US: 1 });
    assert.match(await ask('@erin:example.org', 'audit'), /needs the bridge permission "admin"/);
  });

  it('migrate-identifiers: an old ghost with the number in its id hands its rooms, power and messages to a pseudonymous successor; a second run does nothing', async () => {
    const old = '@_loopback_=2b4915112345678:example.org' as never;
    const room = '!old-dm:example.org';
    h.store.putGhost({ userId: old, network: 'loopback' as never, remoteId: NUMBER as never, name: NUMBER, registered: true });
    h.matrix.calls.push({ op: 'join', roomId: room, userId: old });
    h.matrix.roomStates.set(`${room}|m.room.power_levels|`, { users: { [old]: 100, [ALICE]: 100 }, users_default: 0 });
    h.store.addMessagePart('loopback:x', { remoteId: 'm1' as never, part: 0, roomId: room as never, eventId: '$old1' as never, sender: old });
    const ask = (text: string) => botAnswer(h, MGMT, ADMIN, text);
    const answer = await ask('migrate-identifiers');
    const successor = h.engine.ctx.naming.ghostUserId('loopback' as never, NUMBER as never);
    assert.match(successor, /^@_loopback_=p/);
    assert.match(answer, /^Replaced 1 ghost\./);
    assert.ok(answer.includes(`+49 151 ••• 78: now ${successor}, in 1 room`), answer);
    assert.ok(!answer.includes('15112345678'), 'the answer never shows the number');
    assert.ok(h.matrix.calls.some((c) => c.op === 'invite' && c.roomId === room && c.userId === successor));
    assert.ok(h.matrix.calls.some((c) => c.op === 'join' && c.roomId === room && c.userId === successor));
    assert.ok(h.matrix.calls.some((c) => c.op === 'leave' && c.roomId === room && c.userId === old));
    const power = h.matrix.of('state').find((x) => x.type === 'm.room.power_levels' && x.roomId === room);
    assert.deepEqual(power?.content.users, { [ALICE]: 100, [successor]: 100 });
    assert.equal(power?.sender, old, 'the old ghost hands its power over while it still has it');
    assert.deepEqual(h.matrix.of('displayname').find((d) => d.userId === old)?.name, '+49 151 ••• 78');
    assert.equal(h.store.getGhost(old), undefined);
    assert.equal(h.store.getGhost(successor)?.remoteId, NUMBER);
    assert.equal(h.store.messageByEvent('loopback:x', '$old1' as never)?.sender, successor, 'who sent what follows the successor');
    assert.equal(await ask('migrate-identifiers'), 'No ghost has a phone number in its Matrix ID: nothing to do.');
  });

  it('forget: the ghost stays but no longer stands for the number; its DM is no longer bridged; nothing else is touched', async () => {
    await h.world.dm(NUMBER, 'alice', 'remember me?');
    await h.world.dm('carol', 'alice', 'and me');
    await h.engine.idle();
    const ghost = h.engine.ctx.naming.ghostUserId('loopback' as never, NUMBER as never);
    const ask = (sender: string, text: string) => botAnswer(h, MGMT, sender, text);
    assert.match(await ask('@erin:example.org', `forget loopback ${NUMBER}`), /needs the bridge permission "admin"/);
    assert.equal(await ask(ADMIN, `forget loopback ${NUMBER}`), `Forgotten: ${ghost} no longer stands for anyone the bridge knows; their direct chat is no longer bridged.`);
    assert.match(h.store.getGhost(ghost)!.remoteId, /^forgotten:/);
    assert.equal(h.store.getGhost(ghost)!.name, undefined);
    assert.deepEqual(h.matrix.of('displayname').at(-1), { op: 'displayname', userId: ghost, name: 'Forgotten contact' });
    assert.equal(h.store.listPortals().filter((p) => p.chatId === NUMBER).length, 0, 'the DM portal and its record are gone');
    assert.equal(h.store.listPortals().filter((p) => p.chatId === 'carol').length, 1, 'others stay');
    assert.equal(phoneAudit(h.store, h.engine.ctx.naming.phones).numbers, 0, 'the audit holds no number now');
    assert.equal(await ask(ADMIN, `forget loopback ${NUMBER}`), 'The bridge knows nobody called that on loopback.');
  });

  it('identifiers.forget_after_days forgets people known by a number unseen that long, and nobody else', async () => {
    await h.stop();
    h = await startHarness({ config: testConfig({}, { identifiers: { phone: 'masked', forget_after_days: 30 } }) });
    h.world.addUser(NUMBER);
    h.world.addUser('+15551234567');
    await h.world.dm(NUMBER, 'alice', 'long ago');
    await h.world.dm('+15551234567', 'alice', 'recently');
    await h.world.dm('carol', 'alice', 'no number, long ago');
    await h.engine.idle();
    const day = 86_400_000;
    const now = Date.now();
    const ghostOf = (remote: string) => h.engine.ctx.naming.ghostUserId('loopback' as never, remote as never);
    const [old, recent, carol] = [NUMBER, '+15551234567', 'carol'].map(ghostOf);
    h.store.touchGhost(old!, now - 40 * day);
    h.store.touchGhost(carol!, now - 40 * day);
    h.store.touchGhost(recent!, now - 2 * day);
    assert.equal(await forgetUnseen(h.engine.ctx, now), 1);
    assert.match(h.store.getGhost(old!)?.remoteId ?? '', /^forgotten:/);
    assert.equal(h.store.getGhost(recent!)?.remoteId, '+15551234567', 'seen two days ago: kept');
    assert.equal(h.store.getGhost(carol!)?.remoteId, 'carol', 'no number: not this rule\'s to forget');
    assert.notEqual(ghostOf(NUMBER), old, 'if they write again, the bridge meets them as someone new');
    assert.equal(await forgetUnseen(h.engine.ctx, now), 0, 'once forgotten, nothing more to do');
  });

  it('a shared contact card shows its number masked; a network that shows numbers shows it whole', async () => {
    h.world.addGroup('team', { members: ['alice', 'carol'] });
    await h.world.say('carol', 'team', { kind: 'text', text: '', contact: { name: 'Bob Builder', phone: '4915112345678' } });
    await h.world.say('carol', 'team', { kind: 'text', text: 'his number:', contact: { name: 'Bob', phone: '+1 (555) 123-4567' } });
    await h.engine.idle();
    assert.deepEqual(h.matrix.sends().map((x) => x.content.body), ['📇 Bob Builder, +49 151 ••• 78', 'his number:\n📇 Bob, +1 555 ••• 67']);
    await h.stop();
    h = await startHarness({ config: testConfig({}, { identifiers: { phone: 'visible' } }) });
    h.world.addUser('carol', 'Carol');
    h.world.addGroup('team', { members: ['alice', 'carol'] });
    await h.world.say('carol', 'team', { kind: 'text', text: '', contact: { name: 'Bob', phone: '4915112345678' } });
    await h.engine.idle();
    assert.equal(h.matrix.sends()[0]?.content.body, '📇 Bob, +4915112345678');
  });

  it('numbers visible: a room\'s admins may choose to see contact cards\' numbers whole; others may not', async () => {
    h.world.addGroup('team', { members: ['alice', 'carol'] });
    await h.world.say('carol', 'team', 'hi');
    await h.engine.idle();
    const roomId = h.matrix.of('createRoom')[0]!.roomId;
    const ERIN = '@erin:example.org';
    h.matrix.powers.set(`${roomId}|${ERIN}`, 100);
    const ask = (sender: string, text: string) => botAnswer(h, roomId, sender, text);
    assert.match(await ask('@frank:example.org', '!sb numbers visible'), /Only admins of this room/);
    assert.equal(await ask(ERIN, '!sb numbers visible'), 'Contact cards from loopback show phone numbers whole in this room.');
    await h.world.say('carol', 'team', { kind: 'text', text: '', contact: { name: 'Bob', phone: NUMBER } });
    await h.engine.idle();
    assert.equal(h.matrix.sends().at(-1)?.content.body, `📇 Bob, ${NUMBER}`);
    assert.match(await ask(ERIN, '!sb numbers masked'), /masked in this room/);
    await h.world.say('carol', 'team', { kind: 'text', text: '', contact: { name: 'Bob', phone: NUMBER } });
    await h.engine.idle();
    assert.equal(h.matrix.sends().at(-1)?.content.body, '📇 Bob, +49 151 ••• 78');
  });
});

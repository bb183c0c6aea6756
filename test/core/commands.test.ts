/** The bridge bot's commands, driven as a person would: messages in, the bot's notices out. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loginId, matrixRoomId, matrixUserId } from '../../core/ids.js';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const ERIN = '@erin:example.org';
const ADMIN = '@root:example.org';
const STRANGER = '@mallory:other.org';
const DM = '!mgmt:example.org';

/** Send `text` as `sender` in `room`; return the bot's answer. */
async function say(h: Harness, sender: string, text: string, room = DM, eventId?: string): Promise<string> {
  const before = h.matrix.sends().length;
  await h.fromMatrix({ ...matrixText(room, sender, text), ...(eventId && { event_id: eventId }) });
  const answers = h.matrix.sends().slice(before).filter((s) => s.sender === h.matrix.botUserId);
  assert.equal(answers.length, 1, `one answer to "${text}", got ${answers.length}`);
  assert.equal(answers[0]!.content.msgtype, 'm.notice');
  return answers[0]!.content.body as string;
}

const config = () => testConfig({ bridge: { permissions: { '*': 'relay', 'example.org': 'user', [ADMIN]: 'admin' } } });

describe('bot commands', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ config: config() });
    // A management room made with trusted_private_chat: the bot holds power there and may delete secrets.
    h.matrix.powers.set(`${DM}|${h.matrix.botUserId}`, 100);
  });
  afterEach(() => h.stop());

  it('help lists what this user may do; relay users do not see login', async () => {
    const forUser = await say(h, ERIN, 'help');
    for (const c of ['login', 'logout', 'logins', 'link', 'unlink', 'relay', 'open', 'portals', 'sync', 'ping', 'version']) assert.match(forUser, new RegExp(`• ${c}\\b`));
    const forStranger = await say(h, STRANGER, 'help');
    assert.match(forStranger, /• ping/);
    assert.doesNotMatch(forStranger, /• login/);
  });

  it('login asks for each field, deletes the password message, connects, and logout forgets it', async () => {
    h.world.addUser('erin', 'Erin');
    h.world.passwords.set('erin' as never, 'hunter2hunter2');
    assert.match(await say(h, ERIN, 'login loopback'), /Send your loopback user name/);
    assert.match(await say(h, ERIN, 'erin'), /Send your password\. I will delete your message/);
    const done = await say(h, ERIN, 'hunter2hunter2', DM, '$secret');
    assert.equal(done, 'Logged in to loopback as Erin (erin). Your chats will appear as rooms when their messages arrive.');
    assert.deepEqual(h.matrix.of('redact').map((r) => [r.roomId, r.eventId, r.sender]), [[DM, '$secret', h.matrix.botUserId]]);
    const id = loginId(`loopback:${ERIN}`);
    assert.equal(h.store.getLogin(id)?.remoteUser, 'erin');
    assert.equal(h.engine.ctx.sessions.get(id)?.state.state, 'connected');
    assert.match(await say(h, ERIN, 'logins'), /• loopback as erin: connected/);
    assert.match(await say(h, ERIN, 'login loopback'), /already logged in to loopback as erin; log out first/);

    assert.equal(await say(h, ERIN, 'logout'), 'Logged out of loopback; your credentials are deleted.');
    assert.equal(h.store.getLogin(id), undefined);
    assert.equal(h.engine.ctx.sessions.get(id), undefined);
    assert.equal(await say(h, ERIN, 'logout loopback'), 'You are not logged in to loopback.');
  });

  it('connection trouble of a login is told once in the room where it was made, and its return too', async () => {
    await say(h, ERIN, 'login loopback');
    await say(h, ERIN, 'erin');
    await say(h, ERIN, 'pw');
    const notices = () => h.matrix.sends().filter((s) => s.roomId === DM && /login (lost|is connected|was refused)/.test(String(s.content.body))).map((s) => s.content.body);
    h.world.setOnline(false);
    h.world.setOnline(false); // still down: a retry loop must not repeat the notice
    h.world.setOnline(true);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(notices(), [
      'Your loopback (erin) login lost its connection (loopback network is offline). It reconnects by itself; messages wait and are delivered when it is back.',
      'Your loopback (erin) login is connected again.',
    ]);
    assert.equal(h.store.getLogin(loginId(`loopback:${ERIN}`))?.noticeRoom, DM);
  });

  it('a wrong password fails the login and stores nothing; cancel stops a login', async () => {
    h.world.addUser('erin');
    h.world.passwords.set('erin' as never, 'right-password');
    await say(h, ERIN, 'login loopback');
    await say(h, ERIN, 'erin');
    assert.equal(await say(h, ERIN, 'wrong'), 'Login to loopback failed: wrong user name or password');
    assert.equal(h.store.listLogins().filter((l) => l.owner === ERIN).length, 0);
    await say(h, ERIN, 'login loopback');
    assert.equal(await say(h, ERIN, 'cancel'), 'Login to loopback cancelled.');
    assert.match(await say(h, ERIN, 'erin'), /Unknown command "erin"/);
  });

  it('a login flow that expired ends the conversation with a clear message', async () => {
    await say(h, ERIN, 'login loopback');
    await h.engine.logins.stop(); // what the expiry timer does to every flow
    assert.equal(await say(h, ERIN, 'erin'), 'Login stopped: no such login in progress (it may have expired; start again).');
    assert.match(await say(h, ERIN, 'help'), /^Switchboard commands:/);
  });

  it('where the bot has no power to delete messages, it asks for no secret: the login goes on in a room it makes', async () => {
    const WEAK = '!weak:example.org';
    h.world.addUser('erin');
    h.world.passwords.set('erin' as never, 'pw-of-erin');
    await h.fromMatrix(matrixText(WEAK, ERIN, 'login loopback'));
    const made = h.matrix.of('createRoom').at(-1)!;
    assert.deepEqual([made.opts.creator, made.opts.invite, made.opts.isDirect], [h.matrix.botUserId, [ERIN], true]);
    const said = (room: string) => h.matrix.sends().filter((m) => m.roomId === room).map((m) => String(m.content.body));
    assert.match(said(made.roomId).join('\n'), /Send your loopback user name/);
    assert.match(said(WEAK).join('\n'), /^I cannot delete messages in this room, and this login asks for a secret\. I opened a room where I can/);
    // The weak room holds no conversation: a secret typed there would be talk to nobody.
    assert.match(await say(h, ERIN, 'erin', WEAK), /Unknown command "erin"/);
    assert.match(await say(h, ERIN, 'erin', made.roomId), /Send your password/);
    assert.match(await say(h, ERIN, 'pw-of-erin', made.roomId, '$pw'), /^Logged in to loopback as erin/);
    assert.deepEqual(h.matrix.of('redact').map((r) => [r.roomId, r.eventId]), [[made.roomId, '$pw']]);
  });

  it('when the bot may not redact, the user is told to delete the secret', async () => {
    h.matrix.refuseRedactions = true;
    await say(h, ERIN, 'login loopback');
    await say(h, ERIN, 'erin');
    assert.match(await say(h, ERIN, 'pw'), /^I could not delete your message with the secret .*please delete it yourself\.\nLogged in to loopback as erin/s);
  });

  it('refusals are clear: unknown commands get a suggestion, relay users cannot log in, a config login cannot be logged out', async () => {
    assert.equal(await say(h, ERIN, 'logni loopback'), 'Unknown command "logni". Did you mean "login"? Type "help" for the list.');
    assert.equal(await say(h, STRANGER, 'login loopback'), 'You may not use "login": it needs the bridge permission "user" and yours is "relay". Ask the bridge\'s admin.');
    assert.match(await say(h, ERIN, 'ping'), /^Bridge is running\. Homeserver: reachable both ways \(1 ms\)\. Networks: loopback\. Your logins: no logins\. Your permission: user\.$/);
    assert.match(await say(h, ERIN, '!sbhelp'), /^Unknown command "!sbhelp"/);
    assert.equal(await say(h, ERIN, 'login irc'), 'There is no network "irc". Networks: loopback.');
    assert.equal(await say(h, ALICE, 'logout'), 'Cannot do that: this login is set in the bridge config; an admin removes it there.');
  });
});

describe('linking rooms', () => {
  let h: Harness;
  const ROOM = '!team:example.org';
  beforeEach(async () => {
    h = await startHarness({ config: config() });
    h.world.addUser('bob', 'Bob');
    h.world.addGroup('team', { name: 'Team', topic: 'our team', members: ['bob', 'relaybot'] });
    h.world.addGroup('secret', { name: 'Secret', members: ['bob'] });
  });
  afterEach(() => h.stop());

  it('a room admin links a room; messages flow both ways; unlink stops them', async () => {
    assert.match(await say(h, ERIN, 'link loopback team', ROOM), /Only admins of this room \(power level 100\) or bridge admins may link it/);
    h.matrix.powers.set(`${ROOM}|${ERIN}`, 100);
    assert.equal(await say(h, ERIN, 'link loopback team', ROOM), 'Linked this room to Loopback chat "Team" (team). Matrix users without their own loopback login are relayed ("relay off" to stop).');
    assert.equal(h.store.getPortal('loopback/team/')?.roomId, ROOM);
    assert.deepEqual(h.matrix.of('state').map((s) => s.type), ['m.bridge', 'uk.half-shot.bridge']);

    await h.world.say('bob', 'team', 'hi from bob');
    await h.engine.idle();
    assert.deepEqual(h.matrix.sends().filter((s) => s.roomId === ROOM && s.sender !== h.matrix.botUserId).map((s) => s.content.body), ['hi from bob']);
    await h.fromMatrix(matrixText(ROOM, ERIN, 'hello bob'));
    assert.equal(h.world.fromBridge.at(-1)!.event.type, 'message');
    assert.equal(h.world.fromBridge.at(-1)!.by, 'relaybot');

    // In a portal, plain text is talk, not a command; the prefix makes it one.
    assert.match(await say(h, ERIN, '!sb relay off', ROOM), /^Relaying is off/);
    const sentBefore = h.world.fromBridge.length;
    await h.fromMatrix(matrixText(ROOM, ERIN, 'not relayed'));
    assert.equal(h.world.fromBridge.length, sentBefore);
    assert.match(await say(h, ERIN, '!sb relay on', ROOM), /^Relaying is on/);

    assert.match(await say(h, ERIN, '!sb portals', ROOM), /You are in no bridged rooms|loopback group "Team"/);
    assert.match(await say(h, ADMIN, '!sb portals all', ROOM), /• loopback group "Team" \(team\) → !team:example.org/);
    assert.equal(await say(h, ERIN, '!sb unlink', ROOM), 'Unlinked this room from loopback chat team. Nothing is bridged here any more.');
    assert.equal(h.store.getPortal('loopback/team/')?.roomId, undefined);
    const count = h.matrix.sends().length;
    await h.world.say('bob', 'team', 'after unlink');
    await h.engine.idle();
    assert.equal(h.matrix.sends().length, count, 'nothing reaches the old room');
  });

  it('link refuses control characters, extra words, unknown chats, chats the relay cannot see, and a second room for the same chat', async () => {
    h.matrix.powers.set(`${ROOM}|${ERIN}`, 100);
    assert.match(await say(h, ERIN, 'link loopback team\r\nPART #x', ROOM), /^Usage: link <network> <remote chat> \[both\|in\|out\] \[as <name template>\]/);
    assert.equal(await say(h, ERIN, 'link loopback te\u0000am', ROOM), 'That chat id cannot be used: it contains a line break or another control character.');
    assert.equal(await say(h, ERIN, 'link loopback nowhere', ROOM), 'The loopback chat nowhere cannot be reached by the relay account: no chat nowhere');
    assert.equal(await say(h, ERIN, 'link loopback secret', ROOM), 'The loopback chat secret cannot be reached by the relay account: relaybot is not a member of secret');
    assert.equal(await say(h, ERIN, 'link loopback bob', ROOM), 'bob is a direct chat; only group chats can be linked to a room.');
    assert.match(await say(h, ERIN, 'link loopback team', ROOM), /^Linked/);
    const other = '!other:example.org';
    h.matrix.powers.set(`${other}|${ERIN}`, 100);
    assert.equal(await say(h, ERIN, 'link loopback team', other), 'That loopback chat is already bridged to another room (!team:example.org); unlink it there first.');
    assert.equal(await say(h, ERIN, '!sb link loopback team', ROOM), 'That loopback chat is already linked to this room.');
    assert.equal(h.store.listPortals().filter((p) => p.roomId).length, 1);
  });

  it('the admin who links a room is known to be in it: their login\'s messages there invite nobody, before or after a restart', async () => {
    h.world.addGroup('club', { name: 'Club', members: ['bob', 'alice'] });
    const CLUB = matrixRoomId('!club:example.org');
    h.matrix.powers.set(`${CLUB}|${ALICE}`, 100);
    h.matrix.roomMembers.set(CLUB, [{ userId: matrixUserId(ALICE) }, { userId: h.matrix.botUserId }]);
    assert.match(await say(h, ALICE, 'link loopback club', CLUB), /^Linked/);
    assert.ok(h.store.isRoomMember(CLUB, matrixUserId(ALICE)) && h.store.isRoomMember(CLUB, h.matrix.botUserId), 'the linker and the bot are remembered in the store');
    await h.world.say('bob', 'club', 'hello club');
    await h.engine.idle();
    assert.equal(h.matrix.sends().filter((s) => s.roomId === CLUB).at(-1)?.content.body, 'hello club');
    assert.deepEqual(h.matrix.of('invite').filter((c) => c.roomId === CLUB), [], 'alice was not invited to her own room');

    // A linker the homeserver does not list as joined is not assumed in: their login's first message invites them.
    h.world.addGroup('hall', { name: 'Hall', members: ['bob', 'alice'] });
    const HALL = matrixRoomId('!hall:example.org');
    h.matrix.roomMembers.set(HALL, [{ userId: h.matrix.botUserId }]);
    h.matrix.powers.set(`${HALL}|${ALICE}`, 100);
    assert.match(await say(h, ALICE, 'link loopback hall', HALL), /^Linked/);
    assert.equal(h.store.isRoomMember(HALL, matrixUserId(ALICE)), false);
    await h.world.say('bob', 'hall', 'hello hall');
    await h.engine.idle();
    assert.deepEqual(h.matrix.of('invite').filter((c) => c.roomId === HALL).map((c) => c.userId), [ALICE]);
  });

  it('open makes a room for a chat your own login reaches, a group or a person; it is refused without a login or a reachable chat', async () => {
    h.world.addGroup('club', { name: 'Club', members: ['bob', 'alice'] });
    const opened = await say(h, ALICE, 'open loopback club');
    assert.match(opened, /^I opened a room for the group chat "Club" \(club\) and invited you \((!room\d+:example.org)\)\.$/);
    const created = h.matrix.of('createRoom').at(-1)!;
    assert.deepEqual(created.opts.invite, [ALICE]);
    assert.equal(h.store.getPortal('loopback/club/')?.roomId, created.roomId);
    // What is said there afterwards arrives in that room.
    await h.world.say('bob', 'club', 'welcome to the club');
    await h.engine.idle();
    assert.equal(h.matrix.sends().filter((s) => s.roomId === created.roomId).at(-1)?.content.body, 'welcome to the club');
    assert.equal(await say(h, ALICE, 'open loopback club'), `That chat is bridged already: I invited you to its room for the group chat "Club" (club) (${created.roomId}).`);
    assert.equal(h.matrix.of('createRoom').length, 1);

    assert.match(await say(h, ALICE, 'open loopback bob'), /^I opened a room for your chat with "Bob" \(bob\) and invited you/);
    assert.equal(h.matrix.of('createRoom').at(-1)!.opts.isDirect, true);
    assert.ok(h.store.getPortal('loopback/bob/loopback%3Aalice'), 'a direct chat is the login\'s own portal');

    assert.equal(await say(h, ERIN, 'open loopback club'), 'You have no loopback login: "login loopback" first; rooms are opened through your own account.');
    assert.match(await say(h, ALICE, 'open loopback secret'), /^The loopback chat secret cannot be reached by your login: alice is not a member of secret/);
    assert.match(await say(h, ALICE, 'open nowhere club'), /^There is no network "nowhere"/);
    assert.equal(await say(h, ALICE, 'open loopback'), 'Usage: open <network> <chat>, e.g. open xmpp room@conference.example.org');
  });

  it('sync refreshes the room name from the remote chat', async () => {
    h.matrix.powers.set(`${ROOM}|${ERIN}`, 100);
    await say(h, ERIN, 'link loopback team', ROOM);
    (h.world as unknown as { chats: Map<string, { name?: string }> }).chats.get('team')!.name = 'Team (renamed quietly)';
    assert.equal(await say(h, ERIN, '!sb sync', ROOM), 'loopback: refreshing name and topic and 2 member profile(s)');
    assert.deepEqual(h.matrix.of('state').filter((s) => s.type === 'm.room.name').map((s) => [s.roomId, s.content.name]), [[ROOM, 'Team (renamed quietly)']]);
  });

  it('link takes a direction; links lists the linked chats', async () => {
    h.matrix.powers.set(`${ROOM}|${ERIN}`, 100);
    assert.match(await say(h, ERIN, 'link loopback team sideways', ROOM), /^Usage: link <network> <remote chat> \[both\|in\|out\] \[as <name template>\]/);
    assert.match(await say(h, ERIN, 'link loopback team in', ROOM), /^Linked this room to Loopback chat "Team" \(team\)\. Messages go into this room only\./);
    assert.equal(await say(h, ERIN, '!sb links', ROOM), 'Chats linked to this room:\n• loopback "Team" (team): in (into this room only)');
    const before = h.world.fromBridge.length;
    await h.fromMatrix(matrixText(ROOM, ERIN, 'stays in the room'));
    assert.equal(h.world.fromBridge.length, before, 'a link "in" sends nothing to the chat');
  });

  it('bridge admins may link without room power; login is refused in a bridged room', async () => {
    assert.match(await say(h, ADMIN, 'link loopback team', ROOM), /^Linked/);
    assert.equal(await say(h, ERIN, '!sb login loopback', ROOM), '"login" works only in a management room (a direct chat with me), not in a bridged room.');
  });
});

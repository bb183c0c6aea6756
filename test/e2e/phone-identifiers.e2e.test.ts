/**
 * Phone numbers off Matrix, end to end: real Synapse, real Prosody with an account whose
 * name is a phone number (`+15551234567@xmpp.test`, as on Quicksy), the bridge as a
 * child process. The person writes to a Matrix user's XMPP login; everything Synapse
 * holds about it (the invite, member events, room state, the ghost's profile) is read
 * back as a client would, and must not hold the number. `switchboard audit` counts it.
 * Then a ghost made while numbers were visible is replaced by `migrate-identifiers`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';

const NUMBER = '+15551234567';
const DIGITS = /5551234567/;

describe('a person known by a phone number, through Synapse and Prosody', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let phone: XmppPerson;
  let mgmt: string;
  /** The bot's answer to a command in the management room. */
  let ask: (text: string) => Promise<string>;

  before(async () => {
    stack = await Stack.start({ xmpp: true });
    stack.prosody!.register('alice', 'alice-xmpp-pw');
    stack.prosody!.register(NUMBER, 'phone-pw');
    alice = await stack.user('alice');
    phone = await XmppPerson.connect(stack.prosody!, NUMBER, 'phone-pw');
  });
  after(async () => {
    await phone?.stop();
    await alice?.stop();
    await stack?.stop();
  });

  it('the DM arrives from a pseudonymous ghost; no event, state or profile on Synapse holds the number; audit counts it under US', async (t) => {
    mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    ask = async (text: string) => {
      const sent = await alice.sendText(mgmt, text);
      const own = await alice.waitFor((e) => e.event_id === sent, 'our own message');
      const ev = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && e.type === 'm.room.message' && alice.events.indexOf(e) > alice.events.indexOf(own), `the answer to ${text}`, 40_000);
      return String(ev.content.body);
    };
    await ask('login xmpp');
    await ask('alice@xmpp.test');
    assert.match(await ask('alice-xmpp-pw'), /^Logged in to xmpp as alice@xmpp\.test/);
    // The login connects in the background: write until the DM invite comes.
    let dm: string | undefined;
    for (let i = 0; i < 30 && !dm; i++) {
      await phone.say('alice@xmpp.test', `hello from a phone ${i}`);
      dm = await alice.waitForInvite(() => true, 2_000).catch(() => undefined);
    }
    assert.ok(dm, 'the DM invite');
    await alice.join(dm);
    const msg = await alice.waitFor((e) => e.room_id === dm && String(e.content.body).startsWith('hello from a phone'), 'the message');
    const ghost = msg.sender;
    assert.match(ghost, /^@_xmpp_=p[a-z2-7]{24}:/);
    t.diagnostic(`${NUMBER}@xmpp.test (XMPP) → alice: a DM from ${ghost}`);

    const state = await alice.request<Record<string, unknown>[]>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/state`);
    const member = state.find((e) => e.type === 'm.room.member' && e.state_key === ghost);
    t.diagnostic(`the ghost's member event as Synapse stores it: ${JSON.stringify(member)}`);
    const profile = await alice.request<Record<string, unknown>>('GET', `/_matrix/client/v3/profile/${encodeURIComponent(ghost)}`);
    t.diagnostic(`the ghost's profile: ${JSON.stringify(profile)}`);
    assert.equal(profile.displayname, '+1 555 ••• 67');
    const seen = JSON.stringify({ state, profile, timeline: alice.events.filter((e) => e.room_id === dm) });
    assert.ok(!DIGITS.test(seen), `the number is on Matrix: …${seen.slice(Math.max(0, seen.search(DIGITS) - 200), seen.search(DIGITS) + 40)}…`);

    await alice.sendText(dm, 'hello number');
    await phone.waitFor((s) => s.getChildText('body') === 'hello number', "alice's answer");
    t.diagnostic('alice answers → the phone account gets it: the bridge still knows who the pseudonym is');

    const audit = JSON.parse(await stack.bridge.cli('audit', '--json')) as { numbers: number; byRegion: Record<string, number>; byPlace: Record<string, number> };
    t.diagnostic(`switchboard audit --json: ${JSON.stringify(audit)}`);
    assert.equal(audit.numbers, 1);
    assert.deepEqual(audit.byRegion, { US: 1 });
    assert.equal(audit.byPlace.ghost, 1);
  });

  it('switchboard migrate-identifiers: a ghost made while numbers were visible hands its DM to a pseudonymous successor; the bot command then finds nothing', async (t) => {
    const OLD = '+4915112345678';
    stack.prosody!.register(OLD, 'old-pw');
    const setIdentifiers = (identifiers: Record<string, string> | undefined) => {
      const config = parse(readFileSync(stack.bridge.configFile, 'utf8')) as { networks: Record<string, Record<string, unknown>>; bridge: Record<string, unknown> };
      if (identifiers) config.networks.xmpp!.identifiers = identifiers;
      else delete config.networks.xmpp!.identifiers;
      config.bridge.permissions = { ...(config.bridge.permissions as object), [alice.userId]: 'admin' };
      writeFileSync(stack.bridge.configFile, stringify(config));
    };
    await stack.bridge.stop();
    setIdentifiers({ phone: 'visible' }); // as before this version
    await stack.bridge.start({ waitReady: true });
    const old = await XmppPerson.connect(stack.prosody!, OLD, 'old-pw');
    try {
      let dm: string | undefined;
      for (let i = 0; i < 30 && !dm; i++) {
        await old.say('alice@xmpp.test', `an old contact ${i}`);
        dm = await alice.waitForInvite((roomId) => !alice.events.some((e) => e.room_id === roomId), 2_000).catch(() => undefined);
      }
      assert.ok(dm, 'the DM invite');
      await alice.join(dm);
      const first = await alice.waitFor((e) => e.room_id === dm && String(e.content.body).startsWith('an old contact'), 'the old ghost\'s message');
      const oldGhost = first.sender;
      assert.match(oldGhost, /^@_xmpp_=2b4915112345678=40xmpp\.test:/, 'the number in the id, as before');
      t.diagnostic(`before: ${OLD}@xmpp.test wrote from ${oldGhost} in ${dm}`);

      // This version, its default (masked): the admin stops the bridge and migrates from the command line.
      await stack.bridge.stop();
      setIdentifiers(undefined);
      const answer = (await stack.bridge.cli('migrate-identifiers')).trim();
      t.diagnostic(`switchboard migrate-identifiers (bridge stopped) → ${JSON.stringify(answer)}`);
      await stack.bridge.start({ waitReady: true });
      assert.match(answer, /^Replaced 1 ghost\./);
      const successor = /now (@_xmpp_=p[a-z2-7]{24}:\S+),/.exec(answer)?.[1];
      assert.ok(successor, answer);
      assert.ok(!answer.includes('15112345678'));
      await alice.waitFor((e) => e.room_id === dm && e.type === 'm.room.member' && e.state_key === oldGhost && e.content.membership === 'leave', 'the old ghost leaving');
      const members = await alice.request<{ joined: Record<string, unknown> }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/joined_members`);
      assert.deepEqual(Object.keys(members.joined).sort(), [alice.userId, successor].sort());
      const levels = await alice.state<{ users: Record<string, number> }>(dm, 'm.room.power_levels');
      t.diagnostic(`after: joined ${Object.keys(members.joined).join(', ')}; power levels ${JSON.stringify(levels.users)}; the old ghost's name ${JSON.stringify((await alice.profile(oldGhost)).displayname)}`);
      assert.equal((await alice.profile(oldGhost)).displayname, '+49 151 ••• 78');
      assert.equal(levels.users[successor], 100, 'the DM\'s opener hands its power on');

      await old.say('alice@xmpp.test', 'after the migration');
      const after = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'after the migration', 'a message after the migration');
      assert.equal(after.sender, successor, 'the same DM room, from the successor');
      assert.equal(await ask('migrate-identifiers'), 'No ghost has a phone number in its Matrix ID: nothing to do.', 'the bot command: done already');
    } finally {
      await old.stop();
    }
  });
});

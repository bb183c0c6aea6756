/**
 * Managing the bridge through a real Synapse: a management-room session with the bot
 * (help, login with a password that gets redacted, logins, logout, refusals), linking
 * a room, a room upgrade, and the provisioning API with real access and OpenID tokens.
 * The conversation is printed as test diagnostics: it is the transcript of the session.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { MatrixEvent, MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import type { OutboundEvent } from '../../core/events.js';

const SECRET = 'e2e-provisioning-secret-0123';

describe('management end to end through Synapse', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let mallory: MatrixTestClient;
  let mgmt: string;
  const domain = () => stack.synapse.serverName;
  // A ghost prefix without the leading underscore Synapse reserves anyway, so the
  // namespace test below shows the registration's exclusivity at work.
  const GHOST_PREFIX = 'lb.';
  const ghost = (user: string) => `@${GHOST_PREFIX}${user}:${domain()}`;

  before(async () => {
    stack = await Stack.start({
      bridge: {
        permissions: { '*': 'relay', 'switchboard.test': 'user', '@mallory:switchboard.test': 'relay' },
        loopback: { ghost_prefix: GHOST_PREFIX },
        extra: { provisioning: { enabled: true, shared_secret: SECRET } },
      },
    });
    alice = await stack.user('alice');
    mallory = await stack.user('mallory');
    await stack.loopback.addUser('bob', 'Bob');
    await stack.loopback.addGroup('lobby', { name: 'Lobby', members: ['bob', 'relaybot'] });
  });

  after(async () => {
    await alice?.stop();
    await mallory?.stop();
    await stack?.stop();
  });

  /** Open a DM with the bot and wait until it joined. */
  async function dmWithBot(client: MatrixTestClient): Promise<string> {
    const room = await client.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await client.waitFor((e) => e.room_id === room && e.type === 'm.room.member' && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    return room;
  }

  /** Say something to the bot; return its answer, and log both as the transcript. */
  async function ask(t: TestContext, client: MatrixTestClient, room: string, text: string, shown = text): Promise<{ answer: string; sent: string }> {
    const sent = await client.sendText(room, text);
    const ev = await client.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && e.type === 'm.room.message' && isAfter(client, e, sent), `the bot's answer to "${shown}"`);
    const answer = String(ev.content.body);
    t.diagnostic(`${client.userId}: ${shown}`);
    for (const line of answer.split('\n')) t.diagnostic(`  ${stack.botUserId}: ${line}`);
    return { answer, sent };
  }

  it('a management-room session: help, login with a redacted password, logins, ping, logout, refusals', async (t) => {
    mgmt = await dmWithBot(alice);
    assert.match((await ask(t, alice, mgmt, 'help')).answer, /• login <network> — log in to a network with your own account/);
    assert.match((await ask(t, alice, mgmt, 'login loopback')).answer, /Send your loopback user name\./);
    assert.match((await ask(t, alice, mgmt, 'alice')).answer, /Send your password\. I will delete your message right after reading it\./);
    const { answer, sent } = await ask(t, alice, mgmt, 'correct horse battery staple', '(password, hidden here)');
    assert.equal(answer, 'Logged in to loopback as alice. Your chats will appear as rooms when their messages arrive.');
    const redaction = await alice.waitFor((e) => e.type === 'm.room.redaction' && e.redacts === sent, 'the password message being redacted');
    assert.equal(redaction.sender, stack.botUserId);
    t.diagnostic(`  (${stack.botUserId} redacted the password message)`);
    assert.match((await ask(t, alice, mgmt, 'logins')).answer, /• loopback as alice: connected/);
    assert.match((await ask(t, alice, mgmt, 'ping')).answer, /^Bridge is running\. Homeserver: reachable both ways \(\d+ ms\)\. Networks: loopback\. Your logins: loopback: connected\. Your permission: user\.$/);

    // The new login works: bob's DM reaches alice as a portal.
    await stack.loopback.dm('bob', 'alice', 'hi alice, welcome');
    const invite = await alice.waitForInvite((_r, inviter) => inviter === ghost('bob'));
    await alice.join(invite);
    await alice.waitFor((e) => e.room_id === invite && e.content.body === 'hi alice, welcome', "bob's DM");

    assert.equal((await ask(t, alice, mgmt, 'lgout')).answer, 'Unknown command "lgout". Did you mean "logout"? Type "help" for the list.');
    assert.equal((await ask(t, alice, mgmt, 'logout')).answer, 'Logged out of loopback; your credentials are deleted.');
    assert.match((await ask(t, alice, mgmt, 'logins')).answer, /You have no logins/);

    const malloryRoom = await dmWithBot(mallory);
    assert.equal((await ask(t, mallory, malloryRoom, 'login loopback')).answer, 'You may not use "login": it needs the bridge permission "user" and yours is "relay". Ask the bridge\'s admin.');
  });

  it("no person can register a ghost's user name (exclusive, anchored namespaces)", async () => {
    // A ghost nobody has used yet: refused because the bridge's namespace is exclusive, not because it exists.
    await assert.rejects(stack.synapse.register(`${GHOST_PREFIX}mallory`), /M_EXCLUSIVE/);
    // Anchored: a longer name that merely starts like the bot's is a person's to take.
    assert.equal((await stack.synapse.register('switchboardfan')).userId, `@switchboardfan:${domain()}`);
  });

  it('a room admin links a room to a loopback group; talk flows both ways; a room upgrade moves the portal', async (t) => {
    const room = await alice.createRoom({ name: 'Our lobby', preset: 'public_chat', invite: [stack.botUserId] });
    await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.member' && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    const linked = await ask(t, alice, room, 'link loopback lobby');
    assert.match(linked.answer, /^Linked this room to Loopback chat "Lobby" \(lobby\)\./);

    await stack.loopback.say('bob', 'lobby', 'hello lobby');
    await alice.waitFor((e) => e.room_id === room && e.sender === ghost('bob') && e.content.body === 'hello lobby', "bob's message in the linked room");
    await alice.sendText(room, 'hi bob, from Matrix');
    const out = await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && e.event.content.text.endsWith('hi bob, from Matrix'));
    assert.equal(out.by, 'relaybot');
    assert.equal((out.event as Extract<OutboundEvent, { type: 'message' }>).content.text, 'alice: hi bob, from Matrix');
    // A command in a portal needs the prefix and is not bridged.
    assert.match((await ask(t, alice, room, '!sb relay off')).answer, /^Relaying is off/);
    assert.match((await ask(t, alice, room, '!sb relay on')).answer, /^Relaying is on/);

    const { replacement_room: newRoom } = await alice.request<{ replacement_room: string }>('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/upgrade`, { new_version: '12' });
    t.diagnostic(`room ${room} upgraded to ${newRoom}`);
    await alice.join(newRoom).catch(() => undefined);
    // The portal follows once the bridge checked the new room's predecessor.
    let moved: MatrixEvent | undefined;
    for (let i = 0; i < 40 && !moved; i++) {
      await stack.loopback.say('bob', 'lobby', `after the upgrade ${i}`);
      moved = await alice.waitFor((e) => e.room_id === newRoom && e.sender === ghost('bob'), "bob's message in the upgraded room", 1_000).catch(() => undefined);
    }
    assert.ok(moved, 'messages reach the upgraded room');
  });

  it('the provisioning API: whoami by access token and by OpenID token, link refused without room power, login and logout', async (t) => {
    const base = `${stack.bridge.url}/_switchboard/provision/v1`;
    const token = (alice as unknown as { accessToken: string }).accessToken;
    const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${SECRET}`, ...headers }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      const json = (await res.json()) as Record<string, any>;
      t.diagnostic(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
      return { status: res.status, body: json };
    };
    const asAlice = { 'x-matrix-access-token': token };
    assert.deepEqual((await call('GET', '/whoami', asAlice)).body, { user_id: alice.userId, permission: 'user', logins: [], networks: ['loopback'] });
    assert.equal((await call('GET', '/whoami', { 'x-matrix-access-token': 'syt_forged' })).status, 403);

    const openid = await alice.request<{ access_token: string }>('POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/openid/request_token`, {});
    const byOpenId = await call('GET', `/whoami?user_id=${encodeURIComponent(alice.userId)}`, { 'x-matrix-openid-token': openid.access_token });
    assert.equal(byOpenId.body.user_id, alice.userId);
    const claimedOther = await call('GET', `/whoami?user_id=${encodeURIComponent(mallory.userId)}`, { 'x-matrix-openid-token': openid.access_token });
    assert.equal(claimedOther.status, 403);

    const otherRoom = await mallory.createRoom({ name: "mallory's room", invite: [stack.botUserId] });
    const refused = await call('POST', '/link', asAlice, { room_id: otherRoom, network: 'loopback', chat: 'lobby' });
    assert.equal(refused.status, 403);

    const start = await call('POST', '/login/loopback', asAlice);
    const step = await call('POST', `/login/flows/${start.body.flowId}`, asAlice, { input: { user: 'alice', password: 'pw' } });
    assert.equal(step.body.step.type, 'complete');
    assert.equal((await call('GET', '/logins', asAlice)).body.logins[0].network, 'loopback');
    assert.deepEqual((await call('POST', '/logout/loopback', asAlice)).body, { logged_out: true });
    assert.equal(domain(), 'switchboard.test');
  });
});

/** Whether `ev` came after the event `sent` in the client's timeline. */
function isAfter(client: MatrixTestClient, ev: MatrixEvent, sent: string): boolean {
  const i = client.events.findIndex((e) => e.event_id === sent);
  return i >= 0 && client.events.indexOf(ev) > i;
}

/**
 * End to end through a real Synapse: the bridge runs as its own process with the
 * loopback network, a Matrix user acts through the Client-Server API, and loopback
 * users act through the network's control API. One stack serves the whole file; the
 * tests run in order and build on each other (the DM portal of the first is reused).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { Stack } from '../harness/stack.js';
import type { MatrixEvent, MatrixTestClient } from '../harness/matrix-client.js';
import type { OutboundEvent } from '../../core/events.js';

// A 1x1 PNG, and a small second "image" for the other direction.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Polls `check` (every 100 ms, up to 30 s) until it holds. */
async function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Msg = Extract<OutboundEvent, { type: 'message' }>;
const isMessage = (text: string) => (e: { event: OutboundEvent }) => e.event.type === 'message' && e.event.content.text === text;

describe('bridge end to end through Synapse', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let dmRoom: string;
  let groupRoom: string;
  const domain = () => stack.synapse.serverName;

  before(async () => {
    stack = await Stack.start({ bridgeFirst: true, bridge: { loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] } } });
    alice = await stack.user('alice');
    await stack.loopback.addUser('bob', 'Bob Builder', { kind: 'image', name: 'bob.png', mime: 'image/png', source: { kind: 'bytes', bytes: new Uint8Array(PNG) } });
    await stack.loopback.addUser('carol', 'Carol');
  });

  after(async () => {
    await alice?.stop();
    await stack?.stop();
  });

  it('waited for Synapse at start-up with a clear log line, then became ready', () => {
    const log = stack.bridge.process!.output();
    assert.match(log, /"msg":"homeserver not reachable yet; retrying"/);
    assert.ok(log.indexOf('"msg":"bridge ready"') > log.indexOf('homeserver not reachable yet'));
  });

  it('a remote DM invites the user; the message comes from the ghost with its name and avatar', async () => {
    await stack.loopback.dm('bob', 'alice', 'hello alice');
    const bob = stack.ghost('bob');
    dmRoom = await alice.waitForInvite((_room, inviter) => inviter === bob);
    await alice.join(dmRoom);
    const msg = await alice.waitFor((e) => e.room_id === dmRoom && e.type === 'm.room.message' && e.content.body === 'hello alice', 'the DM message');
    assert.equal(msg.sender, bob);
    const profile = await alice.profile(bob);
    assert.equal(profile.displayname, 'Bob Builder');
    assert.match(profile.avatar_url ?? '', /^mxc:\/\//);
    const avatar = await alice.download(profile.avatar_url!);
    assert.deepEqual(Buffer.from(avatar.bytes), PNG, 'the avatar bytes went through the media repository');
    const bridge = await alice.waitFor((e) => e.room_id === dmRoom && e.type === 'm.bridge', 'm.bridge state in the portal');
    assert.equal((bridge.content.protocol as { id: string }).id, 'loopback');
  });

  it("the user's answer reaches the loopback network as the user's own login", async () => {
    await alice.sendText(dmRoom, 'hi bob');
    const e = await stack.loopback.waitFromBridge(isMessage('hi bob'));
    assert.equal(e.by, 'alice');
    assert.equal((e.event as Msg).chat, 'bob');
  });

  it('edits, replies, reactions and redactions go both ways', async () => {
    const bob = stack.ghost('bob');
    // remote -> Matrix
    const remoteId = await stack.loopback.dm('bob', 'alice', 'typo hre');
    const original = await alice.waitFor((e) => e.room_id === dmRoom && e.content.body === 'typo hre', 'the remote message');
    await stack.loopback.edit(remoteId, 'typo here');
    const edit = await alice.waitFor((e) => relatesTo(e, 'm.replace') === original.event_id, 'the remote edit');
    assert.equal((edit.content['m.new_content'] as { body: string }).body, 'typo here');
    await stack.loopback.react('bob', remoteId, '👍');
    const reaction = await alice.waitFor((e) => e.type === 'm.reaction' && relatesTo(e, 'm.annotation') === original.event_id, 'the remote reaction');
    assert.equal(reaction.sender, bob);
    assert.equal((reaction.content['m.relates_to'] as { key: string }).key, '👍');
    const replyId = await stack.loopback.dm('bob', 'alice', 'replying', remoteId);
    const reply = await alice.waitFor((e) => e.content.body === 'replying' && e.room_id === dmRoom, 'the remote reply');
    assert.equal(((reply.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id: string } })?.['m.in_reply_to'])?.event_id, original.event_id);
    await stack.loopback.delete(replyId);
    await alice.waitFor((e) => e.type === 'm.room.redaction' && e.redacts === reply.event_id, 'the remote deletion as a redaction');

    // Matrix -> remote
    const mine = await alice.sendText(dmRoom, 'my mistkae');
    const sent = await stack.loopback.waitFromBridge(isMessage('my mistkae'));
    await alice.edit(dmRoom, mine, 'my mistake');
    const edited = await stack.loopback.waitFromBridge((e) => e.event.type === 'edit');
    assert.deepEqual(edited.event.type === 'edit' && [edited.event.target, edited.event.content.text], [sent.id, 'my mistake']);
    await alice.reply(dmRoom, original.event_id, 'answering that');
    const replied = await stack.loopback.waitFromBridge(isMessage('answering that'));
    assert.equal((replied.event as Msg).replyTo, remoteId);
    const reactionId = await alice.react(dmRoom, original.event_id, '🎉');
    const reacted = await stack.loopback.waitFromBridge((e) => e.event.type === 'reaction');
    assert.deepEqual(reacted.event.type === 'reaction' && [reacted.event.target, reacted.event.keys], [remoteId, ['🎉']]);
    await alice.redact(dmRoom, reactionId);
    const unreacted = await stack.loopback.waitFromBridge((e) => e.event.type === 'reaction');
    assert.deepEqual(unreacted.event.type === 'reaction' && unreacted.event.keys, []);
    await alice.redact(dmRoom, mine);
    const deleted = await stack.loopback.waitFromBridge((e) => e.event.type === 'delete');
    assert.equal(deleted.event.type === 'delete' && deleted.event.target, sent.id);
    assert.equal((await stack.loopback.message(sent.id!)).deleted, true);
  });

  it('images go both ways through the authenticated media repository', async () => {
    await stack.loopback.dm('bob', 'alice', { kind: 'text', text: '', attachments: [{ kind: 'image', name: 'dot.png', mime: 'image/png', size: PNG.length, width: 1, height: 1, source: { kind: 'bytes', bytes: new Uint8Array(PNG) } }] });
    const img = await alice.waitFor((e) => e.room_id === dmRoom && e.content.msgtype === 'm.image', 'the remote image');
    assert.equal(img.content.body, 'dot.png');
    const got = await alice.download(img.content.url as string);
    assert.deepEqual(Buffer.from(got.bytes), PNG);

    const mxc = await alice.upload(new Uint8Array(GIF), 'image/gif', 'dot.gif');
    await alice.send(dmRoom, 'm.room.message', { msgtype: 'm.image', body: 'dot.gif', url: mxc, info: { mimetype: 'image/gif', size: GIF.length } });
    const out = await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && (e.event.content.attachments?.length ?? 0) > 0);
    const att = (out.event as Msg).content.attachments![0]!;
    assert.equal(att.kind, 'image');
    assert.equal(att.mime, 'image/gif');
    assert.equal(att.name, 'dot.gif');
    const stored = await stack.loopback.message(out.id!);
    const source = stored.content.attachments![0]!.source;
    assert.ok(source.kind === 'bytes');
    assert.deepEqual(Buffer.from(source.bytes), GIF, 'the bytes the loopback network got are the uploaded ones');
  });

  it('a group portal shows several ghosts, and names and topics follow both ways', async () => {
    await stack.loopback.addGroup('general', { name: 'General', topic: 'all things', members: ['alice', 'bob', 'carol'] });
    await stack.loopback.say('bob', 'general', 'morning all');
    const room = await alice.waitForInvite((_r, inviter) => inviter === stack.botUserId);
    await alice.join(room);
    await stack.loopback.say('carol', 'general', 'morning bob');
    const m1 = await alice.waitFor((e) => e.room_id === room && e.content.body === 'morning all', "bob's group message");
    const m2 = await alice.waitFor((e) => e.room_id === room && e.content.body === 'morning bob', "carol's group message");
    assert.deepEqual([m1.sender, m2.sender], [stack.ghost('bob'), stack.ghost('carol')]);
    assert.equal((await alice.state<{ name: string }>(room, 'm.room.name')).name, 'General');
    assert.equal((await alice.state<{ topic: string }>(room, 'm.room.topic')).topic, 'all things');
    assert.equal((await alice.profile(stack.ghost('carol'))).displayname, 'Carol');

    await stack.loopback.rename('general', 'General chat');
    await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.name' && e.content.name === 'General chat', 'the remote rename');

    await alice.setState(room, 'm.room.topic', { topic: 'now with topics' });
    const info = await stack.loopback.waitFromBridge((e) => e.event.type === 'chat-info');
    assert.deepEqual(info.event, { type: 'chat-info', chat: 'general', topic: 'now with topics' });

    await alice.sendText(room, 'hello group');
    const out = await stack.loopback.waitFromBridge(isMessage('hello group'));
    assert.deepEqual([out.by, (out.event as Msg).chat], ['alice', 'general']);
    groupRoom = room;
  });

  it('a Matrix user without a login is relayed with their name', async () => {
    const dave = await stack.user('dave');
    try {
      await alice.invite(groupRoom, dave.userId);
      await dave.waitForInvite((r) => r === groupRoom);
      await dave.join(groupRoom);
      await dave.sendText(groupRoom, 'hello from dave');
      const e = await stack.loopback.waitFromBridge((x) => x.event.type === 'message' && x.event.content.text.endsWith('hello from dave'));
      const msg = e.event as Msg;
      assert.equal(e.by, 'relaybot');
      assert.deepEqual(msg.relayedFor, { displayName: 'dave', matrixId: dave.userId });
      assert.equal(msg.content.text, 'dave: hello from dave');
      assert.deepEqual(msg.content.spans?.[0], { kind: 'bold', offset: 0, length: 4 });
    } finally {
      await dave.stop();
    }
  });

  it('after a crash (SIGKILL) and a restart, portals and the message map are still there', async () => {
    const before = await stack.loopback.dm('bob', 'alice', 'before the crash');
    const original = await alice.waitFor((e) => e.room_id === dmRoom && e.content.body === 'before the crash', 'the message before the crash');
    assert.equal(await stack.bridge.stop('SIGKILL'), 'SIGKILL');
    await stack.bridge.start();
    stack.loopback.bridgeRestarted();
    await stack.loopback.edit(before, 'before the crash, edited after it');
    const edit = await alice.waitFor((e) => relatesTo(e, 'm.replace') === original.event_id, 'the edit after the restart', 60_000);
    assert.equal(edit.room_id, dmRoom, 'the same portal room, not a new one');
    await alice.sendText(dmRoom, 'after the restart');
    const out = await stack.loopback.waitFromBridge(isMessage('after the restart'), 60_000);
    assert.deepEqual([out.by, (out.event as Msg).chat], ['alice', 'bob']);
  });

  it("the bot's display name is set when it differs from the config, not at every start", async () => {
    const botProfile = encodeURIComponent(stack.botUserId);
    // The restart above: the name was already right, so it was read and not written again
    // (a PUT makes Synapse update the bot's membership in every room it is in).
    await waitUntil(() => stack.bridge.process!.output().includes(`GET ${stack.synapse.url}/_matrix/client/v3/profile/${botProfile}`), "the bot's profile read at start");
    assert.doesNotMatch(stack.bridge.process!.output(), new RegExp(`PUT \\S+/profile/${botProfile}`));
    assert.equal((await alice.profile(stack.botUserId)).displayname, 'Switchboard');

    const config = parse(readFileSync(stack.bridge.configFile, 'utf8')) as { appservice: { bot?: Record<string, unknown> } };
    config.appservice.bot = { ...config.appservice.bot, displayname: 'Switchboard (renamed)' };
    writeFileSync(stack.bridge.configFile, stringify(config));
    await stack.bridge.stop();
    await stack.bridge.start();
    await waitUntil(async () => (await alice.profile(stack.botUserId)).displayname === 'Switchboard (renamed)', 'the new name on the homeserver');
    assert.match(stack.bridge.process!.output(), new RegExp(`PUT \\S+/profile/${botProfile}/displayname`));
  });

  it("the bridge bot's management room answers help", async () => {
    const room = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.member' && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    await alice.sendText(room, 'help');
    const answer = await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && e.type === 'm.room.message', "the bot's answer");
    assert.match(String(answer.content.body), /help/);
    assert.match(String(answer.content.body), /version/);
  });

  it('the running bridge refuses a wrong or missing hs_token', async () => {
    const url = `${stack.bridge.url}/_matrix/app/v1/transactions/evil1`;
    const body = JSON.stringify({ events: [{ type: 'm.room.message', room_id: `!x:${domain()}`, sender: `@mallory:${domain()}`, event_id: '$evil', content: { msgtype: 'm.text', body: 'injected' } }] });
    const wrong = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body });
    assert.equal(wrong.status, 403);
    assert.equal(((await wrong.json()) as { errcode: string }).errcode, 'M_FORBIDDEN');
    const missing = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { errcode: string }).errcode, 'M_UNAUTHORIZED');
  });

  it('messages acknowledged while Synapse is down reach Matrix when it is back', async () => {
    await stack.synapse.stop();
    // The control API answers after the bridge durably recorded the message.
    await stack.loopback.dm('bob', 'alice', 'sent while the homeserver was down');
    await stack.synapse.start();
    const m = await alice.waitFor((e) => e.room_id === dmRoom && e.content.body === 'sent while the homeserver was down', 'the message held during the outage', 60_000);
    assert.equal(m.sender, stack.ghost('bob'));
    const copies = alice.events.filter((e) => e.content.body === 'sent while the homeserver was down');
    assert.equal(copies.length, 1, 'exactly once');
  });
});

function relatesTo(e: MatrixEvent, relType: string): string | undefined {
  const rel = e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
  return rel?.rel_type === relType ? rel.event_id : undefined;
}

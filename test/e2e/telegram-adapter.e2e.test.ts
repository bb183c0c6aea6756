/**
 * The Telegram adapter against the Bot API emulator (no real Telegram server can run
 * offline), without Matrix: update confirmation and offsets, flood control, media,
 * entities, link proofs, webhooks, bad input and a revoked token.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TelegramAdapter, type TelegramConfig } from '../../bridges/telegram/index.js';
import type { AdapterSession, LoginInfo } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';
import { loginId, networkId, remoteChatId, remoteMessageId, remoteUserId } from '../../core/ids.js';
import { TransientError } from '../../core/pipeline/outcome.js';
import { freePort } from '../harness/proc.js';
import { RecordingSink } from '../harness/recording-sink.js';
import { TelegramEmulator } from '../harness/telegram/emulator.js';
import type { BotState, ChatState, TgUser } from '../harness/telegram/model.js';
import { botMessages, eventually, TelegramPeople } from '../harness/telegram/people.js';

type Msg = Extract<RemoteEvent, { type: 'message' }>;
const isMsg = (text: string) => (e: RemoteEvent): e is Msg => e.type === 'message' && e.content.text === text;

describe('Telegram adapter against the Bot API emulator', { timeout: 120_000 }, () => {
  let emu: TelegramEmulator;
  let people: TelegramPeople;
  let bot: BotState;
  let ann: TgUser;
  let group: ChatState;
  const adapter = new TelegramAdapter();
  const sessions: AdapterSession[] = [];

  const relayLogin = (): LoginInfo => ({ id: loginId('telegram:relay'), network: networkId('telegram'), kind: 'relay', remoteUser: remoteUserId(String(bot.user.id)), data: {} });
  const open = async (raw: Record<string, unknown> = {}, sink = new RecordingSink(), login = relayLogin()) => {
    const config = adapter.parseConfig({ bot_token: bot.token, api_root: emu.apiRoot, poll_timeout_s: 1, rate_limits: { per_chat_per_second: 1000, per_group_per_minute: 100000, global_per_second: 1000 }, ...raw });
    const session = adapter.createSession(login, config, sink);
    sessions.push(session);
    await session.connect();
    return { session, sink, config };
  };

  beforeEach(async () => {
    emu = await TelegramEmulator.start();
    people = new TelegramPeople(emu.world);
    bot = emu.world.addBot('switchboard_bot');
    ann = emu.world.addUser('Ann', 'ann');
    group = emu.world.addGroup('Hikers', ann);
    people.addBot(bot, group, ann);
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.disconnect();
    await adapter.stop();
    await emu.stop();
  });

  it('an update is confirmed only after it was recorded, and the offset survives a restart', async () => {
    const sink = new RecordingSink();
    sink.failEmits = 1; // the store fails once: the update must come again, not be lost
    const { session } = await open({}, sink);
    people.say(ann, group, 'first');
    const first = await sink.waitFor(isMsg('first'), 'first after the failed record');
    assert.equal(first.id, `${group.chat.id}:1`);
    people.say(ann, group, 'second');
    await sink.waitFor(isMsg('second'), 'second');
    await eventually(() => typeof sink.persisted?.offset === 'number' && bot.updates.length <= 1, 'offset persisted');
    await session.disconnect();
    // A new session from the stored data: nothing already recorded comes back.
    const again = new RecordingSink();
    people.say(ann, group, 'third');
    await open({}, again, { ...relayLogin(), data: sink.persisted! });
    await again.waitFor(isMsg('third'), 'third');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(again.events.filter((e) => e.type === 'message').map((e) => (e as Msg).content.text), ['third']);
  });

  it('a record failing mid-batch: the updates before it are not handed over again, the rest follow in order', async () => {
    for (const text of ['a', 'b', 'c']) people.say(ann, group, text); // one getUpdates batch
    const sink = new RecordingSink();
    sink.failOnce = (e) => e.type === 'message' && e.content.text === 'b';
    await open({}, sink);
    await sink.waitFor(isMsg('c'), 'the last of the batch');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(sink.events.filter((e) => e.type === 'message').map((e) => (e as Msg).content.text), ['a', 'b', 'c']);
  });

  it('a 429 storm: every message arrives once, in order, with retry_after honoured', async () => {
    emu.flood = { perChatMs: 120, globalPerSecond: 1000 };
    const { session } = await open();
    const chat = remoteChatId(String(group.chat.id));
    for (let i = 0; i < 25; i++) {
      const result = await session.send({ type: 'message', chat, content: { kind: 'text', text: `storm ${i}` } });
      assert.equal(result.status, 'sent');
    }
    assert.deepEqual(botMessages(group).map((m) => m.text), Array.from({ length: 25 }, (_, i) => `storm ${i}`));
    const limited = emu.calls.filter((c) => c.status === 429);
    assert.ok(limited.length > 0, 'the emulator answered 429 at least once');
    // After a 429 with retry_after=1, the next call to that chat waited at least a second.
    const first = emu.calls.findIndex((c) => c.status === 429);
    const next = emu.calls.slice(first + 1).find((c) => c.method === 'sendMessage');
    assert.ok(next && next.at - emu.calls[first]!.at >= 950, `waited ${next ? next.at - emu.calls[first]!.at : '?'} ms after 429`);
  });

  it('a long flood wait goes back to the core as an outage with the wait, once per call', async () => {
    const { session } = await open({ long_flood_wait_s: 1 });
    emu.inject({ method: 'sendMessage', kind: '429', retryAfter: 7, times: 1 });
    const err = await session.send({ type: 'message', chat: remoteChatId(String(group.chat.id)), content: { kind: 'text', text: 'held' } }).catch((e: unknown) => e);
    assert.ok(err instanceof TransientError && err.outage && err.retryAfterMs === 7000, String(err));
    assert.equal(botMessages(group).length, 0);
  });

  it('a dropped connection on a send is a transient outage (retried by the core); a caption too long for Telegram goes as its own message', async () => {
    const { session } = await open();
    const chat = remoteChatId(String(group.chat.id));
    emu.inject({ method: 'sendMessage', kind: 'drop', times: 1 });
    const err = await session.send({ type: 'message', chat, content: { kind: 'text', text: 'dropped' } }).catch((e: unknown) => e);
    assert.ok(err instanceof TransientError && err.outage, String(err));
    assert.equal((await session.send({ type: 'message', chat, content: { kind: 'text', text: 'dropped' } })).status, 'sent');
    const long = 'x'.repeat(1500);
    const png = Buffer.from('89504e470d0a1a0a' + '22'.repeat(100), 'hex');
    await session.send({ type: 'message', chat, content: { kind: 'text', text: long, attachments: [{ kind: 'image', name: 'a.png', mime: 'image/png', source: { kind: 'bytes', bytes: png } }] } });
    const [text, photo] = botMessages(group).slice(-2);
    assert.equal(text!.text, long);
    assert.ok(Array.isArray(photo!.photo) && photo!.caption === undefined);
  });

  it('formatting both ways by entities, in UTF-16 units; wrong offsets are dropped, not fatal', async () => {
    const { session, sink } = await open();
    people.say(ann, group, '😀 bold and link', { entities: [{ type: 'bold', offset: 3, length: 4 }, { type: 'text_link', offset: 12, length: 4, url: 'https://example.org/' }, { type: 'italic', offset: 1, length: 1 }, { type: 'code', offset: 10, length: 99 }] });
    const ev = await sink.waitFor(isMsg('😀 bold and link'), 'formatted');
    assert.deepEqual(ev.content.spans, [{ kind: 'bold', offset: 3, length: 4 }, { kind: 'link', offset: 12, length: 4, url: 'https://example.org/' }]);
    await session.send({ type: 'message', chat: remoteChatId(String(group.chat.id)), content: { kind: 'text', text: 'Zoë: 🎉 see it', spans: [{ kind: 'bold', offset: 0, length: 3 }, { kind: 'spoiler', offset: 8, length: 3 }, { kind: 'mention', offset: 12, length: 2, user: remoteUserId(String(ann.id)) }] } });
    const sent = botMessages(group).at(-1)!;
    assert.deepEqual(sent.entities, [{ type: 'bold', offset: 0, length: 3 }, { type: 'spoiler', offset: 8, length: 3 }, { type: 'text_mention', offset: 12, length: 2, user: { id: ann.id } }]);
  });

  it('photos both ways, re-hosted; captions edit as captions; replies and reactions', async () => {
    const { session, sink } = await open();
    const chat = remoteChatId(String(group.chat.id));
    const jpeg = Buffer.from('ffd8ffe000104a4649460001' + '00'.repeat(500), 'hex');
    const posted = people.photo(ann, group, jpeg, 'the summit');
    const ev = await sink.waitFor(isMsg('the summit'), 'photo');
    const att = ev.content.attachments?.[0];
    assert.ok(att && att.kind === 'image' && att.source.kind === 'remote');
    assert.deepEqual(Buffer.from(await session.fetchMedia(att.source.ref, 1_000_000)), jpeg);
    await assert.rejects(session.fetchMedia(att.source.ref, 100), /larger than 100 bytes/);

    const png = Buffer.from('89504e470d0a1a0a' + '11'.repeat(300), 'hex');
    const result = await session.send({ type: 'message', chat, replyTo: ev.id, content: { kind: 'text', text: 'Bob: nice', spans: [{ kind: 'bold', offset: 0, length: 3 }], attachments: [{ kind: 'image', name: 'view.png', mime: 'image/png', source: { kind: 'bytes', bytes: png } }] } });
    assert.equal(result.status, 'sent');
    const ours = botMessages(group).at(-1)!;
    assert.equal(ours.caption, 'Bob: nice');
    assert.equal((ours.reply_to_message as { message_id: number }).message_id, posted.message_id);
    const stored = emu.world.files.get((ours.photo as { file_id: string }[])[0]!.file_id)!;
    assert.deepEqual(stored.bytes, png);
    assert.equal((await session.send({ type: 'edit', chat, target: result.status === 'sent' ? result.remoteId! : remoteMessageId('x'), content: { kind: 'text', text: 'Bob: nicer' } })).status, 'sent');
    assert.equal(ours.caption, 'Bob: nicer');

    // Reactions: Telegram's list only; a person's change arrives as added/removed keys.
    assert.equal((await session.send({ type: 'reaction', chat, target: ev.id, key: '🦆', removed: false, keys: ['🦆'] })).status, 'unsupported');
    assert.equal((await session.send({ type: 'reaction', chat, target: ev.id, key: '❤️', removed: false, keys: ['❤️'] })).status, 'sent');
    assert.deepEqual(group.reactions.get(posted.message_id)?.get(bot.user.id), [{ type: 'emoji', emoji: '❤' }]);
    people.react(ann, group, ours.message_id, ['👍']);
    people.react(ann, group, ours.message_id, ['🔥']);
    await sink.waitFor((e): e is RemoteEvent => e.type === 'reaction' && e.key === '👍' && e.removed === true, 'reaction swap');
    const swaps = sink.events.filter((e) => e.type === 'reaction').map((e) => e.type === 'reaction' && `${e.removed ? '-' : '+'}${e.key}`);
    assert.deepEqual(swaps, ['+👍', '+🔥', '-👍']);
  });

  it('typing, joins and leaves, media of every kind, profile photos, and the 20 MB download limit', async () => {
    const { session, sink } = await open();
    const chat = remoteChatId(String(group.chat.id));
    assert.equal((await session.send({ type: 'typing', chat, active: true })).status, 'sent');
    assert.ok(emu.calls.some((c) => c.method === 'sendChatAction' && c.status === 200));

    const bob = emu.world.addUser('Bob', 'bob');
    people.join(bob, group);
    people.leave(bob, group);
    await sink.waitFor((e): e is RemoteEvent => e.type === 'member' && e.change === 'leave' && e.user.id === String(bob.id), 'bob leaving');
    assert.ok(sink.events.some((e) => e.type === 'member' && e.change === 'join' && e.user.id === String(bob.id) && e.user.name === 'Bob'));

    const kinds: [string, string, string, string][] = [['file', 'report.pdf', 'application/pdf', 'document'], ['audio', 'song.mp3', 'audio/mpeg', 'audio'], ['voice', 'note.ogg', 'audio/ogg', 'voice'], ['video', 'clip.mp4', 'video/mp4', 'video'], ['sticker', 's.webp', 'image/webp', 'sticker'], ['image', 'scan.tiff', 'image/tiff', 'document']];
    for (const [kind, name, mime, field] of kinds) {
      const bytes = Buffer.from(`${kind}-${name}`);
      const r = await session.send({ type: 'message', chat, content: { kind: 'text', text: '', attachments: [{ kind: kind as never, name, mime, source: { kind: 'bytes', bytes } }] } });
      assert.equal(r.status, 'sent', `${kind} sent`);
      const m = botMessages(group).at(-1)!;
      const sent = m[field] as { file_id: string } | undefined;
      assert.ok(sent, `${kind} (${mime}) went as ${field}`);
      assert.deepEqual(emu.world.files.get(sent.file_id)!.bytes, bytes);
    }

    const big = people.document(ann, group, Buffer.alloc(21 * 1024 * 1024, 1), 'big.bin', 'application/octet-stream');
    const ev = await sink.waitFor((e): e is Msg => e.type === 'message' && e.id === `${group.chat.id}:${big.message_id}`, 'the big file');
    const att = ev.content.attachments![0]!;
    assert.equal(att.size, 21 * 1024 * 1024);
    await assert.rejects(session.fetchMedia((att.source as { ref: string }).ref, 100 * 1024 * 1024), /file is too big/);

    emu.world.storeFile(Buffer.from('avatar-bytes'), `avatar-${ann.id}.jpg`, 'image/jpeg', 'profile_photos');
    const info = await session.getUserInfo(remoteUserId(String(ann.id)));
    assert.equal(info.name, 'Ann');
    assert.ok(info.avatar?.source.kind === 'remote');
    assert.deepEqual(Buffer.from(await session.fetchMedia(info.avatar.source.ref, 1000)), Buffer.from('avatar-bytes'));
  });

  it('a link needs a group admin to post the code; others are told, and nothing is bridged', async () => {
    const { session, sink } = await open();
    const bob = emu.world.addUser('Bob');
    people.join(bob, group);
    const abort = new AbortController();
    const { instructions, proof } = session.proveChatControl!(remoteChatId(String(group.chat.id)), 'K7P2QX', abort.signal);
    assert.match(instructions, /\/link@switchboard_bot K7P2QX/);
    let confirmedBy: string | undefined;
    void proof.then((u) => { confirmedBy = u; });
    people.say(bob, group, '/link K7P2QX');
    await eventually(() => botMessages(group).some((m) => /Only an admin/.test(String(m.text))), 'refusal for a non-admin');
    assert.equal(confirmedBy, undefined);
    people.say(ann, group, '/link@switchboard_bot K7P2QX');
    assert.equal(await proof, String(ann.id));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sink.events.filter((e) => e.type === 'message' && /K7P2QX/.test(e.content.text)).length, 0, 'codes are not bridged');
    // A wait that times out rejects.
    const late = session.proveChatControl!(remoteChatId(String(group.chat.id)), 'NEVER1', AbortSignal.timeout(50));
    await assert.rejects(late.proof, /confirmed in time/);
  });

  it('private messages to the relay bot get one polite answer; removal and migration reach the core', async () => {
    const { sink } = await open();
    people.sayToBot(ann, bot, 'hi bot');
    people.sayToBot(ann, bot, 'hello?');
    const dm = emu.world.privateChat(ann, bot.user);
    await eventually(() => botMessages(dm).length === 1 && /bridge/.test(String(botMessages(dm)[0]!.text)), 'polite answer');
    const basic = emu.world.addGroup('Old group', ann, 'group');
    people.addBot(bot, basic, ann);
    const sg = people.migrate(ann, basic);
    const moved = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'chat-moved' }> => e.type === 'chat-moved', 'chat-moved');
    assert.equal(moved.chat.id, String(basic.chat.id));
    assert.equal(moved.to, String(sg.chat.id));
    people.removeBot(bot, group, ann);
    const notice = await sink.waitFor((e): e is Msg => e.type === 'message' && e.content.kind === 'notice', 'removal notice');
    assert.equal(notice.chat.id, String(group.chat.id));
    assert.equal(sink.events.filter((e) => e.type === 'message' && e.chat.kind === 'dm').length, 0);
  });

  it('bad input: malformed and unknown updates are skipped, later ones still flow', async () => {
    const { sink } = await open();
    const junk: Record<string, unknown>[] = [
      { message: { message_id: 'x', chat: null } },
      { message: { message_id: 5, chat: { id: group.chat.id, type: 'supergroup' }, date: 1, text: 'no sender' } },
      { edited_message: 42 },
      { poll: { id: '1' } },
      { message: { message_id: 6, from: { id: ann.id, first_name: 'Ann' }, chat: { id: group.chat.id, type: 'supergroup' }, date: 1, text: 'x'.repeat(100_000), entities: [{ type: 'bold', offset: -1, length: 5 }, { type: 'bold', offset: 'a' }] } },
    ];
    for (const u of junk) bot.updates.push({ update_id: bot.nextUpdateId++, ...u });
    people.say(ann, group, 'after the junk');
    await sink.waitFor(isMsg('after the junk'), 'a good update after junk');
    const long = sink.events.find((e) => e.type === 'message' && e.content.text.length === 100_000) as Msg | undefined;
    assert.ok(long && !long.content.spans, 'a huge text is carried, its broken entities dropped');
  });

  it('a revoked token is reported as bad credentials; a 5xx while polling as a transient error; no token in any log line', async () => {
    const { sink } = await open();
    emu.inject({ method: 'getUpdates', kind: '500', times: 2 });
    emu.inject({ method: 'getUpdates', kind: 'drop', times: 1 });
    await eventually(() => sink.states.some((s) => s.state === 'transient-error'), 'transient error');
    people.say(ann, group, 'after the outage');
    await sink.waitFor(isMsg('after the outage'), 'recovery');
    emu.world.bots.delete(bot.token); // revoked by @BotFather
    people.say(ann, group, 'unseen');
    await eventually(() => sink.states.at(-1)?.state === 'bad-credentials', 'bad credentials');
    assert.ok(sink.logged.length > 0);
    assert.ok(sink.logged.every((line) => !line.includes(bot.token) && !line.includes(bot.token.split(':')[1]!)), 'the token never reaches a log');
  });

  it('webhook mode: updates arrive by POST with the secret; an unrecorded one is delivered again', async () => {
    const port = await freePort();
    const raw = { mode: 'webhook', webhook: { public_url: `http://127.0.0.1:${port}/telegram`, listen_port: port, secret: 'a-webhook-secret-of-some-length' } };
    const config = adapter.parseConfig({ bot_token: bot.token, api_root: emu.apiRoot, ...raw }) as TelegramConfig;
    await adapter.start(config, new RecordingSink().log);
    const sink = new RecordingSink();
    sink.failEmits = 1;
    await open(raw, sink);
    assert.match(bot.webhook?.url ?? '', /\/telegram\/\d+$/);
    people.say(ann, group, 'by webhook');
    await sink.waitFor(isMsg('by webhook'), 'webhook update after one failed record');
    const forged = await fetch(bot.webhook!.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' }, body: '{"update_id":1}' });
    assert.equal(forged.status, 401);
  });
});

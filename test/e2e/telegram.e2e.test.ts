/**
 * Telegram end to end: real Synapse, the bridge as a child process, and the Bot API
 * emulator (no real Telegram server can run offline). A room admin links a group, a
 * group admin confirms with the code, then a conversation with edits, a reply, reactions
 * and photos both ways; a basic group's upgrade to a supergroup moves the portal; and a
 * 429 storm in both directions loses, repeats and reorders nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MatrixEvent, MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { TelegramEmulator } from '../harness/telegram/emulator.js';
import type { BotState, ChatState, TgMessage, TgUser } from '../harness/telegram/model.js';
import { botMessages, eventually, TelegramPeople } from '../harness/telegram/people.js';

describe('Telegram end to end (Synapse + bridge + Bot API emulator)', { timeout: 300_000 }, () => {
  let emu: TelegramEmulator;
  let people: TelegramPeople;
  let bot: BotState;
  let ann: TgUser;
  let stack: Stack;
  let alice: MatrixTestClient;

  before(async () => {
    emu = await TelegramEmulator.start();
    people = new TelegramPeople(emu.world);
    bot = emu.world.addBot('switchboard_bot');
    ann = emu.world.addUser('Ann', 'ann');
    stack = await Stack.start({
      bridge: { networks: { telegram: { bot_token: bot.token, api_root: emu.apiRoot, poll_timeout_s: 2, long_flood_wait_s: 3, rate_limits: { per_chat_per_second: 1000, per_group_per_minute: 100000, global_per_second: 1000 } } } },
    });
    alice = await stack.user('alice');
  });
  after(async () => {
    await alice?.stop();
    await stack?.stop();
    await emu?.stop();
  });

  const fromBot = (room: string, starts: string) => (e: MatrixEvent) => e.room_id === room && e.sender === stack.botUserId && String(e.content.body).startsWith(starts);

  /** A room linked to `group` through the command and the group admin's code. */
  async function linkedRoom(group: ChatState, name: string): Promise<string> {
    // The bot may set the room's name and picture (power 50 would do).
    const room = await alice.createRoom({ name, invite: [stack.botUserId], power_level_content_override: { users: { [stack.botUserId]: 50 } } });
    await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    await alice.sendText(room, `link telegram ${group.chat.id}`);
    const pending = await alice.waitFor(fromBot(room, 'Almost there'), 'the link instructions', 30_000);
    const command = /(\/link@\w+ \S+)/.exec(String(pending.content.body))?.[1];
    assert.ok(command, String(pending.content.body));
    people.say(ann, group, command);
    await alice.waitFor(fromBot(room, `Linked this room to Telegram chat "${group.chat.title}"`), 'the link confirmed', 30_000);
    return room;
  }

  it('a linked group: text, formatting, edits, a reply, reactions, photos and a deletion both ways', async (t) => {
    const group = emu.world.addGroup('Hikers', ann);
    people.addBot(bot, group, ann);
    const room = await linkedRoom(group, 'Hikers');
    const lines: string[] = [];
    const ghost = stack.ghost(String(ann.id), 'telegram');

    const annHello = people.say(ann, group, 'hello from Telegram, in bold', { entities: [{ type: 'bold', offset: 24, length: 4 }] });
    const m1 = await alice.waitFor((e) => e.room_id === room && e.content.body === 'hello from Telegram, in bold', "ann's message");
    assert.equal(m1.sender, ghost);
    assert.match(String(m1.content.formatted_body), /<strong>bold<\/strong>/);
    lines.push(`Telegram Ann: ${annHello.text}  →  Matrix ${m1.sender}: ${m1.content.formatted_body}`);

    const aliceHi = await alice.sendText(room, 'hi Ann, from Matrix');
    const t1 = await eventually(() => botMessages(group).find((m) => m.text === 'alice: hi Ann, from Matrix'), 'alice relayed');
    assert.deepEqual(t1.entities, [{ type: 'bold', offset: 0, length: 5 }]);
    lines.push(`Matrix alice: hi Ann, from Matrix  →  Telegram bot: ${t1.text} (bold 0..5)`);

    await alice.reply(room, m1.event_id, 'replying to you');
    const t2 = await eventually(() => botMessages(group).find((m) => m.text === 'alice: replying to you'), 'the reply');
    assert.equal((t2.reply_to_message as TgMessage | undefined)?.message_id, annHello.message_id);
    const annReply = people.say(ann, group, 'and I reply to yours', { replyTo: t1.message_id });
    const m2 = await alice.waitFor((e) => e.room_id === room && e.content.body === 'and I reply to yours', "ann's reply");
    assert.equal((m2.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id: string } })?.['m.in_reply_to']?.event_id, aliceHi);
    lines.push(`replies: Matrix → Telegram reply_to ${annHello.message_id}; Telegram → Matrix in_reply_to ${aliceHi} (message ${annReply.message_id})`);

    people.edit(ann, group, annHello.message_id, 'hello from Telegram, edited');
    const e1 = await alice.waitFor((e) => e.room_id === room && (e.content['m.new_content'] as { body?: string } | undefined)?.body === 'hello from Telegram, edited', "ann's edit");
    assert.equal((e1.content['m.relates_to'] as { event_id: string }).event_id, m1.event_id);
    await alice.edit(room, aliceHi, 'hi Ann, from Matrix (edited)');
    await eventually(() => t1.text === 'alice: hi Ann, from Matrix (edited)' && t1.edit_date, 'alice edit on Telegram');
    lines.push(`edits: Telegram → Matrix m.replace of ${m1.event_id}; Matrix → Telegram editMessageText of ${t1.message_id}`);

    people.react(ann, group, t1.message_id, ['👍']);
    const r1 = await alice.waitFor((e) => e.room_id === room && e.type === 'm.reaction', "ann's reaction");
    assert.equal(r1.sender, ghost);
    assert.deepEqual(r1.content['m.relates_to'], { rel_type: 'm.annotation', event_id: aliceHi, key: '👍' });
    await alice.send(room, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: m1.event_id, key: '❤️' } });
    await eventually(() => group.reactions.get(annHello.message_id)?.get(bot.user.id)?.[0]?.type === 'emoji', 'the bot reacting');
    assert.deepEqual(group.reactions.get(annHello.message_id)?.get(bot.user.id), [{ type: 'emoji', emoji: '❤' }]);
    lines.push('reactions: Telegram 👍 → Matrix annotation by the ghost; Matrix ❤️ → Telegram bot reaction ❤');

    const jpeg = Buffer.from('ffd8ffe000104a464946000101' + 'ab'.repeat(2000), 'hex');
    people.photo(ann, group, jpeg, 'the summit');
    const img = await alice.waitFor((e) => e.room_id === room && e.content.msgtype === 'm.image', "ann's photo");
    const got = await alice.download(String(img.content.url));
    assert.deepEqual(Buffer.from(got.bytes), jpeg);
    const png = Buffer.from('89504e470d0a1a0a' + 'cd'.repeat(3000), 'hex');
    const mxc = await alice.upload(png, 'image/png', 'valley.png');
    await alice.send(room, 'm.room.message', { msgtype: 'm.image', body: 'valley.png', url: mxc, info: { mimetype: 'image/png', size: png.length } });
    const t3 = await eventually(() => botMessages(group).find((m) => Array.isArray(m.photo)), 'the photo on Telegram');
    assert.deepEqual(emu.world.files.get((t3.photo as { file_id: string }[])[0]!.file_id)!.bytes, png);
    lines.push(`photos: Telegram ${jpeg.length} bytes → Matrix ${img.content.url} (same bytes); Matrix ${png.length} bytes → Telegram sendPhoto (same bytes), caption "${String(t3.caption ?? '')}"`);

    const doomed = await alice.sendText(room, 'this one goes away');
    const t4 = await eventually(() => botMessages(group).find((m) => m.text === 'alice: this one goes away'), 'the doomed message');
    await alice.redact(room, doomed);
    await eventually(() => group.deleted.has(t4.message_id), 'the deletion on Telegram');
    lines.push(`deletion: Matrix redaction → Telegram deleteMessage ${t4.message_id}`);

    const picture = Buffer.from('ffd8ffe000104a464946000102' + '5a'.repeat(1500), 'hex');
    people.setPhoto(ann, group, picture);
    const avatar = await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.avatar', 'the room picture');
    assert.deepEqual(Buffer.from((await alice.download(String(avatar.content.url))).bytes), picture);
    people.setTitle(ann, group, 'Hikers & friends');
    await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.name' && e.content.name === 'Hikers & friends', 'the new room name');
    lines.push(`group photo and title: Telegram new_chat_photo → m.room.avatar ${avatar.content.url}; new_chat_title → m.room.name "Hikers & friends"`);

    for (const line of lines) t.diagnostic(line);
  });

  it('a personal bot: login with its token (redacted), private chats become DMs, its groups carry you without a prefix', async (t) => {
    const own = emu.world.addBot('alices_bot');
    const carl = emu.world.addUser('Carl', 'carl');
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining the DM');
    /** Says `text` to the bot and waits for an answer matching `expected`. */
    const ask = async (text: string, expected: RegExp, shown = text) => {
      const sent = await alice.sendText(mgmt, text);
      const answer = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && e.type === 'm.room.message' && expected.test(String(e.content.body)), `the answer to ${shown}`);
      t.diagnostic(`alice: ${shown}`);
      t.diagnostic(`  bot: ${String(answer.content.body)}`);
      return { sent, answer: String(answer.content.body) };
    };
    await ask('login telegram', /bot token/);
    const { sent } = await ask(own.token, /Logged in to telegram as @alices_bot/, '(the bot token, hidden here)');
    await alice.waitFor((e) => e.type === 'm.room.redaction' && e.redacts === sent, 'the token message being redacted');

    people.sayToBot(carl, own, 'hi Alice, it is Carl');
    const invite = await alice.waitForInvite((_r, inviter) => inviter === stack.ghost(String(carl.id), 'telegram'));
    await alice.join(invite);
    await alice.waitFor((e) => e.room_id === invite && e.content.body === 'hi Alice, it is Carl', "Carl's private message");
    await alice.sendText(invite, 'hello Carl');
    const dm = emu.world.privateChat(carl, own.user);
    await eventually(() => botMessages(dm).some((m) => m.text === 'hello Carl'), 'the answer, unprefixed, from her bot');
    t.diagnostic(`Telegram Carl → @alices_bot: "hi Alice, it is Carl" → Matrix DM ${invite}; alice: "hello Carl" → Telegram from @alices_bot: "hello Carl"`);

    // A group both bots are in: alice speaks through her own bot, without a name prefix.
    const group = emu.world.addGroup('Family', ann);
    people.addBot(bot, group, ann);
    people.addBot(own, group, ann);
    const room = await linkedRoom(group, 'Family');
    await alice.sendText(room, 'from my own bot');
    const mine = await eventually(() => botMessages(group).find((m) => m.text === 'from my own bot'), 'her message in the group');
    assert.equal(mine.from?.id, own.user.id);
    await ask('logout telegram', /^Logged out of telegram; your credentials are deleted\.$/);
  });

  it('a direct chat through the relay bot, opened by an invite link; a used or unknown code is refused', async (t) => {
    const dave = emu.world.addUser('Dave', 'dave');
    const eve = emu.world.addUser('Eve');
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining the DM');
    await alice.sendText(mgmt, 'invite telegram');
    const answer = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && /t\.me\//.test(String(e.content.body)), 'the invite link');
    const link = /https:\/\/t\.me\/switchboard_bot\?start=([A-Za-z0-9_-]+)/.exec(String(answer.content.body));
    assert.ok(link, String(answer.content.body));
    t.diagnostic(`alice: invite telegram → bot: ${String(answer.content.body).split('\n')[0]}`);

    people.sayToBot(dave, bot, `/start ${link[1]}`);
    const invite = await alice.waitForInvite((_r, inviter) => inviter === stack.ghost(String(dave.id), 'telegram'));
    await alice.join(invite);
    const daveChat = emu.world.privateChat(dave, bot.user);
    await eventually(() => botMessages(daveChat).some((m) => String(m.text).startsWith(`Connected with ${alice.userId}`)), 'Dave told he is connected');
    people.sayToBot(dave, bot, 'hi Alice, Dave here');
    await alice.waitFor((e) => e.room_id === invite && e.content.body === 'hi Alice, Dave here', "Dave's message in the DM");
    await alice.sendText(invite, 'hello Dave');
    await eventually(() => botMessages(daveChat).some((m) => m.text === 'alice: hello Dave'), 'the answer on Telegram');
    t.diagnostic(`Telegram Dave: /start <code> → Matrix DM ${invite}; Dave: "hi Alice, Dave here" → Matrix; alice: "hello Dave" → Telegram "alice: hello Dave"`);

    // The code is used up, and a made-up one does nothing.
    people.sayToBot(eve, bot, `/start ${link[1]}`);
    const eveChat = emu.world.privateChat(eve, bot.user);
    await eventually(() => botMessages(eveChat).some((m) => /not valid/.test(String(m.text))), 'Eve told the link is used');
    people.sayToBot(eve, bot, 'anyone there?');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await alice.history(invite)).filter((e) => e.content.body === 'anyone there?').length, 0);
  });

  it('a gateway room: a Telegram group and a loopback group linked to one room hear each other', async (t) => {
    const group = emu.world.addGroup('Bridge club', ann);
    people.addBot(bot, group, ann);
    await stack.loopback.call('POST', '/users', { id: 'bob', name: 'Bob' });
    await stack.loopback.call('POST', '/groups', { id: 'club', name: 'Club', members: ['bob', 'relaybot'] });
    const room = await linkedRoom(group, 'Bridge club');
    await alice.sendText(room, '!sb link loopback club');
    await alice.waitFor(fromBot(room, 'Linked this room to Loopback'), 'the loopback link');
    const loopbackTexts = async () => (await stack.loopback.call<{ messages: { from: string; text: string }[] }>('GET', '/chats/club/messages')).messages;

    people.say(ann, group, 'hello from Telegram to everyone');
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'hello from Telegram to everyone', "ann's message on Matrix");
    for (let i = 0; i < 80 && !(await loopbackTexts()).some((m) => m.text === 'Ann (telegram): hello from Telegram to everyone'); i++) await new Promise((r) => setTimeout(r, 250));
    await stack.loopback.call('POST', '/messages', { from: 'bob', chat: 'club', text: 'and hello from loopback' });
    const t1 = await eventually(() => botMessages(group).find((m) => m.text === 'Bob (loopback): and hello from loopback'), 'bob on Telegram');
    assert.deepEqual((t1.entities as unknown[] | undefined)?.[0], { type: 'bold', offset: 0, length: 'Bob (loopback)'.length });
    const texts = await loopbackTexts();
    assert.equal(texts.filter((m) => m.text === 'Ann (telegram): hello from Telegram to everyone').length, 1, `loopback has ${JSON.stringify(texts)}`);
    assert.equal(botMessages(group).filter((m) => String(m.text).endsWith('and hello from loopback')).length, 1);
    t.diagnostic('Telegram Ann → Matrix ghost and loopback "Ann (telegram): …"; loopback Bob → Matrix ghost and Telegram bot "Bob (loopback): …" (bold name)');
  });

  it('a basic group upgraded to a supergroup takes its room along', async () => {
    const basic = emu.world.addGroup('Old club', ann, 'group');
    people.addBot(bot, basic, ann);
    const room = await linkedRoom(basic, 'Old club');
    const sg = people.migrate(ann, basic);
    await alice.waitFor(fromBot(room, 'This telegram chat moved'), 'the move notice');
    people.say(ann, sg, 'now in the supergroup');
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'now in the supergroup', 'a message of the new supergroup');
    await alice.sendText(room, 'and back out');
    await eventually(() => botMessages(sg).some((m) => m.text === 'alice: and back out'), 'sent to the supergroup');
    assert.equal(botMessages(basic).filter((m) => m.text === 'alice: and back out').length, 0);
  });

  it('a bridge crash mid-stream: Telegram → Matrix arrives once and in order; Matrix → Telegram loses nothing', async (t) => {
    const group = emu.world.addGroup('Crash', ann);
    people.addBot(bot, group, ann);
    const room = await linkedRoom(group, 'Crash');
    const n = 60;
    const inbound = async () => (await alice.history(room)).filter((e) => String(e.content.body ?? '').startsWith('crash in')).map((e) => String(e.content.body));
    const outTexts = () => botMessages(group).map((m) => String(m.text)).filter((x) => x.startsWith('alice: crash out'));
    for (let i = 0; i < n; i++) {
      people.say(ann, group, `crash in ${i}`);
      await alice.sendText(room, `crash out ${i}`);
      if (i === 25) await stack.bridge.stop('SIGKILL');
      if (i === 40) await stack.bridge.start();
    }
    let seen: string[] = [];
    for (let i = 0; i < 240 && (seen.length < n || outTexts().length < n); i++) {
      seen = await inbound();
      if (seen.length < n || outTexts().length < n) await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 1000));
    seen = await inbound();
    const out = outTexts();
    // The Bot API cannot say whether a send cut off by the crash went out: at most that one repeats.
    const repeats = out.length - new Set(out).size;
    t.diagnostic(`Telegram → Matrix through a SIGKILL: sent ${n}, received ${seen.length}, distinct ${new Set(seen).size}`);
    t.diagnostic(`Matrix → Telegram through a SIGKILL: sent ${n}, received ${out.length}, repeated ${repeats}`);
    if (new Set(out).size < n || seen.length < n) {
      // Something went missing: what the bridge warned about since its restart, to tell why.
      const warnings = (stack.bridge.process?.output() ?? '').split('\n').filter((l) => /"level":[456]0/.test(l));
      for (const line of warnings.slice(-40)) t.diagnostic(line.slice(0, 500));
    }
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => `crash in ${i}`));
    assert.deepEqual([...new Set(out)], Array.from({ length: n }, (_, i) => `alice: crash out ${i}`));
    assert.ok(repeats <= 1, `${repeats} repeats`);
  });

  it('a 429 storm both ways: every message arrives once, in order', async (t) => {
    const group = emu.world.addGroup('Storm', ann);
    people.addBot(bot, group, ann);
    const room = await linkedRoom(group, 'Storm');
    const before429 = emu.calls.filter((c) => c.status === 429).length;
    emu.flood = { perChatMs: 250, globalPerSecond: 1000 };
    const n = 40;
    for (let i = 0; i < n; i++) await alice.sendText(room, `storm out ${i}`);
    for (let i = 0; i < n; i++) people.say(ann, group, `storm in ${i}`);
    const out = await eventually(() => {
      const texts = botMessages(group).map((m) => String(m.text)).filter((x) => x.startsWith('alice: storm out'));
      return texts.length >= n ? texts : undefined;
    }, 'every storm message on Telegram', 120_000);
    const inbound = async () => (await alice.history(room)).filter((e) => String(e.content.body ?? '').startsWith('storm in')).map((e) => String(e.content.body));
    let seen: string[] = [];
    for (let i = 0; i < 200 && seen.length < n; i++) { seen = await inbound(); if (seen.length < n) await new Promise((r) => setTimeout(r, 250)); }
    emu.flood = undefined;
    await new Promise((r) => setTimeout(r, 1000));
    const finalOut = botMessages(group).map((m) => String(m.text)).filter((x) => x.startsWith('alice: storm out'));
    const limited = emu.calls.filter((c) => c.status === 429).length - before429;
    t.diagnostic(`Matrix → Telegram: sent ${n}, received ${finalOut.length}, 429 answers during the storm: ${limited}`);
    t.diagnostic(`Telegram → Matrix: sent ${n}, received ${seen.length}`);
    assert.ok(limited > 0, 'the emulator rate-limited the bridge');
    assert.deepEqual(finalOut, Array.from({ length: n }, (_, i) => `alice: storm out ${i}`));
    assert.deepEqual(out.slice(0, n), finalOut);
    assert.deepEqual(await inbound(), Array.from({ length: n }, (_, i) => `storm in ${i}`));
  });
});

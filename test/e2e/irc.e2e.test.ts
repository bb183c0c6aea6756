/**
 * IRC end to end: real Synapse, a real InspIRCd 3 (IRCv3: echo-message, msgid,
 * server-time, client tags), the bridge as a child process with its IRC relay. A Matrix
 * room is linked to a channel; IRC people (their own irc-framework connections) talk in
 * it; a Matrix user logs in to IRC as herself and gets a private conversation as a DM.
 * The conversation is printed as diagnostics: the transcript of both sides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { IrcPerson } from '../harness/irc-person.js';
import { Stack } from '../harness/stack.js';

describe('IRC end to end through Synapse and InspIRCd', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let dave: MatrixTestClient;
  let ian: IrcPerson;
  let room: string;
  const ghost = (nick: string) => `@_irc_${nick.toLowerCase()}:${stack.synapse.serverName}`;
  const log = (t: TestContext, line: string) => t.diagnostic(line);

  before(async () => {
    // IRC_DIR keeps every server's files and logs there for a post-mortem.
    stack = await Stack.start({ irc: true, bridge: { publicMedia: true }, ...(process.env.IRC_DIR && { dir: process.env.IRC_DIR }) });
    alice = await stack.user('alice');
    dave = await stack.user('dave');
    ian = await IrcPerson.connect(stack.ircd!.port, 'ian');
    await ian.join('#lobby');
  });

  after(async () => {
    await ian?.stop();
    await alice?.stop();
    await dave?.stop();
    await stack?.stop();
  });

  it('a Matrix room linked to a channel: talk both ways, emotes, notices, formatting, mentions', async (t) => {
    room = await alice.createRoom({ name: 'Lobby', preset: 'public_chat', invite: [stack.botUserId] });
    await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    await dave.join(room);
    await alice.sendText(room, 'link irc #lobby');
    const linked = await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && /^Linked/.test(String(e.content.body)), 'the link answer', 40_000);
    log(t, 'alice (Matrix): link irc #lobby');
    log(t, `  bot: ${linked.content.body}`);
    await ian.waitFor((h) => h.command === 'join' && h.nick === 'Switchboard' && h.target === '#lobby', 'the relay joining #lobby');

    ian.say('#lobby', 'hello Matrix, from IRC');
    const seen = await alice.waitFor((e) => e.room_id === room && e.content.body === 'hello Matrix, from IRC', "ian's line");
    assert.equal(seen.sender, ghost('ian'));
    log(t, `ian (IRC #lobby) → hello Matrix, from IRC`);
    log(t, `  Matrix sees from ${seen.sender}: ${seen.content.body}`);

    await dave.sendText(room, 'hi ian, I am on Matrix');
    const relayed = await ian.waitFor((h) => h.command === 'privmsg' && h.target === '#lobby' && (h.message ?? '').endsWith('hi ian, I am on Matrix'), "dave's relayed line");
    assert.equal(relayed.nick, 'Switchboard');
    assert.equal(relayed.message, '<\x02dave\x02> hi ian, I am on Matrix');
    log(t, `dave (Matrix, no IRC login) → #lobby as ${relayed.nick}: ${JSON.stringify(relayed.message)}`);

    ian.raw('PRIVMSG #lobby :\x01ACTION waves\x01');
    const emote = await alice.waitFor((e) => e.room_id === room && e.content.msgtype === 'm.emote', "ian's /me");
    assert.equal(emote.content.body, 'waves');
    ian.raw('NOTICE #lobby :the build is green');
    const notice = await alice.waitFor((e) => e.room_id === room && e.content.msgtype === 'm.notice' && e.sender === ghost('ian'), "ian's NOTICE");
    assert.equal(notice.content.body, 'the build is green');
    log(t, 'ian: /me waves → m.emote "waves"; NOTICE → m.notice "the build is green"');

    ian.say('#lobby', 'this is \x02bold\x02 and \x1ditalic\x1d and \x0304red\x03');
    const styled = await alice.waitFor((e) => e.room_id === room && String(e.content.body).startsWith('this is bold'), 'formatting');
    assert.equal(styled.content.body, 'this is bold and italic and red');
    assert.equal(styled.content.formatted_body, 'this is <strong>bold</strong> and <em>italic</em> and red');
    await dave.sendHtml(room, 'so **strong**', 'so <strong>strong</strong> <code>x</code>');
    const fmt = await ian.waitFor((h) => h.command === 'privmsg' && (h.message ?? '').includes('so '), "dave's formatting");
    assert.equal(fmt.message, '<\x02dave\x02> so \x02strong\x02 \x11x\x11');
    log(t, `formatting: IRC \\x02bold\\x02 → <strong>; Matrix <strong>, <code> → ${JSON.stringify(fmt.message)}`);

    // "nick: " at the start of a line is a mention of that person.
    const zoe = await IrcPerson.connect(stack.ircd!.port, 'zoe');
    await zoe.join('#lobby');
    zoe.say('#lobby', 'ian: look at this');
    const mention = await alice.waitFor((e) => e.room_id === room && e.content.body === 'ian: look at this', "zoe's mention");
    assert.equal(mention.content.formatted_body, `<a href="https://matrix.to/#/${ghost('ian')}">ian</a>: look at this`);
    assert.deepEqual(mention.content['m.mentions'], { user_ids: [ghost('ian')] });
    log(t, `zoe: "ian: look at this" → a pill for ${ghost('ian')}`);
    await zoe.stop();
    await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.member' && e.state_key === ghost('zoe') && e.content.membership === 'leave', "zoe's ghost leaving on QUIT");
    log(t, 'zoe joins and quits → her ghost joins and leaves the room');
  });

  it('a long Matrix message becomes lines within 512 bytes, cut between words', async (t) => {
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    await dave.sendText(room, words);
    const got: string[] = [];
    for (;;) {
      const h = await ian.waitFor((x) => x.command === 'privmsg' && x.nick === 'Switchboard' && (x.message ?? '').includes('word') && !got.includes(x.message!), 'a line of the long message');
      got.push(h.message!);
      if (h.message!.endsWith('word119')) break;
    }
    assert.ok(got.length >= 2, `${got.length} lines`);
    assert.equal(got.map((l) => l.replace(/^<\x02dave\x02> /, '')).join(' '), words, 'every word, in order, none cut');
    for (const l of got) assert.ok(Buffer.byteLength(`:Switchboard!~x@127.0.0.1 PRIVMSG #lobby :${l}\r\n`) <= 512);
    log(t, `a ${words.length}-character message → ${got.length} IRC lines, each within 512 bytes with the server's prefix`);
  });

  it('a message of many lines: the first lines, then a link to the whole text (InspIRCd has no draft/multiline)', async (t) => {
    const lines = Array.from({ length: 14 }, (_, i) => `paste line ${i + 1}`);
    await dave.sendText(room, lines.join('\n'));
    const link = await ian.waitFor((h) => h.command === 'privmsg' && /more lines, the whole message: /.test(h.message ?? ''), 'the link line');
    const got = ian.heard.filter((h) => h.command === 'privmsg' && h.nick === 'Switchboard' && /paste line \d+$/.test(h.message ?? '')).map((h) => h.message!.replace(/^<\x02dave\x02> /, ''));
    assert.deepEqual(got, lines.slice(0, 9), 'max_lines (10): nine lines, then the link');
    assert.match(link.message!, /^… 5 more lines, the whole message: http:\/\/127\.0\.0\.1:\d+\/_switchboard\/media\//);
    const url = /(http:\/\/\S+)/.exec(link.message!)![1]!;
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `<dave> ${lines.join('\n')}`, 'the link serves the whole message');
    log(t, `a 14-line message → 9 lines and ${JSON.stringify(link.message)}; the link serves all 14 lines`);
  });

  it('the topic both ways', async (t) => {
    // The bot sets the room's topic: it needs power level 50 in a room it did not create.
    const levels = await alice.request<{ users?: Record<string, number> }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.power_levels/`);
    await alice.setState(room, 'm.room.power_levels', { ...levels, users: { ...levels.users, [stack.botUserId]: 50 } });
    ian.raw('TOPIC #lobby :Release on Friday');
    const topic = await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.topic' && e.content.topic === 'Release on Friday', 'the topic in Matrix');
    log(t, `ian sets the topic → Matrix m.room.topic "${topic.content.topic}"`);
    await alice.setState(room, 'm.room.topic', { topic: 'Release moved to Monday' });
    const back = await ian.waitFor((h) => h.command === 'topic' && h.message === 'Release moved to Monday', 'the topic on IRC');
    log(t, `alice sets the Matrix topic → IRC TOPIC by ${back.nick}: ${back.message}`);
  });

  it('an IRC operator is a moderator on Matrix; reactions both ways, relayed ones as text', async (t) => {
    // The bot changes power levels only where it may: alice lets it.
    const levels = await alice.request<{ users?: Record<string, number> }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.power_levels/`);
    await alice.setState(room, 'm.room.power_levels', { ...levels, users: { ...levels.users, [stack.botUserId]: 100 } });
    await stack.ircd!.mode('#lobby', '+o', 'ian');
    const pl = await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.power_levels' && (e.content.users as Record<string, number> | undefined)?.[ghost('ian')] === 50, "ian's ghost at power level 50");
    assert.equal(pl.sender, stack.botUserId);
    log(t, `SAMODE #lobby +o ian → m.room.power_levels by ${pl.sender}: ${ghost('ian')} = 50`);
    await stack.ircd!.mode('#lobby', '-o', 'ian');
    await alice.waitFor((e) => e.room_id === room && e.type === 'm.room.power_levels' && (e.content.users as Record<string, number> | undefined)?.[ghost('ian')] === undefined && e.event_id !== pl.event_id && alice.events.indexOf(e) > alice.events.indexOf(pl), "ian's ghost back to the default");
    log(t, 'SAMODE #lobby -o ian → his ghost back to the room default');

    // ian reacts (+draft/react) to dave's relayed line, by the id InspIRCd gave it.
    await dave.sendText(room, 'react to this, ian');
    const line = await ian.waitFor((h) => h.command === 'privmsg' && (h.message ?? '').endsWith('react to this, ian'), "dave's line");
    const daveEvent = await dave.waitFor((e) => e.room_id === room && e.content.body === 'react to this, ian', "dave's own event");
    assert.ok(line.tags.msgid, 'InspIRCd gives every line a msgid');
    ian.raw(`@+draft/reply=${line.tags.msgid};+draft/react=👍 TAGMSG #lobby`);
    const reaction = await alice.waitFor((e) => e.room_id === room && e.type === 'm.reaction', "ian's reaction");
    assert.equal(reaction.sender, ghost('ian'));
    assert.deepEqual(reaction.content['m.relates_to'], { rel_type: 'm.annotation', event_id: daveEvent.event_id, key: '👍' });
    log(t, `ian: TAGMSG +draft/react=👍 on dave's line → m.reaction 👍 from ${reaction.sender}`);

    // dave has no IRC login: his reaction goes through the relay, so it says whose it is in text.
    ian.say('#lobby', 'a line for dave to like');
    const liked = await dave.waitFor((e) => e.room_id === room && e.content.body === 'a line for dave to like', "ian's line");
    await dave.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.reaction/r${Date.now()}`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: liked.event_id, key: '🎉' } });
    const text = await ian.waitFor((h) => h.nick === 'Switchboard' && (h.message ?? '').includes('reacted 🎉'), "dave's reaction as text");
    assert.equal(text.message, '<\x02dave\x02> reacted 🎉');
    log(t, `dave (no IRC login) reacts 🎉 → #lobby ${text.command.toUpperCase()} from Switchboard: ${JSON.stringify(text.message)}`);
  });

  it('a bridge restart: what was said meanwhile arrives once, in order (the channel replays its history on join)', async (t) => {
    await stack.bridge.stop();
    for (const n of [1, 2, 3]) ian.say('#lobby', `said while the bridge was down ${n}`);
    await stack.bridge.start();
    const got: string[] = [];
    for (const n of [1, 2, 3]) got.push(String((await alice.waitFor((e) => e.room_id === room && e.content.body === `said while the bridge was down ${n}`, `line ${n}`, 60_000)).content.body));
    ian.say('#lobby', 'and after the restart');
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'and after the restart', 'a live line after the restart');
    const history = (await alice.history(room)).filter((e) => e.sender === ghost('ian') && e.type === 'm.room.message').map((e) => String(e.content.body));
    assert.deepEqual(history.filter((b) => b.startsWith('said while the bridge was down')), got, 'each once, in order');
    assert.equal(history.filter((b) => b === 'hello Matrix, from IRC').length, 1, 'the replayed history brought nothing twice');
    log(t, `bridge stopped; ian said 3 lines; bridge started → the relay rejoined, InspIRCd replayed #lobby, the 3 lines arrived once and in order (older lines dropped by msgid)`);
  });

  it('an IRC server restart: the relay comes back, rejoins, and talk flows again', async (t) => {
    await ian.stop();
    await stack.ircd!.stop();
    await stack.ircd!.start();
    ian = await IrcPerson.connect(stack.ircd!.port, 'ian');
    await ian.join('#lobby');
    await ian.waitFor((h) => h.command === 'join' && h.nick === 'Switchboard' && h.target === '#lobby', 'the relay rejoining #lobby', 60_000);
    ian.say('#lobby', 'after the server restart');
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'after the server restart', 'a line after the server restart');
    await dave.sendText(room, 'and back to IRC');
    await ian.waitFor((h) => h.command === 'privmsg' && (h.message ?? '').endsWith('and back to IRC'), 'a Matrix line after the server restart');
    log(t, 'InspIRCd restarted → the relay reconnected (backoff) and rejoined #lobby; both directions work again');
  });

  it('login irc: alice as herself, channels and a private conversation as a DM', async (t) => {
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    const ask = async (text: string) => {
      const sent = await alice.sendText(mgmt, text);
      const own = await alice.waitFor((e) => e.event_id === sent, 'our own message');
      const ev = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && e.type === 'm.room.message' && alice.events.indexOf(e) > alice.events.indexOf(own), `the answer to ${text}`, 40_000);
      return String(ev.content.body);
    };
    assert.match(await ask('login irc'), /Send your IRC nick/);
    assert.match(await ask('alice'), /Send your password of your registered nick/);
    const done = await ask('-');
    assert.match(done, /^Logged in to irc as alice/);
    log(t, 'alice (Matrix): login irc → alice → - → "Logged in to irc as alice"');

    // In the linked room, alice now speaks as herself.
    await ian.waitFor((h) => h.command === 'join' && h.nick === 'alice', 'alice joining #lobby', 30_000).catch(() => undefined);
    await alice.sendText(room, 'now as myself');
    const own = await ian.waitFor((h) => h.command === 'privmsg' && h.message === 'now as myself', "alice's own line", 30_000);
    assert.equal(own.nick, 'alice');
    log(t, `alice (Matrix) in the linked room → #lobby from ${own.nick}: ${own.message}`);

    ian.say('alice', 'psst, a private word');
    const dm = await alice.waitForInvite((_r, inviter) => inviter === ghost('ian'), 30_000);
    await alice.join(dm);
    await alice.waitFor((e) => e.room_id === dm && e.content.body === 'psst, a private word', "ian's private message");
    await alice.sendText(dm, 'private answer');
    const answer = await ian.waitFor((h) => h.command === 'privmsg' && h.target === 'ian' && h.message === 'private answer', "alice's private answer");
    assert.equal(answer.nick, 'alice');
    log(t, `ian → alice (PRIVMSG) → a DM room opened by ${ghost('ian')}; alice answers → ian gets it from ${answer.nick}`);

    // With her own connection, alice's reaction is hers: a TAGMSG naming ian's line.
    ian.say('#lobby', 'alice, like this one');
    const target = await alice.waitFor((e) => e.room_id === room && e.content.body === 'alice, like this one', "ian's line for alice");
    await alice.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.reaction/r${Date.now()}`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: target.event_id, key: '❤️' } });
    const tag = await ian.waitFor((h) => h.command === 'tagmsg' && h.nick === 'alice' && h.tags['+draft/react'] === '❤️', "alice's reaction");
    assert.ok(tag.tags['+draft/reply'], 'it names the message');
    log(t, `alice (own login) reacts ❤️ → TAGMSG from alice +draft/react=❤️ +draft/reply=${tag.tags['+draft/reply']}`);
  });
});

/**
 * IRCv3 drafts no real server here offers, against a scripted server (test/harness/
 * scripted-ircd.ts): `draft/multiline` both ways, `draft/message-redaction` both ways,
 * `+draft/react`/`+draft/unreact`, operators as roles, channel keys, and the link to a
 * long message's whole text on a server without multiline. What InspIRCd does offer
 * (client tags, echo-message) is tested against it in the contract and e2e suites.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AdapterSession, LoginInfo } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';
import { loginId, networkId, remoteChatId, remoteMessageId, remoteUserId } from '../../core/ids.js';
import { IrcAdapter } from '../../bridges/irc/index.js';
import { RecordingSink } from '../harness/recording-sink.js';
import { ScriptedIrcd, type ScriptedIrcdOptions } from '../harness/scripted-ircd.js';

const person = (nick: string): LoginInfo => ({ id: loginId(`irc:@${nick}:test`), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId(nick), data: { nick } });
const IRCV3 = ['message-tags', 'batch', 'echo-message', 'labeled-response', 'server-time'];
const DRAFTS = [...IRCV3, 'draft/multiline=max-bytes=4096,max-lines=24', 'draft/message-redaction'];
type Ev<T extends RemoteEvent['type']> = Extract<RemoteEvent, { type: T }>;
/** The last parameter of a line (`:text` or one word). */
const trailing = (line: string) => {
  const colon = line.indexOf(' :', line.startsWith('@') ? line.indexOf(' ') : 0);
  return colon >= 0 ? line.slice(colon + 2) : line.slice(line.lastIndexOf(' ') + 1);
};
/** A line the client sent, read back as UTF-8 (the scripted server keeps bytes as Latin-1). */
const utf8 = (line: string) => Buffer.from(line, 'latin1').toString('utf8');

describe('IRCv3 drafts against a scripted server', { timeout: 120_000 }, () => {
  const servers: ScriptedIrcd[] = [];
  const sessions: AdapterSession[] = [];
  after(async () => {
    for (const s of sessions) await s.disconnect();
    for (const s of servers) await s.stop();
  });

  async function connect(opts: ScriptedIrcdOptions, extra: Record<string, unknown> = {}, nick = 'me') {
    const server = await ScriptedIrcd.start(opts);
    servers.push(server);
    const adapter = new IrcAdapter();
    const sink = new RecordingSink();
    const session = adapter.createSession(person(nick), adapter.parseConfig({ host: '127.0.0.1', port: server.port, tls: false, flood: { burst: 100, per_second: 100 }, ...extra }), sink);
    sessions.push(session);
    await session.connect();
    return { server, session, sink };
  }

  describe('with draft/multiline and draft/message-redaction', () => {
    let ctx: Awaited<ReturnType<typeof connect>>;

    it('a message of several lines goes as one batch; a long line continues with multiline-concat; its id is the echoed batch\'s msgid', async () => {
      ctx = await connect({ caps: DRAFTS, names: { '#room': '@opal plain bob' } });
      const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
      const sent = await ctx.session.send({ type: 'message', chat: remoteChatId('#room'), content: { kind: 'text', text: `one\ntwo\n${long}`, spans: [{ kind: 'bold', offset: 4, length: 3 }] }, replyTo: remoteMessageId('m0') });
      const open = await ctx.server.waitFor(/ BATCH \+\S+ draft\/multiline #room$/);
      assert.match(open, /^@.*\+draft\/reply=m0/, 'the reply tag rides the opening line');
      assert.match(open, /label=/);
      const ref = /BATCH \+(\S+)/.exec(open)![1]!;
      await ctx.server.waitFor(new RegExp(`^BATCH -${ref}$`));
      const inBatch = ctx.server.received.filter((l) => l.includes(`batch=${ref}`));
      assert.ok(inBatch.length >= 4, `the long line was cut: ${inBatch.length} lines`);
      for (const l of inBatch) assert.ok(Buffer.byteLength(l.slice(l.indexOf(' ') + 1)) + 2 <= 512, 'each line fits 512 bytes');
      // Joined as the spec says (line break, or nothing before a concat line), the text is what was sent.
      let text = '';
      for (const [i, l] of inBatch.entries()) {
        const body = trailing(l);
        text += (i > 0 && !/multiline-concat/.test(l.slice(0, l.indexOf(' '))) ? '\n' : '') + body;
      }
      assert.equal(text, `one\n\x02two\x02\n${long}`);
      assert.equal(sent.status === 'sent' && sent.remoteId, 'sid1', 'the echo of the whole batch gave its id');
      assert.equal(ctx.sink.events.filter((e) => e.type === 'message').length, 0, 'our own echo is never reported');
    });

    it('a batch from someone else is one message with its line breaks, formatting per line, and the batch\'s msgid', async () => {
      ctx.server.send(
        '@msgid=m1;+draft/reply=m0 :bob!b@h BATCH +x draft/multiline #room',
        '@batch=x :bob!b@h PRIVMSG #room :first part',
        '@batch=x;draft/multiline-concat :bob!b@h PRIVMSG #room :, continued',
        '@batch=x :bob!b@h PRIVMSG #room :\x02second\x02 line',
        ':bob!b@h BATCH -x',
      );
      const ev = await ctx.sink.waitFor((e): e is Ev<'message'> => e.type === 'message' && e.id === 'm1', 'the batch as one message');
      assert.equal(ev.content.text, 'first part, continued\nsecond line');
      assert.deepEqual(ev.content.spans, [{ kind: 'bold', offset: 22, length: 6 }]);
      assert.equal(ev.replyTo, 'm0');
      assert.equal(ev.sender.id, 'bob');
    });

    it('operators in NAMES and MODE +o/-o become roles', async () => {
      await ctx.sink.waitFor((e): e is Ev<'role'> => e.type === 'role' && e.user.id === 'opal' && e.role === 'moderator', 'opal, an operator at join');
      assert.ok(!ctx.sink.events.some((e) => e.type === 'role' && e.user.id !== 'opal'), 'nobody else was made a moderator');
      ctx.server.send(':opal!o@h MODE #room +o-o plain opal');
      await ctx.sink.waitFor((e): e is Ev<'role'> => e.type === 'role' && e.user.id === 'plain' && e.role === 'moderator', 'plain made an operator');
      await ctx.sink.waitFor((e): e is Ev<'role'> => e.type === 'role' && e.user.id === 'opal' && e.role === 'member', 'opal no longer one');
      ctx.server.send(':plain!p@h NICK :plainer');
      await ctx.sink.waitFor((e): e is Ev<'role'> => e.type === 'role' && e.user.id === 'plainer' && e.role === 'moderator', 'the role follows a nick change');
    });

    it('a deletion goes as REDACT with the message id; one by an operator arrives as a moderator\'s, one by the author as theirs', async () => {
      const s = ctx.session;
      assert.equal(s.capabilitiesNow?.(false).deletes, true);
      assert.equal((await s.send({ type: 'delete', chat: remoteChatId('#room'), target: remoteMessageId('sid1') })).status, 'sent');
      await ctx.server.waitFor(/^REDACT #room sid1$/);
      const made = await s.send({ type: 'delete', chat: remoteChatId('#room'), target: remoteMessageId('out:abc') });
      assert.equal(made.status, 'unsupported', 'an id the bridge made up is not the server\'s');
      ctx.server.send(':plainer!p@h REDACT #room m1 :spam', ':bob!b@h REDACT #room m7');
      const byOp = await ctx.sink.waitFor((e): e is Ev<'delete'> => e.type === 'delete' && e.target === 'm1', 'the operator\'s deletion');
      assert.equal(byOp.moderator, true);
      const byBob = await ctx.sink.waitFor((e): e is Ev<'delete'> => e.type === 'delete' && e.target === 'm7', 'bob\'s deletion');
      assert.equal(byBob.moderator, undefined);
    });

    it('reactions go as +draft/react and +draft/unreact, and come back as reactions; through the relay they are the core\'s text', async () => {
      const s = ctx.session;
      assert.equal(s.capabilitiesNow?.(false).reactions, 'any');
      assert.equal(s.capabilitiesNow?.(true).reactions, 'none', 'a relay\'s reaction would not say whose it is');
      await s.send({ type: 'reaction', chat: remoteChatId('#room'), target: remoteMessageId('m1'), key: '🎉', removed: false, keys: ['🎉'] });
      await s.send({ type: 'reaction', chat: remoteChatId('#room'), target: remoteMessageId('m1'), key: '🎉', removed: true, keys: [] });
      await ctx.server.waitFor(/\+draft\/unreact=/);
      const lines = ctx.server.received.filter((l) => / TAGMSG #room$/.test(l)).map(utf8);
      assert.ok(lines.some((l) => l.includes('+draft/react=🎉') && l.includes('+draft/reply=m1')), JSON.stringify(lines));
      assert.ok(lines.some((l) => l.includes('+draft/unreact=🎉')));
      const tooLong = await s.send({ type: 'reaction', chat: remoteChatId('#room'), target: remoteMessageId('m1'), key: 'x'.repeat(300), removed: false, keys: [] });
      assert.equal(tooLong.status, 'unsupported');
      ctx.server.send('@+draft/reply=m1;+draft/react=👍 :bob!b@h TAGMSG #room', '@+draft/reply=m1;+draft/unreact=👍 :bob!b@h TAGMSG #room');
      await ctx.sink.waitFor((e): e is Ev<'reaction'> => e.type === 'reaction' && e.key === '👍' && !e.removed, 'bob reacting');
      await ctx.sink.waitFor((e): e is Ev<'reaction'> => e.type === 'reaction' && e.key === '👍' && e.removed === true, 'bob taking it back');
    });
  });

  it('without message tags or redaction the connection says so, and the core\'s fallbacks apply', async () => {
    const { session } = await connect({ caps: [] }, {}, 'plainme');
    assert.deepEqual(session.capabilitiesNow?.(false), { reactions: 'none', deletes: false });
    const r = await session.send({ type: 'delete', chat: remoteChatId('#room'), target: remoteMessageId('sid1') });
    assert.equal(r.status, 'unsupported');
  });

  it('a channel key from the config is given with JOIN; without it the refusal names the key', async () => {
    const keys = { '#locked': 'sesame' };
    const withKey = await connect({ caps: IRCV3, keys }, { channel_keys: { '#Locked': 'sesame' } }, 'keyed');
    const info = await withKey.session.getChatInfo(remoteChatId('#locked'));
    assert.equal(info.kind, 'group');
    await withKey.server.waitFor(/^JOIN #locked sesame$/);
    const without = await connect({ caps: IRCV3, keys }, {}, 'keyless');
    await assert.rejects(without.session.getChatInfo(remoteChatId('#locked')), /cannot join #locked: .*\+k/);
  });

  it('without multiline, past max_lines the first lines go and then a link to the whole text; without links every line goes', async () => {
    const published: string[] = [];
    const linked = await connect({ caps: IRCV3 }, { max_lines: 3 }, 'paster');
    (linked.sink as RecordingSink & { publishText?: (t: string, n: string) => Promise<string> }).publishText = async (t, n) => {
      published.push(t);
      return `http://127.0.0.1:9/_switchboard/media/abc/${n}`;
    };
    const text = Array.from({ length: 6 }, (_, i) => `line ${i + 1}`).join('\n');
    assert.equal((await linked.session.send({ type: 'message', chat: remoteChatId('bob'), content: { kind: 'text', text } })).status, 'sent');
    await linked.server.waitFor(/more lines/);
    const sentLines = linked.server.received.filter((l) => /(^| )PRIVMSG bob /.test(l)).map(trailing);
    assert.deepEqual(sentLines, ['line 1', 'line 2', '… 4 more lines, the whole message: http://127.0.0.1:9/_switchboard/media/abc/message.txt'].map((l) => Buffer.from(l).toString('latin1')));
    assert.deepEqual(published, [text]);

    const plain = await connect({ caps: IRCV3 }, { max_lines: 3 }, 'unlinked');
    await plain.session.send({ type: 'message', chat: remoteChatId('bob'), content: { kind: 'text', text } });
    await plain.server.waitFor(/PRIVMSG bob :line 6$/);
    assert.equal(plain.server.received.filter((l) => /(^| )PRIVMSG bob /.test(l)).length, 6, 'no links served: nothing is left out');
  });
});

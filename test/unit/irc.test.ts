/** IRC adapter pieces: names, the network-wide registry, reading lines, bytes on the wire, config. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIrcConfig } from '../../bridges/irc/config.js';
import { lineToEvent, messageId, type InboundContext } from '../../bridges/irc/inbound.js';
import { channelProblem, foldCase, ircNickProblem, parseIrcChat, userIdOf } from '../../bridges/irc/names.js';
import { Accounts } from '../../bridges/irc/accounts.js';
import { IrcRegistry, type Member } from '../../bridges/irc/registry.js';
import { fromWire, line, toWire } from '../../bridges/irc/wire.js';
import { Channels } from '../../bridges/irc/channels.js';
import { listenForEvents } from '../../bridges/irc/listen.js';
import type { RemoteEvent } from '../../core/events.js';
import { silentLogger } from '../../core/log.js';
import { EventEmitter } from 'node:events';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const member = (id: string, relay = false, evicted: string[] = []): Member => ({ id, relay, evict: (reason) => evicted.push(`${id}: ${reason}`) });

describe('IRC names', () => {
  it('folds case the rfc1459 way, and checks nicks and channels', () => {
    assert.equal(foldCase('Bob[Away]\\~'), 'bob{away}|^');
    assert.equal(parseIrcChat(' #Chan '), '#chan');
    assert.equal(parseIrcChat('Alice'), 'alice');
    assert.throws(() => parseIrcChat('#a b'), /no spaces/);
    assert.throws(() => parseIrcChat('#a,#b'), /no spaces, commas/);
    assert.throws(() => parseIrcChat('#a\u0007'), /control characters/);
    assert.throws(() => parseIrcChat('9lives'), /does not start with a digit/);
    assert.equal(ircNickProblem('x'.repeat(31)), 'it is longer than 30 characters');
    assert.equal(channelProblem(`#${'x'.repeat(64)}`), 'a channel name is 2 to 64 characters');
  });

  it('config: a host is needed, TLS by default on 6697, and unknown keys are named', () => {
    const c = parseIrcConfig({ host: 'irc.example.org' });
    assert.deepEqual([c.port, c.tls, c.maxConnections, c.idleTimeoutS, c.flood], [6697, true, 50, 0, { burst: 5, perSecond: 0.5 }]);
    assert.equal(parseIrcConfig({ host: 'irc.example.org', tls: false }).port, 6667);
    assert.throws(() => parseIrcConfig({}), /host:/);
    assert.throws(() => parseIrcConfig({ host: 'x', relay: { nick: 'a b' } }), /relay\.nick/);
    assert.throws(() => parseIrcConfig({ host: 'x', flood: { per_second: 0 } }), /flood\.per_second/);
    assert.throws(() => parseIrcConfig({ host: 'x', bogus: 1 }), /unknown key\(s\) bogus/);
  });
});

describe('IRC registry', () => {
  it('one reader per channel: the relay when it is there, else who joined first; our own nicks are known', () => {
    const r = new IrcRegistry(10);
    const relay = member('relay', true);
    const alice = member('alice');
    const bob = member('bob');
    for (const m of [alice, bob, relay]) r.opening(m);
    r.joinedChannel(alice, '#Chan');
    r.joinedChannel(bob, '#chan');
    assert.deepEqual([r.isReader(alice, '#chan'), r.isReader(bob, '#chan')], [true, false]);
    r.joinedChannel(relay, '#CHAN');
    assert.deepEqual([r.isReader(alice, '#chan'), r.isReader(relay, '#chan')], [false, true]);
    r.leftChannel(relay, '#chan');
    r.closed(alice);
    assert.equal(r.isReader(bob, '#chan'), true, 'the next one takes over');
    r.setNick(bob, 'Bob');
    assert.equal(r.isOwnNick('BOB'), true);
    r.setNick(bob, 'bob_');
    assert.deepEqual([r.isOwnNick('bob'), r.isOwnNick('Bob_')], [false, true]);
  });

  it('past max_connections the least recently active personal connection is closed; relays do not count', () => {
    let clock = 0;
    const evicted: string[] = [];
    const r = new IrcRegistry(2, () => clock);
    const [relay, a, b, c] = [member('relay', true, evicted), member('a', false, evicted), member('b', false, evicted), member('c', false, evicted)];
    r.opening(relay);
    r.opening(a);
    clock = 10;
    r.opening(b);
    clock = 20;
    r.touch(a);
    clock = 30;
    r.opening(c);
    assert.equal(evicted.length, 1);
    assert.match(evicted[0]!, /^b: closed to stay within this bridge's 2 connections/);
  });
});

describe('IRC lines in', () => {
  const ctx = (over: Partial<InboundContext> = {}): InboundContext => ({
    ownNick: () => 'alice', isOwnNick: (n) => ['alice', 'switchboard'].includes(foldCase(n)), isReader: () => true, members: () => new Set(['ian', 'zoe']), relay: false,
    senderOf: (n) => ({ id: userIdOf(n), name: n }), ...over,
  });
  let n = 0;
  const counter = () => ++n;

  it('a channel line: sender, formatting, a leading nick as a mention, a reply tag, the server id', () => {
    const ev = lineToEvent({ kind: 'text', nick: 'Zoe', target: '#Lobby', message: 'ian: \x02look\x02', tags: { msgid: 'abc', '+draft/reply': 'xyz' }, time: 5 }, ctx(), counter)!;
    assert.deepEqual(ev, {
      type: 'message', chat: { id: '#lobby', kind: 'group' }, id: 'abc', sender: { id: 'zoe', name: 'Zoe' },
      content: { kind: 'text', text: 'ian: look', spans: [{ kind: 'mention', offset: 0, length: 3, user: 'ian' }, { kind: 'bold', offset: 5, length: 4 }] },
      replyTo: 'xyz', timestamp: 5,
    });
  });

  it('not reported: our own nicks, channels another connection reads, private messages to the relay or to someone else, empty text', () => {
    const base = { kind: 'text' as const, tags: {} };
    assert.equal(lineToEvent({ ...base, nick: 'Switchboard', target: '#lobby', message: 'from Matrix' }, ctx(), counter), undefined);
    assert.equal(lineToEvent({ ...base, nick: 'ian', target: '#lobby', message: 'hi' }, ctx({ isReader: () => false }), counter), undefined);
    assert.equal(lineToEvent({ ...base, nick: 'ian', target: 'switchboard', message: 'hi' }, ctx({ relay: true, ownNick: () => 'switchboard' }), counter), undefined);
    assert.equal(lineToEvent({ ...base, nick: 'ian', target: 'carol', message: 'hi' }, ctx(), counter), undefined);
    assert.equal(lineToEvent({ ...base, nick: 'ian', target: '#lobby', message: '\x02\x0304\x02' }, ctx(), counter), undefined);
    assert.equal(lineToEvent({ ...base, nick: 'ian', target: 'alice', message: 'psst' }, ctx(), counter)?.chat.kind, 'dm');
  });

  it('ids: the server\'s msgid; without one, stable for a replayed line (server-time); else unique', () => {
    const l = { nick: 'ian', target: '#lobby', message: 'hi', tags: { time: '2026-12-01T10:00:00.000Z' } };
    assert.equal(messageId({ ...l, tags: { msgid: 'm1' } }, counter), 'm1');
    assert.equal(messageId(l, counter), messageId({ ...l, nick: 'IAN' }, counter), 'a replay has the same id');
    assert.notEqual(messageId(l, counter), messageId({ ...l, message: 'hi!' }, counter));
    assert.notEqual(messageId({ ...l, tags: {} }, counter), messageId({ ...l, tags: {} }, counter));
  });
});

describe('IRC bytes on the wire', () => {
  it('a field is UTF-8 when it is valid UTF-8, else Latin-1', () => {
    assert.equal(fromWire(toWire('grüße 😀')), 'grüße 😀');
    assert.equal(fromWire(Buffer.from([0x67, 0x72, 0xfc, 0xdf, 0x65]).toString('latin1')), 'grüße', 'Latin-1 from an old client');
    assert.equal(fromWire('plain'), 'plain');
  });

  it('no CR, LF or NUL in any parameter or tag ever reaches the wire', () => {
    const raw = line('PRIVMSG', ['#chan', 'hi\r\nQUIT :owned\u0000'], { '+draft/reply': 'a\r\nb' }).to1459();
    assert.doesNotMatch(raw, /[\r\n\u0000]/);
    assert.equal(raw, '@+draft/reply=ab PRIVMSG #chan :hi  QUIT :owned ');
  });
});

describe('IRC channel events', () => {
  /** listenForEvents on a stand-in client: the events irc-framework would emit, and what the core gets. */
  function channelOf(graceMs = 50, caps: string[] = []) {
    const client = new EventEmitter();
    const events: RemoteEvent[] = [];
    const registry = new IrcRegistry(10);
    const me = member('relay', true);
    registry.opening(me);
    const channels = new Channels(['#lobby']);
    listenForEvents(client as never, {
      emit: (e) => events.push(e), log: silentLogger(), registry, member: me, channels, relay: true,
      ownNick: () => 'Switchboard', ownNickChanged: () => undefined, isOwnEcho: () => false, counter: () => 1, netsplitGraceMs: graceMs,
      accounts: new Accounts(), can: (cap) => caps.includes(cap), learnAccounts: async () => undefined,
    });
    registry.setNick(me, 'Switchboard');
    client.emit('join', { nick: 'Switchboard', channel: '#lobby' });
    client.emit('userlist', { channel: '#lobby', users: [{ nick: 'Switchboard' }, { nick: 'ian' }, { nick: 'zoe' }] });
    const members = () => events.filter((e): e is Extract<RemoteEvent, { type: 'member' }> => e.type === 'member').map((e) => `${e.user.id} ${e.change}`);
    return { client, events, members };
  }

  it('a netsplit: the quit is held, and the netjoin cancels it, so the room sees nothing', async () => {
    const { client, members } = channelOf();
    client.emit('quit', { nick: 'ian', message: 'hub.example.net leaf.example.net' });
    client.emit('join', { nick: 'ian', channel: '#lobby' });
    await sleep(80);
    assert.deepEqual(members(), []);
  });

  it('a netsplit nobody comes back from: the ghost leaves after the grace; an ordinary quit at once', async () => {
    const { client, members } = channelOf();
    client.emit('quit', { nick: 'ian', message: 'hub.example.net leaf.example.net' });
    client.emit('quit', { nick: 'zoe', message: 'Quit: bye' });
    assert.deepEqual(members(), ['zoe leave']);
    await sleep(80);
    assert.deepEqual(members(), ['zoe leave', 'ian leave']);
  });

  it('+draft/react with +draft/reply is a reaction to that message; +typing is typing', () => {
    const { client, events } = channelOf();
    client.emit('tagmsg', { nick: 'ian', target: '#lobby', tags: { '+draft/react': '👍', '+draft/reply': 'msg1' } });
    client.emit('tagmsg', { nick: 'ian', target: '#lobby', tags: { '+typing': 'active' } });
    assert.deepEqual(events.map((e) => e.type), ['reaction', 'typing']);
    assert.deepEqual(events[0], { type: 'reaction', chat: { id: '#lobby', kind: 'group' }, sender: { id: 'ian', name: 'ian' }, target: 'msg1', key: '👍' });
  });

  it('with accounts (extended-join, account-tag) a person keeps one ghost across nick changes: it is renamed, not swapped', () => {
    const { client, events, members } = channelOf(50, ['account-tag', 'extended-join']);
    client.emit('join', { nick: 'Amy', channel: '#lobby', account: 'AmyW' });
    client.emit('privmsg', { nick: 'Amy', target: '#lobby', message: 'hi', tags: { account: 'AmyW', msgid: 'm1' } });
    client.emit('nick', { nick: 'Amy', new_nick: 'Amy_away' });
    client.emit('privmsg', { nick: 'Amy_away', target: '#lobby', message: 'still me', tags: { account: 'AmyW', msgid: 'm2' } });
    const senders = () => events.filter((e): e is Extract<RemoteEvent, { type: 'message' }> => e.type === 'message').map((e) => `${e.sender.id} ${e.sender.name}`);
    assert.deepEqual(members(), ['~amyw join'], 'no leave and join for a nick change');
    assert.deepEqual(events.filter((e) => e.type === 'user-info'), [{ type: 'user-info', info: { id: '~amyw', name: 'Amy_away' } }]);
    assert.deepEqual(senders(), ['~amyw Amy', '~amyw Amy_away']);
    // Logging out of the account makes them someone else: the account's ghost leaves, the nick's joins.
    client.emit('account', { nick: 'Amy_away', account: false });
    assert.deepEqual(members(), ['~amyw join', '~amyw leave', 'amy_away join']);
    // Without an account a line (no account tag) is the nick's, and a nick change swaps ghosts as before.
    client.emit('privmsg', { nick: 'zoe', target: '#lobby', message: 'plain', tags: { msgid: 'm3' } });
    client.emit('nick', { nick: 'zoe', new_nick: 'zoe2' });
    assert.deepEqual(senders().at(-1), 'zoe zoe');
    assert.deepEqual(members().slice(-2), ['zoe leave', 'zoe2 join']);
  });

  it('a mention of an account\'s ghost is written as its last nick; unusable accounts are ignored', () => {
    const a = new Accounts();
    a.learn('Amy_away', 'AmyW');
    assert.equal(a.nickFor('~amyw'), 'Amy_away');
    assert.equal(a.nickFor('~unknown'), 'unknown');
    assert.equal(a.nickFor('zoe'), 'zoe');
    a.learn('Amy_away', false);
    assert.equal(a.idOf('Amy_away'), 'amy_away');
    a.learn('Huge', 'x'.repeat(4000));
    a.learn('Spacey', 'two words');
    assert.deepEqual([a.idOf('Huge'), a.idOf('Spacey')], ['huge', 'spacey'], 'an account no ghost id can be made of counts as none');
  });
});

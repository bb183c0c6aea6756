/**
 * The IRC adapter's own behaviour against real servers (ngircd: classic IRC, no IRCv3)
 * and a scripted one: the connection budget, idle connections, nick collisions, a server
 * restart, Latin-1 from old clients, and a server that sends junk. No Matrix here.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AdapterSession, LoginInfo } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { IrcAdapter } from '../../bridges/irc/index.js';
import { IrcPerson } from '../harness/irc-person.js';
import { Ngircd } from '../harness/ngircd.js';
import { freePort, tempDir } from '../harness/proc.js';
import { RecordingSink } from '../harness/recording-sink.js';

const person = (nick: string): LoginInfo => ({ id: loginId(`irc:@${nick}:test`), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId(nick), data: { nick } });
const text = (s: string) => ({ kind: 'text' as const, text: s });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

describe('IRC adapter against ngircd and a scripted server', { timeout: 180_000 }, () => {
  const tmp = tempDir('irc-adapter');
  let ngircd: Ngircd;
  let ian: IrcPerson;
  const sessions: AdapterSession[] = [];

  before(async () => {
    ngircd = await Ngircd.create({ dir: tmp.path });
    await ngircd.start();
    ian = await IrcPerson.connect(ngircd.port, 'ian');
    await ian.join('#room');
  });
  after(async () => {
    for (const s of sessions) await s.disconnect();
    await ian?.stop();
    await ngircd?.stop();
    tmp.remove();
  });

  function open(adapter: IrcAdapter, login: LoginInfo, extra: Record<string, unknown> = {}, port = ngircd.port) {
    const config = adapter.parseConfig({ host: '127.0.0.1', port, tls: false, flood: { burst: 20, per_second: 20 }, ...extra });
    const sink = new RecordingSink();
    const session = adapter.createSession(login, config, sink);
    sessions.push(session);
    return { session, sink };
  }

  it('past max_connections the least recently active person is closed, told why, and opens again when they write', async () => {
    const adapter = new IrcAdapter();
    const [a, b, c] = ['amy', 'ben', 'cat'].map((n) => open(adapter, person(n), { max_connections: 2 }));
    await a!.session.connect();
    await b!.session.connect();
    await a!.session.send({ type: 'message', chat: remoteChatId('ian'), content: text('amy was here') });
    await c!.session.connect();
    await until('ben closed to make room', () => b!.sink.states.some((s) => s.state === 'transient-error' && /closed to stay within this bridge's 2 connections/.test(s.reason)));
    assert.equal(a!.sink.states.at(-1)?.state, 'connected', 'amy wrote last: she stays');
    const sent = await b!.session.send({ type: 'message', chat: remoteChatId('ian'), content: text('ben is back') });
    assert.equal(sent.status, 'sent');
    await ian.waitFor((h) => h.nick === 'ben' && h.message === 'ben is back', "ben's line after reopening");
    await until('cat or amy made room for ben', () => [a!, c!].some((x) => x.sink.states.some((s) => s.state === 'transient-error')));
  });

  it('an idle personal connection closes after idle_timeout_s and reopens at the next message', async () => {
    const { session, sink } = open(new IrcAdapter(), person('dozy'), { idle_timeout_s: 2 });
    await session.connect();
    await until('closed for idleness', () => sink.states.some((s) => s.state === 'transient-error' && /without use/.test(s.reason)), 10_000);
    await session.send({ type: 'message', chat: remoteChatId('ian'), content: text('awake again') });
    await ian.waitFor((h) => h.nick === 'dozy' && h.message === 'awake again', "dozy's line");
  });

  it('nick in use: the relay takes nick_, a person is told and not retried', async () => {
    assert.equal(ian.client.connected, true, 'ian is still on the server');
    const relayAdapter = new IrcAdapter();
    const relayLogin: LoginInfo = { id: loginId('irc:relay'), network: networkId('irc'), kind: 'relay', data: { nick: 'ian' } };
    const relay = open(relayAdapter, relayLogin, { relay: { nick: 'ian' } });
    await relay.session.connect();
    assert.match(relay.sink.logged.find((l) => /irc connected/.test(l)) ?? '', /"nick":"ian_"/);
    const taken = open(new IrcAdapter(), person('ian'));
    await assert.rejects(taken.session.connect(), /the nick ian is in use/);
    assert.equal(taken.sink.states.at(-1)?.state, 'bad-credentials');
  });

  it('Latin-1 from an old client arrives as text; a server restart is survived: the connection comes back and rejoins', async () => {
    const adapter = new IrcAdapter();
    const { session, sink } = open(adapter, person('eve'));
    await session.connect();
    await session.getChatInfo(remoteChatId('#room'));
    ian.client.raw(`PRIVMSG eve :${Buffer.from([0x67, 0x72, 0xfc, 0xdf, 0x65]).toString('latin1')}`);
    // irc-framework writes the string as UTF-8 itself: send the raw bytes from a socket instead.
    const raw = await rawClient(ngircd.port, 'oldie');
    raw.write(Buffer.concat([Buffer.from('PRIVMSG eve :'), Buffer.from([0x67, 0x72, 0xfc, 0xdf, 0x65]), Buffer.from('\r\n')]));
    const dm = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'message' }> => e.type === 'message' && e.sender.id === 'oldie', 'a Latin-1 line');
    assert.equal(dm.content.text, 'grüße');
    raw.destroy();

    await ngircd.stop();
    await ngircd.start();
    await until('eve reconnected', () => sink.states.filter((s) => s.state === 'connected').length >= 2, 60_000);
    const ian2 = await IrcPerson.connect(ngircd.port, 'ian2');
    await ian2.join('#room');
    await until('eve back in #room', () => ian2.heard.some((h) => h.command === 'join' && h.nick === 'eve') || true);
    await session.send({ type: 'message', chat: remoteChatId('#room'), content: text('after the restart') });
    await ian2.waitFor((h) => h.nick === 'eve' && h.target === '#room' && h.message === 'after the restart', "eve's line after the restart");
    await ian2.stop();
    ian = await IrcPerson.connect(ngircd.port, 'ian');
  });

  describe('a server that sends junk', () => {
    let server: Server;
    let port: number;
    const junk = [
      ':bad PRIVMSG', 'PRIVMSG #x :no prefix', `:${'n'.repeat(500)}!u@h PRIVMSG junky :a 500-byte nick`, ':x!y@z PRIVMSG junky :\u0000\u0001\u0002',
      '@' + 'a=b;'.repeat(2000) + ' :x!y@z PRIVMSG junky :many tags', ':x!y@z 999', '\u00ff\u00fe garbage', ':x!y@z PRIVMSG junky :after the junk',
    ];
    before(async () => {
      port = await freePort();
      server = createServer((sock: Socket) => {
        sock.on('data', (d) => {
          if (/^USER /m.test(d.toString())) {
            sock.write(':scripted 001 junky :Welcome\r\n:scripted 376 junky :End of MOTD\r\n');
            setTimeout(() => sock.write(junk.map((l) => `${l}\r\n`).join('')), 100);
          }
        });
      });
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('is logged and survived: the next good line still arrives, nothing crashes', async () => {
      const { session, sink } = open(new IrcAdapter(), person('junky'), {}, port);
      await session.connect();
      const ev = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'message' }> => e.type === 'message' && e.content.text === 'after the junk', 'the good line after the junk');
      assert.equal(ev.sender.id, 'x');
      for (const e of sink.events) if (e.type === 'message') assert.ok(e.content.text.isWellFormed() && !/[\u0000-\u001f]/.test(e.content.text));
    });
  });
});

/** A bare socket that registers as `nick`, for bytes irc-framework would not send. */
async function rawClient(port: number, nick: string): Promise<Socket> {
  const { connect } = await import('node:net');
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => {
    let buf = '';
    sock.on('data', (d) => { buf += d.toString('latin1'); if (/ 001 /.test(buf)) resolve(); });
    sock.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
  });
  return sock;
}

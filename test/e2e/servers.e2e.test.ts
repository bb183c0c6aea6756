/**
 * The test servers themselves: Prosody and ngircd are usable the way the XMPP and IRC
 * adapters will use them, and a server that cannot start fails with its own log tail.
 * Protocol exchanges are written out by hand here on purpose: they check the servers,
 * not a client library.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Ngircd } from '../harness/ngircd.js';
import { spawnServer, tempDir, waitReady } from '../harness/proc.js';
import { Prosody } from '../harness/prosody.js';
import { Synapse } from '../harness/synapse.js';
import { Conversation } from '../harness/tcp.js';

const streamHeader = (domain: string) => `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

/** Log in over STARTTLS (certificate verified against the harness CA) with SASL PLAIN. */
async function xmppLogin(p: Prosody, user: string, password: string): Promise<{ conv: Conversation; ok: boolean; close(): void }> {
  const raw = tcpConnect({ port: p.c2sPort, host: '127.0.0.1' });
  await once(raw, 'connect');
  const plain = new Conversation(raw);
  plain.send(streamHeader(p.domain));
  await plain.expect(/<starttls[^>]*urn:ietf:params:xml:ns:xmpp-tls/);
  await plain.expect(/<\/stream:features>/);
  plain.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  await plain.expect(/<proceed/);
  raw.removeAllListeners('data');
  const secure = tlsConnect({ socket: raw, servername: p.domain, ca: readFileSync(p.certFile) });
  await once(secure, 'secureConnect');
  const conv = new Conversation(secure);
  conv.send(streamHeader(p.domain));
  await conv.expect(/<mechanism>PLAIN<\/mechanism>/);
  await conv.expect(/<\/stream:features>/);
  conv.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
  const m = await conv.expect(/<(success|failure)/);
  return { conv, ok: m[1] === 'success', close: () => secure.destroy() };
}

describe('test servers', { timeout: 120_000 }, () => {
  const tmp = tempDir('servers');
  let prosody: Prosody;
  let ngircd: Ngircd;

  before(async () => {
    for (const d of ['prosody', 'ngircd']) mkdirSync(join(tmp.path, d));
    prosody = await Prosody.create({ dir: join(tmp.path, 'prosody') });
    ngircd = await Ngircd.create({ dir: join(tmp.path, 'ngircd') });
    await Promise.all([prosody.start(), ngircd.start()]);
  });

  after(async () => {
    await Promise.all([prosody?.stop(), ngircd?.stop()]);
    tmp.remove();
  });

  it('Prosody: a registered user logs in over verified TLS, binds, and finds the MUC component', async () => {
    const alice = prosody.register('alice');
    const s = await xmppLogin(prosody, 'alice', alice.password);
    assert.equal(s.ok, true, 'SASL PLAIN succeeded');
    s.conv.send(streamHeader(prosody.domain));
    await s.conv.expect(/<\/stream:features>/);
    s.conv.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    const [, jid] = await s.conv.expect(/<jid>([^<]+)<\/jid>/);
    assert.match(jid!, /^alice@xmpp\.test\/.+/);
    s.conv.send(`<iq type='get' id='disco1' to='${prosody.mucDomain}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    await s.conv.expect(/category=['"]conference['"]/);
    s.close();
  });

  it('Prosody: a wrong password is refused', async () => {
    prosody.register('bob');
    const s = await xmppLogin(prosody, 'bob', 'not-the-password');
    assert.equal(s.ok, false);
    s.close();
  });

  it('ngircd: two clients register, join a channel and talk without flood delay', async () => {
    const clients = await Promise.all(['amy', 'ben'].map(async (nick) => {
      const sock = tcpConnect({ port: ngircd.port, host: '127.0.0.1' });
      await once(sock, 'connect');
      const c = new Conversation(sock);
      c.send(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
      await c.expect(new RegExp(` 001 ${nick} `));
      c.send('JOIN #switchboard\r\n');
      await c.expect(/ 366 /); // end of NAMES: joined
      return { c, sock };
    }));
    const [amy, ben] = clients as [(typeof clients)[0], (typeof clients)[0]];
    for (let i = 0; i < 20; i++) amy.c.send(`PRIVMSG #switchboard :line ${i}\r\n`);
    await ben.c.expect(/PRIVMSG #switchboard :line 19/, 3000);
    for (const { sock } of clients) sock.destroy();
  });

  it('a server that cannot start fails with its own log, not a timeout', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dir = join(tmp.path, 'synapse-busy');
    mkdirSync(dir);
    const synapse = await Synapse.create({ dir, port });
    try {
      await assert.rejects(synapse.start(), (err: Error) => {
        assert.match(err.message, /^synapse exited \(\d+\) before GET http:\/\/127\.0\.0\.1:\d+\/health; its log \(.*homeserver\.log\) ends:/);
        assert.match(err.message, /Address already in use/);
        return true;
      });
    } finally {
      await synapse.stop();
      blocker.close();
    }

    const proc = spawnServer('broken', process.execPath, ['-e', "console.error('config key frobnicate is wrong'); process.exit(3)"], { logFile: join(tmp.path, 'broken.log') });
    await assert.rejects(waitReady(proc, 'ready', async () => false, 30_000), /broken exited \(3\) before ready.*\n[^]*config key frobnicate is wrong/);
  });
});

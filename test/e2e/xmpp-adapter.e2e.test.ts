/**
 * Parts of the XMPP adapter against a real Prosody, without Matrix: login refusals,
 * MUC self-ping (XEP-0410), PEP avatars (XEP-0084), and a chat that jumps the archive
 * catch-up's queue (XEP-0313 `with`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError, createConnection, type XmppConnection } from '../../bridges/xmpp/connection.js';
import { Muc } from '../../bridges/xmpp/muc.js';
import { fetchPepAvatar } from '../../bridges/xmpp/pep-avatar.js';
import { createHash } from 'node:crypto';
import xml from '@xmpp/xml';
import { silentLogger } from '../../core/log.js';
import { History, type HistoryState } from '../../bridges/xmpp/history.js';
import type { Element } from '@xmpp/xml';
import { XmppPerson } from '../harness/xmpp-person.js';
import { tempDir } from '../harness/proc.js';
import { Prosody } from '../harness/prosody.js';

describe('XMPP adapter against Prosody', { timeout: 120_000 }, () => {
  let prosody: Prosody;
  let tmp: { path: string; remove: () => void };
  const connect = (user: string, password: string) => {
    const conn = createConnection({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: prosody.domain, resource: 'test', caFile: prosody.certFile, credentials: { username: user, password } });
    conn.client.on('error', () => undefined);
    return conn;
  };

  before(async () => {
    tmp = tempDir('xmpp-adapter');
    prosody = await Prosody.create({ dir: tmp.path });
    await prosody.start();
    prosody.register('sb', 'sb-pw');
    prosody.register('dora', 'dora-pw');
    prosody.registerMany([{ user: 'mo', password: 'mo-pw' }, { user: 'busy', password: 'busy-pw' }, { user: 'quiet', password: 'quiet-pw' }]);
  });
  after(async () => {
    await prosody?.stop();
    tmp?.remove();
  });

  it('a wrong password is an authentication error (not-authorized), not a network one', async () => {
    const { client } = connect('sb', 'wrong');
    await assert.rejects(client.start(), (err: unknown) => err instanceof AuthError && err.condition === 'not-authorized');
    await client.stop().catch(() => undefined);
  });

  it('self-ping tells a joined room from one that no longer has us', async () => {
    const conn: XmppConnection = connect('sb', 'sb-pw');
    conn.client.on('stanza', (st) => { if (st.is('presence')) muc.onPresence(st); });
    const muc = new Muc('sb', () => conn, silentLogger());
    await conn.client.start();
    const room = `ping@${prosody.mucDomain}`;
    await muc.join(room);
    assert.equal(await muc.stillJoined(room), true);
    // The room knows nothing of this nick: what a silently dropped occupant looks like.
    (muc.joined as Map<string, string>).set(`other@${prosody.mucDomain}`, 'sb');
    assert.equal(await muc.stillJoined(`other@${prosody.mucDomain}`), false);
    await conn.client.stop();
  });

  it('reads a PEP avatar (XEP-0084), and refuses one whose bytes do not match its id', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const dora = connect('dora', 'dora-pw');
    const sb = connect('sb', 'sb-pw');
    await dora.client.start();
    await sb.client.start();
    const open = xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
      xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'open'))));
    const publish = (dataId: string, metaId: string, bytes: Buffer) => [
      xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('publish', { node: 'urn:xmpp:avatar:data' }, xml('item', { id: dataId }, xml('data', { xmlns: 'urn:xmpp:avatar:data' }, bytes.toString('base64')))), open),
      xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('publish', { node: 'urn:xmpp:avatar:metadata' }, xml('item', { id: metaId }, xml('metadata', { xmlns: 'urn:xmpp:avatar:metadata' }, xml('info', { id: metaId, bytes: String(bytes.length), type: 'image/png', width: '1', height: '1' })))), open),
    ];
    const sha1 = createHash('sha1').update(png).digest('hex');
    for (const p of publish(sha1, sha1, png)) await dora.iq.ask('set', undefined, p);
    const avatar = await fetchPepAvatar(sb, `dora@${prosody.domain}`);
    assert.equal(avatar?.mime, 'image/png');
    assert.deepEqual(Buffer.from((avatar!.source as { bytes: Uint8Array }).bytes), png);
    // Metadata that names other bytes than the data node holds: not used.
    const other = createHash('sha1').update('something else').digest('hex');
    for (const p of publish(other, other, png)) await dora.iq.ask('set', undefined, p);
    assert.equal(await fetchPepAvatar(sb, `dora@${prosody.domain}`), undefined);
    await dora.client.stop();
    await sb.client.stop();
  });

  it("a contact who writes during the catch-up of another's backlog is handed over before that backlog ends, after their own archived messages", async () => {
    const busy = await XmppPerson.connect(prosody, 'busy', 'busy-pw', { streamManagement: false });
    const quiet = await XmppPerson.connect(prosody, 'quiet', 'quiet-pw', { streamManagement: false });
    const me = `mo@${prosody.domain}`;
    const ping = xml('ping', { xmlns: 'urn:xmpp:ping' });
    // A first catch-up leaves mo's archive position after a message (an archive id), as a running bridge's is.
    await busy.say(me, 'before');
    await busy.iq('get', undefined, ping);
    let position: HistoryState | undefined;
    {
      const first = connect('mo', 'mo-pw');
      const history = new History({ own: { since: new Date(Date.now() - 60_000).toISOString() } }, { self: me, log: silentLogger(), save: async (state) => { position = state; }, handle: async () => undefined });
      first.client.on('stanza', (st) => void history.intercept(st));
      await first.client.start();
      await history.catchUp(first, []);
      await first.client.stop();
    }
    assert.ok(position?.own?.after, 'an archive id');
    // While mo is away: 600 from busy, two from quiet (Prosody archives them all).
    for (let i = 0; i < 600; i++) await busy.say(me, `busy ${i}`);
    for (const text of ['quiet 0', 'quiet 1']) await quiet.say(me, text);
    // A sent stanza is only written to the socket: a ping's answer says Prosody has handled (archived) what came before it.
    await busy.iq('get', undefined, ping);
    await quiet.iq('get', undefined, ping);
    const handled: string[] = [];
    const seen = new Set<string>();
    let liveSent = false;
    const conn = connect('mo', 'mo-pw');
    const history: History = new History(position, {
      self: me,
      log: silentLogger(),
      save: async () => undefined,
      async handle(stanza: Element) {
        await new Promise((r) => setTimeout(r, 2)); // as the core takes a moment (a commit) with each
        const text = stanza.getChildText('body');
        // As the core does: a repeat (same message id) is dropped.
        if (text === null || seen.has(String(stanza.attrs.id))) return;
        seen.add(String(stanza.attrs.id));
        handled.push(text);
        // quiet writes, live, once the catch-up is under way.
        if (text === 'busy 50' && !liveSent) {
          liveSent = true;
          await quiet.say(me, 'quiet live');
        }
      },
    });
    // As the session does: every stanza to the history first; a message it does not hold is handled at once.
    conn.client.on('stanza', (st) => { if (!history.intercept(st) && st.is('message')) void history['deps'].handle(st); });
    history.hold();
    await conn.client.start();
    await conn.client.send(xml('presence')); // available: Prosody routes live messages to us
    await history.catchUp(conn, []);
    await conn.client.stop();
    await busy.stop();
    await quiet.stop();
    const quietOnes = handled.filter((b) => b.startsWith('quiet'));
    assert.deepEqual(quietOnes, ['quiet 0', 'quiet 1', 'quiet live'], 'quiet: in order, each once');
    const at = handled.indexOf('quiet live');
    assert.ok(at < handled.indexOf('busy 599'), `quiet's live message (at ${at}) before busy's backlog ended`);
    const busyOnes = handled.filter((b) => b.startsWith('busy')).map((b) => Number(b.split(' ')[1]));
    assert.deepEqual(busyOnes, Array.from({ length: 600 }, (_, i) => i), 'busy: all 600, in order, each once');
  });
});

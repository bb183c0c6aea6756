/**
 * Parts of the XMPP adapter against a real Prosody, without Matrix: login refusals and
 * MUC self-ping (XEP-0410).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError, createConnection, type XmppConnection } from '../../bridges/xmpp/connection.js';
import { Muc } from '../../bridges/xmpp/muc.js';
import { silentLogger } from '../../core/log.js';
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
});

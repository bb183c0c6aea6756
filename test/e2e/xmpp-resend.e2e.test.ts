/**
 * Exactly once across a crash, against a real Prosody MUC with its archive (XEP-0313):
 * a send carries the core's Delivery key as its origin id (XEP-0359); when the core
 * retries one that may already have gone (`maybeSent`), the session looks for our own
 * message with that origin id in the room's archive before sending again
 * (bridges/xmpp/sent-lookup.ts). Someone else's message with the same origin id does not
 * count, and a backlog of such retries reads the archive once, not once per send.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterSession, LoginInfo } from '../../core/adapter.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { XmppAdapter } from '../../bridges/xmpp/index.js';
import { tempDir } from '../harness/proc.js';
import { Prosody } from '../harness/prosody.js';
import { RecordingSink } from '../harness/recording-sink.js';
import { XmppPerson } from '../harness/xmpp-person.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('XMPP: a send retried after a crash is not sent twice (MUC archive)', { timeout: 120_000 }, () => {
  const tmp = tempDir('xmpp-resend');
  let prosody: Prosody;
  let pia: XmppPerson;
  let room: string;
  const sessions: AdapterSession[] = [];

  before(async () => {
    prosody = await Prosody.create({ dir: tmp.path });
    await prosody.start();
    prosody.register('sb', 'sb-pw');
    prosody.register('pia', 'pia-pw');
    room = `resend@${prosody.mucDomain}`;
    pia = await XmppPerson.connect(prosody, 'pia', 'pia-pw', { streamManagement: false });
    await pia.joinMuc(room, 'pia');
  });
  after(async () => {
    for (const s of sessions) await s.disconnect();
    await pia?.stop();
    await prosody?.stop();
    tmp.remove();
  });

  const session = () => {
    const adapter = new XmppAdapter();
    const config = adapter.parseConfig({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, tls_ca_file: prosody.certFile, relay: { jid: `sb@${prosody.domain}`, password: 'sb-pw' } });
    const login: LoginInfo = { id: loginId('xmpp:relay'), network: networkId('xmpp'), kind: 'relay', remoteUser: remoteUserId(`sb@${prosody.domain}`), data: { jid: `sb@${prosody.domain}`, mucs: [room] } };
    const s = adapter.createSession(login, config, new RecordingSink());
    sessions.push(s);
    return s;
  };
  const message = (text: string) => ({ type: 'message' as const, chat: remoteChatId(room), content: { kind: 'text' as const, text } });
  const heard = (text: string) => pia.stanzas.filter((s) => s.is('message') && s.getChildText('body') === text && !String(s.attrs.from).endsWith('/pia'));

  it("the retry finds its first send and reports the room's id for it; one that never went goes, also when someone else posted its origin id", async () => {
    const since = Date.now();
    const first = session();
    await first.connect();
    const sent = await first.send(message('once only'), { key: 'k1-once', maybeSent: false, since });
    assert.equal(sent.status, 'sent');
    await pia.waitFor((s) => s.getChildText('body') === 'once only', 'the first send');
    await first.disconnect(); // the bridge died before it recorded the send

    // Someone who can work out a pending send's origin id posts it first.
    await pia.say(room, 'not the bridge', { type: 'groupchat', id: 'k3-claimed' });
    await pia.waitFor((s) => s.getChildText('body') === 'not the bridge', 'the impostor message reflected');

    const second = session();
    await second.connect();
    const retried = await second.send(message('once only'), { key: 'k1-once', maybeSent: true, since });
    assert.deepEqual(retried, sent, 'the retry reports the first send (the MUC\'s stanza id)');
    const fresh = await second.send(message('never went before'), { key: 'k2-fresh', maybeSent: true, since });
    assert.equal(fresh.status, 'sent');
    const claimed = await second.send(message('claimed by someone else'), { key: 'k3-claimed', maybeSent: true, since });
    assert.equal(claimed.status, 'sent');
    await pia.waitFor((s) => s.getChildText('body') === 'claimed by someone else', 'the send whose origin id someone else had used');
    await pia.waitFor((s) => s.getChildText('body') === 'never went before', 'the send that had not gone');
    await sleep(500);
    assert.equal(heard('once only').length, 1, 'pia saw it once');
  });

  it('a backlog of retried sends each goes once, in order', async () => {
    const since = Date.now();
    const s = session();
    await s.connect();
    // Half of a backlog went out before a crash, half did not: all are retried as maybe sent.
    for (let i = 0; i < 20; i += 2) await s.send(message(`backlog ${i}`), { key: `b${i}`, maybeSent: false, since });
    await s.disconnect();
    const again = session();
    await again.connect();
    for (let i = 0; i < 20; i++) await again.send(message(`backlog ${i}`), { key: `b${i}`, maybeSent: true, since });
    await pia.waitFor((st) => st.getChildText('body') === 'backlog 19', 'the last of the backlog');
    await sleep(500);
    const order = pia.stanzas.filter((st) => /^backlog \d+$/.test(st.getChildText('body') ?? '') && !String(st.attrs.from).endsWith('/pia')).map((st) => Number(st.getChildText('body')!.split(' ')[1]));
    assert.deepEqual(order, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19], 'each once: the ones that had gone were not sent again');
  });
});

/**
 * Exactly once across a crash, against a real InspIRCd 3: a message's first line carries
 * the core's Delivery key as a client tag; when the core retries a send that may already
 * have gone (`maybeSent`), the connection looks for that key in what the server showed it
 * (the echo, or the channel history InspIRCd replays on join) before sending again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdapterSession, LoginInfo } from '../../core/adapter.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { IrcAdapter } from '../../bridges/irc/index.js';
import { DELIVERY_TAG } from '../../bridges/irc/echoes.js';
import { Inspircd } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { tempDir } from '../harness/proc.js';
import { RecordingSink } from '../harness/recording-sink.js';

const login: LoginInfo = { id: loginId('irc:@sender:test'), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId('sender'), data: { nick: 'sender', channels: ['#resend'] } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IRC: a send retried after a crash is not sent twice (InspIRCd history)', { timeout: 120_000 }, () => {
  const tmp = tempDir('irc-resend');
  let ircd: Inspircd;
  let pia: IrcPerson;
  const sessions: AdapterSession[] = [];
  before(async () => {
    ircd = await Inspircd.create({ dir: tmp.path });
    await ircd.start();
    pia = await IrcPerson.connect(ircd.port, 'pia');
    await pia.join('#resend');
  });
  after(async () => {
    for (const s of sessions) await s.disconnect();
    await pia?.stop();
    await ircd?.stop();
    tmp.remove();
  });

  const session = () => {
    const adapter = new IrcAdapter();
    const s = adapter.createSession(login, adapter.parseConfig({ host: '127.0.0.1', port: ircd.port, tls: false, flood: { burst: 20, per_second: 20 } }), new RecordingSink());
    sessions.push(s);
    return s;
  };
  const lines = (text: string) => pia.heard.filter((h) => h.command === 'privmsg' && h.nick === 'sender' && h.message === text);
  const message = (text: string) => ({ type: 'message' as const, chat: remoteChatId('#resend'), content: { kind: 'text' as const, text } });

  it('the retry after a restart finds its key in the replayed history and reports the first send\'s id; a send that never went goes', async () => {
    const since = Date.now();
    const first = session();
    await first.connect();
    const sent = await first.send(message('once only'), { key: 'k1-once', maybeSent: false, since });
    const seen = await pia.waitFor((h) => h.command === 'privmsg' && h.message === 'once only', 'the first send');
    assert.equal(seen.tags[DELIVERY_TAG], 'k1-once', 'the key rides the line');
    assert.equal(sent.status === 'sent' && sent.remoteId, seen.tags.msgid, 'its id is the server\'s msgid (echo-message)');
    await first.disconnect(); // the bridge died before it recorded the send

    const second = session();
    await second.connect();
    const retried = await second.send(message('once only'), { key: 'k1-once', maybeSent: true, since });
    assert.equal(retried.status === 'sent' && retried.remoteId, seen.tags.msgid, 'the retry reports the first send');
    const fresh = await second.send(message('never went before'), { key: 'k2-fresh', maybeSent: true, since });
    assert.equal(fresh.status, 'sent');
    await pia.waitFor((h) => h.command === 'privmsg' && h.message === 'never went before', 'the send that had not gone');
    await sleep(500);
    assert.equal(lines('once only').length, 1, 'pia saw it once');
  });
});

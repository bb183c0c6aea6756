/**
 * IRC logins with a password, against real services: InspIRCd 3 with Atheme linked
 * (NickServ registers the account, SaslServ answers SASL PLAIN). The login flow a person
 * runs (`login irc`), a session that identifies with SASL, and the refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IrcAdapter } from '../../bridges/irc/index.js';
import { loginId, networkId, remoteUserId } from '../../core/ids.js';
import { Inspircd } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { tempDir } from '../harness/proc.js';
import { RecordingSink } from '../harness/recording-sink.js';
import type { RemoteEvent } from '../../core/events.js';

describe('IRC SASL against InspIRCd and Atheme', { timeout: 120_000 }, () => {
  const tmp = tempDir('irc-sasl');
  let ircd: Inspircd;
  const adapter = new IrcAdapter();
  let config: ReturnType<IrcAdapter['parseConfig']>;

  before(async () => {
    ircd = await Inspircd.create({ dir: tmp.path, services: true });
    await ircd.start();
    await ircd.registerAccount('sam', 'sam-secret-pw');
    config = adapter.parseConfig({ host: '127.0.0.1', port: ircd.port, tls: false });
  });
  after(async () => {
    await ircd?.stop();
    tmp.remove();
  });

  it('login irc with the right password completes; a wrong one, or a registered nick without one, is refused with the reason', async () => {
    const run = async (nick: string, password: string) => {
      const flow = adapter.startLogin(config);
      await flow.start();
      return flow.submit({ nick, password });
    };
    const ok = await run('sam', 'sam-secret-pw');
    assert.equal(ok.type, 'complete');
    assert.deepEqual(ok.type === 'complete' && ok.data, { nick: 'sam', sasl: { account: 'sam', password: 'sam-secret-pw' }, channels: [] });
    assert.deepEqual(await run('sam', 'wrong'), { type: 'failed', reason: 'the network refused that nick and password (SASL)' });
  });

  it('a session identifies with SASL: the server knows its account (account-tag on its lines)', async () => {
    const peer = await IrcPerson.connect(ircd.port, 'peer');
    const sink = new RecordingSink();
    const session = adapter.createSession({ id: loginId('irc:@sam:test'), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId('sam'), data: { nick: 'sam', sasl: { account: 'sam', password: 'sam-secret-pw' } } }, config, sink);
    try {
      await session.connect();
      await session.send({ type: 'message', chat: 'peer' as never, content: { kind: 'text', text: 'identified' } });
      const got = await peer.waitFor((h) => h.command === 'privmsg' && h.nick === 'sam' && h.message === 'identified', "sam's line");
      assert.equal(got.tags.account, 'sam', 'the line carries the account (IRCv3 account-tag)');
    } finally {
      await session.disconnect();
      await peer.stop();
    }
    const wrong = new RecordingSink();
    const refused = adapter.createSession({ id: loginId('irc:@sam2:test'), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId('sam'), data: { nick: 'sam', sasl: { account: 'sam', password: 'changed' } } }, config, wrong);
    await assert.rejects(refused.connect(), /SASL login failed/);
    assert.equal(wrong.states.at(-1)?.state, 'bad-credentials', 'a password that no longer works asks the person, it is not retried');
  });

  it('a person with an account keeps one ghost across nick changes (WHOX at join, extended-join, account-tag); others are their nick', async () => {
    await ircd.registerAccount('nora', 'nora-secret-pw');
    const nora = await IrcPerson.connect(ircd.port, 'nora', { sasl: { account: 'nora', password: 'nora-secret-pw' } });
    await nora.join('#acct');
    const sink = new RecordingSink();
    const relay = adapter.createSession({ id: loginId('irc:relay'), network: networkId('irc'), kind: 'relay', data: { nick: 'Switchboard' } }, config, sink);
    const walt = await IrcPerson.connect(ircd.port, 'walt');
    try {
      await relay.connect();
      const info = await relay.getChatInfo('#acct' as never);
      assert.deepEqual(info.members, ['~nora'], 'nora was there before us: WHOX told her account');
      nora.say('#acct', 'hello as nora');
      const first = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'message' }> => e.type === 'message' && e.content.text === 'hello as nora', "nora's line");
      assert.deepEqual(first.sender, { id: '~nora', name: 'nora' });
      nora.raw('NICK nora_away');
      await sink.waitFor((e) => e.type === 'user-info', "nora's ghost renamed");
      nora.say('#acct', 'still nora');
      const second = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'message' }> => e.type === 'message' && e.content.text === 'still nora', "nora's line after the nick change");
      assert.deepEqual(second.sender, { id: '~nora', name: 'nora_away' });
      assert.deepEqual(sink.events.filter((e) => e.type === 'user-info'), [{ type: 'user-info', info: { id: '~nora', name: 'nora_away' } }]);
      assert.ok(!sink.events.some((e) => e.type === 'member' && e.user.id !== 'walt'), 'no ghost left or joined for the nick change');
      await walt.join('#acct');
      const joined = await sink.waitFor((e): e is Extract<RemoteEvent, { type: 'member' }> => e.type === 'member' && e.change === 'join', "walt's join");
      assert.deepEqual(joined.user, { id: 'walt', name: 'walt' }, 'no account: the nick is the id');
    } finally {
      await relay.disconnect();
      await walt.stop();
      await nora.stop();
    }
  });
});

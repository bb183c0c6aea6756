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
});

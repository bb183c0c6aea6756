/**
 * The contract suite for the XMPP federation gateway: a Matrix user's address on a real
 * Prosody's component (XEP-0114) on 127.0.0.1, an XMPP person as the peer.
 */
import { GatewayAdapter } from '../../bridges/xmppgw/index.js';
import { localpartOfMatrixUser } from '../../bridges/xmppgw/addresses.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { tempDir } from '../harness/proc.js';
import { Prosody } from '../harness/prosody.js';
import { RecordingSink } from '../harness/recording-sink.js';
import { XmppPerson } from '../harness/xmpp-person.js';
import { adapterContract } from './suite.js';

adapterContract('xmppgw', async () => {
  const tmp = tempDir('contract-xmppgw');
  const prosody = await Prosody.create({ dir: tmp.path });
  await prosody.start();
  prosody.register('peer', 'peer-password');
  const peer = await XmppPerson.connect(prosody, 'peer', 'peer-password', { streamManagement: false });
  const has = (what: string, match: Parameters<XmppPerson['waitFor']>[0]) => peer.waitFor(match, what).then(() => undefined);
  const adapter = new GatewayAdapter();
  const rawConfig = { component: prosody.gatewayDomain, server: `127.0.0.1:${prosody.componentPort}`, secret: prosody.gatewaySecret };
  // The network's component link opens in start(), before any session connects, as in the engine.
  await adapter.start(adapter.parseConfig(rawConfig), new RecordingSink().log);
  const local = localpartOfMatrixUser('@me:example.org');
  const me = `${local}@${prosody.gatewayDomain}`;
  return {
    adapter,
    rawConfig,
    login: { id: loginId('xmppgw:@me:example.org'), network: networkId('xmppgw'), kind: 'puppet', remoteUser: remoteUserId(me), data: { local } },
    unknownChat: 'nothing@nowhere.invalid',
    peer: {
      chat: remoteChatId(`peer@${prosody.domain}`),
      say: async (text) => { await peer.say(me, text); },
      waitForText: (text) => has(text, (s) => s.getChildText('body') === text),
      sawEdit: (text) => has(`edit ${text}`, (s) => s.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined && s.getChildText('body') === text),
      sawDelete: () => has('a retraction', (s) => s.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined),
      sawReaction: (key) => has(`reaction ${key}`, (s) => s.getChild('reactions', 'urn:xmpp:reactions:0')?.getChildren('reaction').some((r) => r.text() === key) ?? false),
    },
    close: async () => {
      await adapter.stop();
      await peer.stop();
      await prosody.stop();
      tmp.remove();
    },
  };
});

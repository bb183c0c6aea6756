/** The contract suite for the XMPP adapter, against a real Prosody on 127.0.0.1 with an XMPP person as the peer. */
import { XmppAdapter } from '../../bridges/xmpp/index.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { tempDir } from '../harness/proc.js';
import { Prosody } from '../harness/prosody.js';
import { XmppPerson } from '../harness/xmpp-person.js';
import { adapterContract } from './suite.js';

adapterContract('xmpp', async () => {
  const tmp = tempDir('contract-xmpp');
  const prosody = await Prosody.create({ dir: tmp.path });
  await prosody.start();
  prosody.register('me', 'me-password');
  prosody.register('peer', 'peer-password');
  const peer = await XmppPerson.connect(prosody, 'peer', 'peer-password');
  const has = (what: string, match: Parameters<XmppPerson['waitFor']>[0]) => peer.waitFor(match, what).then(() => undefined);
  // The session under test is a relay login (password from config); people's logins are covered end to end.
  return {
    adapter: new XmppAdapter(),
    rawConfig: { service: `xmpp://127.0.0.1:${prosody.c2sPort}`, tls_ca_file: prosody.certFile, relay: { jid: `me@${prosody.domain}`, password: 'me-password' } },
    login: { id: loginId('xmpp:relay'), network: networkId('xmpp'), kind: 'relay', remoteUser: remoteUserId(`me@${prosody.domain}`), data: { jid: `me@${prosody.domain}` } },
    unknownChat: `nothing@nowhere.invalid`,
    peer: {
      chat: remoteChatId(`peer@${prosody.domain}`),
      say: async (text) => { await peer.say(`me@${prosody.domain}`, text); },
      waitForText: (text) => has(text, (s) => s.getChildText('body') === text),
      sawEdit: (text) => has(`edit ${text}`, (s) => s.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined && s.getChildText('body') === text),
      sawDelete: () => has('a retraction', (s) => s.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined),
      sawReaction: (key) => has(`reaction ${key}`, (s) => s.getChild('reactions', 'urn:xmpp:reactions:0')?.getChildren('reaction').some((r) => r.text() === key) ?? false),
    },
    close: async () => {
      await peer.stop();
      await prosody.stop();
      tmp.remove();
    },
  };
});

/**
 * The contract suite for the IRC adapter, against real servers on 127.0.0.1: InspIRCd 3
 * (IRCv3: echo-message, message ids, server-time, client tags) and ngircd (classic IRC,
 * none of that), with an IRC person as the peer. The session under test is a person's
 * own connection (the relay takes no private messages).
 */
import { IrcAdapter } from '../../bridges/irc/index.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { Inspircd } from '../harness/inspircd.js';
import { IrcPerson } from '../harness/irc-person.js';
import { Ngircd } from '../harness/ngircd.js';
import { tempDir } from '../harness/proc.js';
import { adapterContract } from './suite.js';

for (const server of ['inspircd', 'ngircd'] as const) {
  adapterContract(`irc (${server})`, async () => {
    const tmp = tempDir(`contract-irc-${server}`);
    const ircd = server === 'inspircd' ? await Inspircd.create({ dir: tmp.path }) : await Ngircd.create({ dir: tmp.path });
    await ircd.start();
    const peer = await IrcPerson.connect(ircd.port, 'peer');
    const heard = (what: string, text: string) => peer.waitFor((h) => h.command === 'privmsg' && h.nick.toLowerCase() === 'me' && h.message === text, what).then(() => undefined);
    return {
      adapter: new IrcAdapter(),
      rawConfig: { host: '127.0.0.1', port: ircd.port, tls: false, flood: { burst: 20, per_second: 20 } },
      login: { id: loginId('irc:@me:test'), network: networkId('irc'), kind: 'puppet', remoteUser: remoteUserId('me'), data: { nick: 'me' } },
      unknownChat: 'nobody-here',
      peer: {
        chat: remoteChatId('peer'),
        say: async (text) => peer.say('me', text),
        waitForText: (text) => heard(text, text),
        sawEdit: async () => { throw new Error('IRC has no edits'); },
        sawDelete: async () => { throw new Error('no server here has draft/message-redaction (tested against a scripted server in irc-adapter.e2e)'); },
        // InspIRCd relays client tags: the reaction is a TAGMSG naming the message.
        sawReaction: (key) => peer.waitFor((h) => h.command === 'tagmsg' && h.nick.toLowerCase() === 'me' && h.tags['+draft/react'] === key && Boolean(h.tags['+draft/reply']), `reaction ${key}`).then(() => undefined),
      },
      close: async () => {
        await peer.stop();
        await ircd.stop();
        tmp.remove();
      },
    };
  });
}

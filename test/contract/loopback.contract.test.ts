/** The contract suite for the loopback adapter (its network lives in this process). */
import { LoopbackAdapter, LoopbackWorld } from '../../bridges/loopback/index.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { adapterContract } from './suite.js';

/** Poll the world until `check` holds (the world records what sessions send synchronously). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`loopback: never saw ${what}`);
}

adapterContract('loopback', async () => {
  const world = new LoopbackWorld();
  world.addUser('peer', 'Peer');
  world.addUser('me', 'Me');
  const out = (type: string) => world.fromBridge.filter((e) => e.event.type === type).map((e) => e.event as { content?: { text: string }; key?: string });
  return {
    adapter: new LoopbackAdapter(world),
    rawConfig: {},
    login: { id: loginId('loopback:me'), network: networkId('loopback'), kind: 'puppet', remoteUser: remoteUserId('me'), data: {} },
    unknownChat: 'nobody-here',
    peer: {
      chat: remoteChatId('peer'),
      say: async (text) => { await world.dm('peer', 'me', text); },
      waitForText: (text) => until(() => out('message').some((e) => e.content?.text === text), text),
      sawEdit: (text) => until(() => out('edit').some((e) => e.content?.text === text), `edit ${text}`),
      sawDelete: () => until(() => out('delete').length > 0, 'a delete'),
      sawReaction: (key) => until(() => out('reaction').some((e) => e.key === key), `reaction ${key}`),
    },
    close: async () => undefined,
  };
});

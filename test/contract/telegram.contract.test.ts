/**
 * The contract suite for the Telegram adapter, against the Bot API emulator (no real
 * Telegram server can run offline): a personal bot login, and a person writing to it in private.
 */
import { TelegramAdapter } from '../../bridges/telegram/index.js';
import { loginId, networkId, remoteChatId, remoteUserId } from '../../core/ids.js';
import { TelegramEmulator } from '../harness/telegram/emulator.js';
import { botMessages, eventually, TelegramPeople } from '../harness/telegram/people.js';
import { adapterContract } from './suite.js';

adapterContract('telegram', async () => {
  const emu = await TelegramEmulator.start();
  const people = new TelegramPeople(emu.world);
  const bot = emu.world.addBot('contract_bot');
  const peer = emu.world.addUser('Pat', 'pat');
  const chat = () => emu.world.privateChat(peer, bot.user);
  const mine = () => botMessages(chat());
  return {
    adapter: new TelegramAdapter(),
    rawConfig: { api_root: emu.apiRoot, poll_timeout_s: 2 },
    login: { id: loginId('telegram:contract'), network: networkId('telegram'), kind: 'puppet', remoteUser: remoteUserId(String(bot.user.id)), data: { token: bot.token } },
    unknownChat: '-999',
    peer: {
      chat: remoteChatId(String(peer.id)),
      say: async (text) => { people.sayToBot(peer, bot, text); },
      waitForText: async (text) => { await eventually(() => mine().some((m) => m.text === text), `bot message "${text}"`); },
      sawEdit: async (text) => { await eventually(() => mine().some((m) => m.text === text && m.edit_date), `edit to "${text}"`); },
      sawDelete: async () => { await eventually(() => chat().deleted.size > 0, 'a deletion'); },
      sawReaction: async (key) => { await eventually(() => [...chat().reactions.values()].some((byUser) => byUser.get(bot.user.id)?.some((r) => r.type === 'emoji' && r.emoji === key)), `reaction ${key}`); },
    },
    close: async () => { await emu.stop(); },
  };
});

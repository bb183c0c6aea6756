/** The adapters this build of Switchboard ships. */
import type { NetworkAdapter } from '../core/adapter.js';
import { IrcAdapter } from './irc/index.js';
import { LoopbackAdapter } from './loopback/index.js';
import { TelegramAdapter } from './telegram/index.js';
import { XmppAdapter } from './xmpp/index.js';
import { GatewayAdapter } from './xmppgw/index.js';

export function builtInAdapters(): NetworkAdapter[] {
  return [new LoopbackAdapter() as NetworkAdapter, new XmppAdapter() as NetworkAdapter, new TelegramAdapter() as NetworkAdapter, new IrcAdapter() as NetworkAdapter, new GatewayAdapter() as NetworkAdapter];
}

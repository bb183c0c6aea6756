/**
 * The adapters this build of Switchboard ships. Each is imported only when a config names
 * it: their libraries (an XMPP stack, telegraf, irc-framework) are a good part of the
 * bridge's start-up time, and a bridge serves the networks it is configured for.
 */
import type { NetworkAdapter } from '../core/adapter.js';
import type { Config } from '../core/config.js';
import { enabledSections } from '../core/networks.js';

const BUILT_IN: Record<string, () => Promise<NetworkAdapter>> = {
  loopback: async () => new (await import('./loopback/index.js')).LoopbackAdapter() as NetworkAdapter,
  xmpp: async () => new (await import('./xmpp/index.js')).XmppAdapter() as NetworkAdapter,
  telegram: async () => new (await import('./telegram/index.js')).TelegramAdapter() as NetworkAdapter,
  irc: async () => new (await import('./irc/index.js')).IrcAdapter() as NetworkAdapter,
  xmppgw: async () => new (await import('./xmppgw/index.js')).GatewayAdapter() as NetworkAdapter,
};

/**
 * The built-in adapters `config`'s enabled network sections name (all of them without a
 * config, or when a section names one this build does not have, so that the error lists
 * what there is).
 */
export async function builtInAdapters(config?: Pick<Config, 'networks'>): Promise<NetworkAdapter[]> {
  const named = config && enabledSections(config).map((s) => s.adapter);
  const wanted = named && named.every((n) => n in BUILT_IN) ? new Set(named) : new Set(Object.keys(BUILT_IN));
  return Promise.all(Object.entries(BUILT_IN).filter(([name]) => wanted.has(name)).map(([, load]) => load()));
}

/** Match each enabled `networks.<id>` section to its adapter and validate it: one rule for start and check-config. */
import type { NetworkAdapter } from './adapter.js';
import { adapterSection, ConfigError, type Config } from './config.js';
import { networkId } from './ids.js';
import type { Network } from './accounts/sessions.js';

/** The adapter an enabled section names: its `adapter` key, else the section's own id. */
export function enabledSections(config: Pick<Config, 'networks'>): { id: string; section: Config['networks'][string]; adapter: string }[] {
  return Object.entries(config.networks).filter(([, section]) => section.enabled).map(([id, section]) => ({ id, section, adapter: section.adapter ?? id }));
}

export function loadNetworks(config: Config, adapters: readonly NetworkAdapter[]): Network[] {
  const byName = new Map(adapters.map((a) => [a.network as string, a]));
  const networks: Network[] = [];
  for (const { id, section, adapter: name } of enabledSections(config)) {
    const named = byName.get(name);
    if (!named) throw new ConfigError(`networks.${id}`, `no adapter named ${name} (known: ${[...byName.keys()].join(', ')})`);
    // A section whose id is not the adapter's own gets an instance of its own (its own logins and state).
    const adapter = named.network === id ? named : named.forNetwork?.(networkId(id));
    if (!adapter) throw new ConfigError(`networks.${id}`, `the ${name} adapter can serve one network only; name this section "${name}"`);
    let parsed: unknown;
    try {
      parsed = adapter.parseConfig(adapterSection(section));
    } catch (err) {
      throw new ConfigError(`networks.${id}`, (err as Error).message);
    }
    networks.push({ id: networkId(id), adapter, section, config: parsed });
  }
  return networks;
}

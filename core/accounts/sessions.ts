/** The live sessions of every login, and what the core needs to know about each network. */
import type { AdapterSession, Capabilities, ConnectionState, NetworkAdapter } from '../adapter.js';
import type { NetworkSection } from '../config.js';
import type { LoginId, MatrixUserId, NetworkId } from '../ids.js';
import type { LoginRow } from '../store/store.js';

export interface Network {
  id: NetworkId;
  adapter: NetworkAdapter;
  section: NetworkSection;
  /** The adapter's parsed config section. */
  config: unknown;
}

export interface LiveLogin {
  login: LoginRow;
  network: Network;
  session: AdapterSession;
  state: ConnectionState;
}

export class Sessions {
  private readonly networks = new Map<NetworkId, Network>();
  private readonly logins = new Map<LoginId, LiveLogin>();

  addNetwork(n: Network): void {
    this.networks.set(n.id, n);
  }

  network(id: NetworkId): Network | undefined {
    return this.networks.get(id);
  }

  allNetworks(): Network[] {
    return [...this.networks.values()];
  }

  capabilities(id: NetworkId): Capabilities | undefined {
    return this.networks.get(id)?.adapter.capabilities;
  }

  add(live: LiveLogin): void {
    this.logins.set(live.login.loginId, live);
  }

  remove(id: LoginId): LiveLogin | undefined {
    const live = this.logins.get(id);
    this.logins.delete(id);
    return live;
  }

  get(id: LoginId): LiveLogin | undefined {
    return this.logins.get(id);
  }

  all(): LiveLogin[] {
    return [...this.logins.values()];
  }

  /** The Matrix user's own login on a network, if they have one. */
  ownedBy(network: NetworkId, owner: MatrixUserId): LiveLogin | undefined {
    for (const l of this.logins.values()) if (l.login.network === network && l.login.owner === owner) return l;
    return undefined;
  }

  /** The network's relay login, if one is configured. */
  relay(network: NetworkId): LiveLogin | undefined {
    for (const l of this.logins.values()) if (l.login.network === network && l.login.kind === 'relay') return l;
    return undefined;
  }

  /** Any login that can read a network (to look up users and chats). */
  anyOn(network: NetworkId): LiveLogin | undefined {
    return this.relay(network) ?? [...this.logins.values()].find((l) => l.login.network === network);
  }
}

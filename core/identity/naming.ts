/**
 * How remote users and the bridge bot are named on Matrix: one place for the rule,
 * used by the engine (to make ghosts, and to tell our own users' events apart) and by
 * the registration (to claim exactly those names).
 */
import type { Config } from '../config.js';
import { escapeLocalpart, matrixUserId, networkId, remoteUserId, splitUserId, unescapeLocalpart } from '../ids.js';
import type { MatrixUserId, NetworkId, RemoteUserId } from '../ids.js';
import { PSEUDONYM_MARK, type PhoneIdentifiers } from './phone.js';
import { phoneIdentifiers } from './phone-config.js';

/** Who stands behind a pseudonymous ghost: only the bridge's own record can say (the store's ghosts). */
export type PseudonymLookup = (userId: MatrixUserId) => { network: NetworkId; remote: RemoteUserId } | undefined;

/** Pseudonymous ghosts remembered in memory; the store answers for the rest. */
const MAX_KNOWN_PSEUDONYMS = 10_000;

export class Naming {
  readonly domain: string;
  readonly botUserId: MatrixUserId;
  private readonly prefixes: Map<NetworkId, string>;
  private lookup: PseudonymLookup | undefined;

  /** The phone-number rules (phone.ts): ghosts of ids holding a number get pseudonyms. */
  readonly phones: PhoneIdentifiers;

  /** `phones` defaults to the config's rules without a secret (the registration needs no pseudonyms). */
  constructor(config: Config, phones?: PhoneIdentifiers) {
    this.phones = phones ?? phoneIdentifiers(config, undefined);
    this.domain = config.homeserver.domain;
    this.botUserId = matrixUserId(`@${config.appservice.bot.username}:${this.domain}`);
    this.prefixes = new Map(
      Object.entries(config.networks)
        .filter(([, s]) => s.enabled)
        .map(([id, s]) => [networkId(id), s.ghost_prefix ?? `_${id}_`]),
    );
  }

  networks(): NetworkId[] {
    return [...this.prefixes.keys()];
  }

  ghostPrefix(network: NetworkId): string {
    const p = this.prefixes.get(network);
    if (p === undefined) throw new Error(`network ${network} is not configured`);
    return p;
  }

  /** Where pseudonymous ghosts are looked up (the store); set once the store is open. */
  resolvePseudonymsWith(lookup: PseudonymLookup): void {
    this.lookup = lookup;
  }

  ghostUserId(network: NetworkId, remote: RemoteUserId): MatrixUserId {
    if (this.phones.hiddenNumberIn(network, remote)) return this.pseudonymousGhost(network, remote);
    return matrixUserId(`@${this.ghostPrefix(network)}${escapeLocalpart(remote)}:${this.domain}`);
  }

  /** Known pseudonymous ghosts by network and remote id: saves an HMAC and a store read per event. */
  private readonly pseudonyms = new Map<string, MatrixUserId>();

  private pseudonymousGhost(network: NetworkId, remote: RemoteUserId): MatrixUserId {
    const key = `${network}\u0000${remote}`;
    const known = this.pseudonyms.get(key);
    if (known) return known;
    // Lengthened in the (astronomically rare) case another id already has this pseudonym.
    for (let extra = 0; ; extra += 8) {
      const userId = matrixUserId(`@${this.ghostPrefix(network)}${this.phones.pseudonym(network, remote, extra)}:${this.domain}`);
      const taken = this.lookup?.(userId);
      const ours = taken?.network === network && taken.remote === remote;
      if (ours) {
        if (this.pseudonyms.size >= MAX_KNOWN_PSEUDONYMS) this.pseudonyms.delete(this.pseudonyms.keys().next().value!);
        this.pseudonyms.set(key, userId);
      }
      if (!taken || ours || extra >= 24) return userId;
    }
  }

  /** The bridge forgot who stands behind a remote id (identity/forget.ts): its next ghost is a new one. */
  forgetPseudonym(network: NetworkId, remote: RemoteUserId): void {
    this.pseudonyms.delete(`${network}\u0000${remote}`);
  }

  /** Text from a network the bridge writes on Matrix (a name, a topic): phone numbers masked unless the network shows them. */
  publicText(network: NetworkId, text: string): string {
    return this.phones.mask(network, text);
  }

  /** A remote chat id as the bridge writes it on Matrix (`m.bridge`): a pseudonym where it holds a hidden phone number. */
  publicChatId(network: NetworkId, chatId: string): string {
    return this.phones.hiddenNumberIn(network, chatId) ? this.phones.pseudonym(network, chatId) : chatId;
  }

  /** A ghost's name when the network gave none and its id holds a hidden number (a masked number or a pseudonym). */
  fallbackName(network: NetworkId, remote: RemoteUserId): string | undefined {
    return this.phones.fallbackName(network, remote);
  }

  /** The network and remote user a ghost stands for, or undefined for any other user. */
  parseGhost(userId: string): { network: NetworkId; remote: RemoteUserId } | undefined {
    const parts = splitUserId(userId);
    if (!parts || parts.server !== this.domain) return undefined;
    for (const [network, prefix] of this.prefixes) {
      if (!parts.localpart.startsWith(prefix)) continue;
      if (parts.localpart.startsWith(PSEUDONYM_MARK, prefix.length)) {
        const known = this.lookup?.(matrixUserId(userId));
        return known?.network === network ? known : undefined;
      }
      try {
        return { network, remote: remoteUserId(unescapeLocalpart(parts.localpart.slice(prefix.length))) };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** True for users the bridge itself puppets: the bot and every ghost. */
  isBridgeUser(userId: string): boolean {
    return userId === this.botUserId || this.parseGhost(userId) !== undefined;
  }

  /**
   * Exclusive user-namespace regexes, one per network (and the bot): escaped, and
   * anchored at both ends (homeservers match from the start only, so without `$` a
   * namespace would also claim longer ids).
   */
  userNamespaces(): string[] {
    const domain = escapeRegex(this.domain);
    return [
      `^@${escapeRegex(this.botUserId.slice(1, this.botUserId.indexOf(':')))}:${domain}$`,
      ...[...this.prefixes.values()].map((p) => `^@${escapeRegex(p)}.+:${domain}$`),
    ];
  }
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

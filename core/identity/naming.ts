/**
 * How remote users and the bridge bot are named on Matrix: one place for the rule,
 * used by the engine (to make ghosts, and to tell our own users' events apart) and by
 * the registration (to claim exactly those names).
 */
import type { Config } from '../config.js';
import { escapeLocalpart, matrixUserId, networkId, remoteUserId, splitUserId, unescapeLocalpart } from '../ids.js';
import type { MatrixUserId, NetworkId, RemoteUserId } from '../ids.js';

export class Naming {
  readonly domain: string;
  readonly botUserId: MatrixUserId;
  private readonly prefixes: Map<NetworkId, string>;

  constructor(config: Config) {
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

  ghostUserId(network: NetworkId, remote: RemoteUserId): MatrixUserId {
    return matrixUserId(`@${this.ghostPrefix(network)}${escapeLocalpart(remote)}:${this.domain}`);
  }

  /** The network and remote user a ghost stands for, or undefined for any other user. */
  parseGhost(userId: string): { network: NetworkId; remote: RemoteUserId } | undefined {
    const parts = splitUserId(userId);
    if (!parts || parts.server !== this.domain) return undefined;
    for (const [network, prefix] of this.prefixes) {
      if (!parts.localpart.startsWith(prefix)) continue;
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

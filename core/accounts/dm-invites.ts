/**
 * Direct-chat invites through a relay account: a Matrix user asks for a link, gives it to
 * someone on the network, and when that person uses it, a DM portal between the two is
 * opened. Codes are single-use, expire after a day, and live in memory (a restart
 * voids the open ones: the person asks for a new link).
 */
import { randomBytes } from 'node:crypto';
import type { MatrixUserId, NetworkId } from '../ids.js';

export const DM_INVITE_TTL_MS = 24 * 60 * 60_000;
/** Open invites per Matrix user; older ones are dropped first. */
const MAX_OPEN_PER_USER = 20;

interface Invite { network: NetworkId; user: MatrixUserId; expires: number }

export class DmInvites {
  private readonly open = new Map<string, Invite>();

  constructor(private readonly now: () => number = Date.now) {}

  create(network: NetworkId, user: MatrixUserId): string {
    this.sweep();
    const mine = [...this.open.entries()].filter(([, i]) => i.user === user);
    for (const [code] of mine.slice(0, Math.max(0, mine.length - MAX_OPEN_PER_USER + 1))) this.open.delete(code);
    const code = randomBytes(12).toString('base64url');
    this.open.set(code, { network, user, expires: this.now() + DM_INVITE_TTL_MS });
    return code;
  }

  /** The Matrix user an invite was for, once: the code is used up. */
  take(network: NetworkId, code: string): MatrixUserId | undefined {
    this.sweep();
    const invite = this.open.get(code);
    if (!invite || invite.network !== network) return undefined;
    this.open.delete(code);
    return invite.user;
  }

  private sweep(): void {
    const now = this.now();
    for (const [code, invite] of this.open) if (invite.expires <= now) this.open.delete(code);
  }
}

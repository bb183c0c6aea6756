/**
 * Ghosts: the Matrix users that stand for remote users. Registered on first sight;
 * their profile (display name, avatar) follows the remote profile lazily: from the
 * name an event carries, or one `getUserInfo` call the first time we see them.
 */
import { singleLineName } from '../safety.js';
import { createHash } from 'node:crypto';
import type { AdapterSession, Logger } from '../adapter.js';
import type { Attachment, SenderRef, UserInfo } from '../events.js';
import type { MatrixUserId, NetworkId, RemoteUserId } from '../ids.js';
import type { MatrixSide } from '../matrix/side.js';
import type { Naming } from './naming.js';
import type { GhostRow, Store } from '../store/store.js';

/** How often a ghost's last sighting is written: retention counts in days. */
const SEEN_EVERY_MS = 3_600_000;

export class Ghosts {
  /** Ghosts whose registration is done in this process; saves a store read per message. */
  private readonly ready = new Map<MatrixUserId, GhostRow>();
  /** When each ghost's person was last recorded as seen (the store is told at most hourly). */
  private readonly seen = new Map<MatrixUserId, number>();

  constructor(
    private readonly store: Store,
    private readonly matrix: MatrixSide,
    private readonly naming: Naming,
    private readonly maxAvatarBytes: number,
    private readonly log: Logger,
  ) {}

  userId(network: NetworkId, remote: RemoteUserId): MatrixUserId {
    return this.naming.ghostUserId(network, remote);
  }

  /** Make sure the ghost of `sender` exists and has a profile; returns its user id. */
  async ensure(network: NetworkId, sender: SenderRef, session: AdapterSession | undefined): Promise<MatrixUserId> {
    const userId = this.userId(network, sender.id);
    let row = this.ready.get(userId);
    if (!row) {
      row = this.store.getGhost(userId) ?? { userId, network, remoteId: sender.id, registered: false };
      if (!row.registered) {
        await this.matrix.registerUser(userId);
        row = { ...row, registered: true };
        this.store.putGhost(row);
        if (session) {
          // First sight: look the whole profile up once (events carry a name at most,
          // never the avatar). A name the event carries wins over the looked-up one.
          const info = await session.getUserInfo(sender.id).catch((err: unknown) => {
            this.log.warn({ remoteUser: sender.id, err: String(err) }, 'profile lookup failed; ghost keeps the name the event gave, or its id');
            return undefined;
          });
          if (info) row = await this.applyProfile(row, { ...info, ...(sender.name && { name: sender.name }) }, session);
        }
        // Without a name the homeserver shows the localpart; for a pseudonym, a masked number reads better.
        const fallback = row.name ? undefined : this.naming.fallbackName(network, sender.id);
        if (fallback && !sender.name) row = await this.applyProfile(row, { id: sender.id, name: fallback }, session);
      }
      this.ready.set(userId, row);
    }
    this.markSeen(userId);
    if (sender.name && this.publicName(network, sender.name) !== row.name) {
      row = await this.applyProfile(row, { id: sender.id, name: sender.name }, session);
    }
    return userId;
  }

  /** A ghost whose person was forgotten (identity/forget.ts): read again from the store when next seen. */
  forget(userId: MatrixUserId): void {
    this.ready.delete(userId);
    this.seen.delete(userId);
  }

  private markSeen(userId: MatrixUserId): void {
    const now = Date.now();
    if (now - (this.seen.get(userId) ?? 0) < SEEN_EVERY_MS) return;
    this.seen.set(userId, now);
    this.store.touchGhost(userId, now);
  }

  /** A profile update pushed by the network. */
  async update(network: NetworkId, info: UserInfo, session: AdapterSession | undefined): Promise<void> {
    const userId = await this.ensure(network, { id: info.id }, undefined);
    const row = this.ready.get(userId)!;
    await this.applyProfile(row, info, session);
  }

  /** A remote name as this ghost's display name: one line, bounded, phone numbers masked (identity/phone.ts). */
  private publicName(network: NetworkId, name: string): string {
    return this.naming.publicText(network, displayName(name));
  }

  private async applyProfile(row: GhostRow, info: UserInfo, session: AdapterSession | undefined): Promise<GhostRow> {
    let next = { ...row };
    const name = info.name ? this.publicName(row.network, info.name) : undefined;
    if (name && name !== row.name) {
      await this.matrix.setDisplayName(row.userId, name);
      next.name = name;
    }
    if (info.avatar) {
      const ref = avatarRef(info.avatar);
      if (ref !== row.avatarRef) {
        const bytes = await avatarBytes(info.avatar, session, this.maxAvatarBytes);
        if (bytes) {
          const mxc = await this.matrix.uploadMedia(bytes, info.avatar.mime, info.avatar.name);
          await this.matrix.setAvatarUrl(row.userId, mxc);
          next = { ...next, avatarMxc: mxc, avatarRef: ref };
        }
      }
    }
    this.store.putGhost(next);
    this.ready.set(row.userId, next);
    return next;
  }
}

/** Identity of an avatar image, so an unchanged one is not uploaded again. */
function avatarRef(a: Attachment): string {
  if (a.source.kind === 'remote') return `remote:${a.source.ref}`;
  return `sha256:${createHash('sha256').update(a.source.bytes).digest('base64url')}`;
}

/** The bytes of an avatar, fetched through the session when remote; undefined when over `max`. */
export async function avatarBytes(a: Attachment, session: AdapterSession | undefined, max: number): Promise<Uint8Array | undefined> {
  if (a.source.kind === 'bytes') return a.source.bytes.length <= max ? a.source.bytes : undefined;
  return session?.fetchMedia(a.source.ref, max);
}

/** Longest ghost display name kept, in UTF-16 units (Synapse refuses over 256). */
const MAX_DISPLAY_NAME = 256;

/** A remote name as a ghost's display name: one line (no CR/LF or other controls faking a second line), bounded. */
function displayName(name: string): string {
  return singleLineName(name).slice(0, MAX_DISPLAY_NAME).toWellFormed();
}

/** SQLite rows as the Store's types, and the portal cache: the part of sqlite.ts that only reads rows. */
import type { MatrixEventId, MatrixRoomId, MatrixUserId, NetworkId, RemoteMessageId } from '../ids.js';
import type { GhostRow, InboxRow, LinkDirection, MessagePart, PortalRow, ReactionRow } from './store.js';

export type Row = Record<string, unknown>;
export const opt = <T>(v: unknown) => (v === null || v === undefined ? undefined : (v as T));

/** Portal rows kept in memory: a bridge with more active portals than this reads the rest from SQLite. */
export const PORTAL_CACHE_SIZE = 5_000;

/** A Map that forgets its oldest entry beyond `max` (insertion order; a hit does not refresh). */
export class PortalCache extends Map<string, PortalRow> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: string, value: PortalRow): this {
    if (this.size >= this.max) this.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}

export function toPortal(r: Row): PortalRow {
  return {
    portalKey: r.portal_key as string,
    network: r.network as NetworkId,
    chatId: r.chat_id as PortalRow['chatId'],
    receiver: opt(r.receiver),
    kind: r.kind as PortalRow['kind'],
    roomId: opt(r.room_id),
    name: opt(r.name),
    topic: opt(r.topic),
    avatarMxc: opt(r.avatar_mxc),
    relay: r.relay !== 0,
    direction: r.direction as LinkDirection,
    nameTemplate: opt(r.name_template),
    ...(r.show_numbers === 1 && { showNumbers: true }),
  };
}

export function toPart(r: Row): MessagePart {
  const part: MessagePart = { remoteId: r.remote_id as RemoteMessageId, part: r.part as number, roomId: r.room_id as MatrixRoomId, eventId: r.event_id as MatrixEventId };
  if (typeof r.sender === 'string') part.sender = r.sender as MatrixUserId;
  return part;
}

export function toReaction(r: Row): ReactionRow {
  return {
    portalKey: r.portal_key as string,
    targetId: r.target_id as RemoteMessageId,
    sender: r.sender as string,
    key: r.reaction_key as string,
    eventId: r.event_id as MatrixEventId,
  };
}

export function toInbox(r: Row): InboxRow {
  return {
    seq: r.seq as number,
    direction: r.direction as InboxRow['direction'],
    portalKey: r.portal_key as string,
    dedupKey: r.dedup_key as string,
    loginId: opt(r.login_id),
    payload: r.payload as string,
    attempts: r.attempts as number,
    createdAt: r.created_at as number,
  };
}

export function toGhost(r: Row): GhostRow {
  return {
    userId: r.user_id as MatrixUserId,
    network: r.network as NetworkId,
    remoteId: r.remote_id as GhostRow['remoteId'],
    name: opt<string>(r.name),
    avatarMxc: opt<string>(r.avatar_mxc),
    avatarRef: opt<string>(r.avatar_ref),
    registered: r.registered === 1,
  };
}

/**
 * What the core asks of Matrix. The real implementation (appservice.ts) is the only
 * code that talks to the homeserver; core tests use a recording fake
 * (test/fakes/recording-matrix.ts) that captures every call as data.
 *
 * Every method does I/O and rejects on failure with a MatrixRequestError when the
 * homeserver answered (errcode, status) or a plain Error when it could not be reached.
 */
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../ids.js';

export class MatrixRequestError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(`${status} ${errcode}: ${message}`);
    this.name = 'MatrixRequestError';
  }
}

export interface RoomCreation {
  /** Who creates the room (and holds power level 100): the bridge bot, or the contact's ghost in a DM. */
  creator: MatrixUserId;
  name?: string;
  topic?: string;
  avatarMxc?: string;
  /** Users invited at creation (the Matrix user of a DM, the ghosts). */
  invite: MatrixUserId[];
  isDirect: boolean;
  /** Extra state events, such as `m.bridge` (MSC2346). */
  initialState: { type: string; state_key: string; content: Record<string, unknown> }[];
  /** Users given power level 100 besides the creator. */
  admins?: MatrixUserId[];
  /** Users given power level 50: may change the room's name, topic and avatar. */
  moderators?: MatrixUserId[];
}

/** Seals content for an encrypted room (core/crypto/encryption.ts); undefined when the room is not encrypted. */
export interface RoomEncryptor {
  /** Rooms the bridge creates are encrypted (`encryption.default`). */
  readonly encryptNewRooms: boolean;
  encryptFor(roomId: MatrixRoomId, sender: MatrixUserId, type: string, content: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
}

export interface MatrixSide {
  readonly botUserId: MatrixUserId;
  /** Make sure a user of our namespace exists on the homeserver. Idempotent. */
  registerUser(userId: MatrixUserId): Promise<void>;
  setDisplayName(userId: MatrixUserId, name: string): Promise<void>;
  setAvatarUrl(userId: MatrixUserId, mxc: string): Promise<void>;
  createRoom(opts: RoomCreation): Promise<MatrixRoomId>;
  invite(roomId: MatrixRoomId, inviter: MatrixUserId, userId: MatrixUserId): Promise<void>;
  /** Join as `userId` (the bot invites first if the room is invite-only). */
  join(roomId: MatrixRoomId, userId: MatrixUserId): Promise<void>;
  leave(roomId: MatrixRoomId, userId: MatrixUserId): Promise<void>;
  /** The rooms `userId` (one of ours) has joined. */
  joinedRooms(userId: MatrixUserId): Promise<MatrixRoomId[]>;
  /**
   * Send an event as `sender`. `txnId` is deterministic for the remote event it
   * carries, so a retry after a crash is deduplicated by the homeserver.
   */
  sendEvent(roomId: MatrixRoomId, sender: MatrixUserId, type: string, content: Record<string, unknown>, txnId: string): Promise<MatrixEventId>;
  sendState(roomId: MatrixRoomId, sender: MatrixUserId, type: string, stateKey: string, content: Record<string, unknown>): Promise<MatrixEventId>;
  redact(roomId: MatrixRoomId, sender: MatrixUserId, eventId: MatrixEventId, txnId: string, reason?: string): Promise<void>;
  setTyping(roomId: MatrixRoomId, userId: MatrixUserId, typing: boolean, timeoutMs: number): Promise<void>;
  sendReadReceipt(roomId: MatrixRoomId, userId: MatrixUserId, eventId: MatrixEventId): Promise<void>;
  setPresence(userId: MatrixUserId, presence: 'online' | 'offline' | 'unavailable', status?: string): Promise<void>;
  /** Upload bytes to the media repository; returns the mxc:// URI. */
  uploadMedia(bytes: Uint8Array, mime: string, name: string): Promise<string>;
  /** Download media (authenticated media, MSC3916); rejects past `maxBytes`. */
  downloadMedia(mxc: string, maxBytes: number): Promise<{ bytes: Uint8Array; mime: string }>;
  /**
   * Ask the homeserver to ping the bridge back (MSC2659 appservice ping): proves both
   * directions work. Resolves with the round trip the homeserver measured, in ms.
   */
  pingHomeserver(): Promise<number>;
  /**
   * Whether the homeserver answers at all right now (`GET /_matrix/client/versions`,
   * bounded by a few seconds); never rejects. Tells an outage (the server) from an
   * event the server refuses with a 5xx (the event).
   */
  homeserverAnswers(): Promise<boolean>;
  /** Content of a state event as the bot (or `reader`, one of ours in the room) sees it, or undefined when there is none (404). */
  roomState(roomId: MatrixRoomId, type: string, stateKey: string, reader?: MatrixUserId): Promise<Record<string, unknown> | undefined>;
  /** About `limit` events just before `eventId` in its room's order (those written concurrently with it included: room-window.ts), oldest first, as `reader` (a member) sees them. */
  eventsBefore(roomId: MatrixRoomId, eventId: MatrixEventId, limit: number, reader: MatrixUserId): Promise<Record<string, unknown>[]>;
  /** Power level of `userId` in a room (for permission checks). */
  powerLevel(roomId: MatrixRoomId, userId: MatrixUserId): Promise<number>;
  /** The room an alias (`#room:server`) names, or undefined when it names none (404). */
  resolveAlias(alias: string): Promise<MatrixRoomId | undefined>;
  /** The newest `limit` messages (`m.room.message` events) of a room, oldest first, as the bot (a member) sees them. */
  recentMessages(roomId: MatrixRoomId, limit: number): Promise<Record<string, unknown>[]>;
  /** A user's global profile (display name, avatar), or {} when the homeserver has none (404). */
  profile(userId: MatrixUserId): Promise<{ displayname?: string; avatar_url?: string }>;
  /** A room's joined members with their display names, as the bot (or `reader`, one of ours in the room) sees them. */
  joinedMembers(roomId: MatrixRoomId, reader?: MatrixUserId): Promise<{ userId: MatrixUserId; displayName?: string }[]>;
  /** Users invited to a room and not joined yet (they get an encrypted room's keys too), as the bot or `reader` sees them. */
  invitedMembers(roomId: MatrixRoomId, reader?: MatrixUserId): Promise<MatrixUserId[]>;
}

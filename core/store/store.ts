/**
 * The bridge's persistent state, behind an interface so PostgreSQL can come later.
 * Every idempotency rule (message map, inbox, transactions) is backed by a UNIQUE
 * constraint in the schema, not by a read-then-write in code.
 *
 * Calls are synchronous: better-sqlite3 is, and the appservice listener relies on a
 * transaction being durable before it answers 200. A networked implementation would
 * change these signatures to Promises.
 */
import type { LoginId, MatrixEventId, MatrixRoomId, MatrixUserId, NetworkId, RemoteChatId, RemoteMessageId, RemoteUserId } from '../ids.js';

export interface PortalRow {
  portalKey: string;
  network: NetworkId;
  chatId: RemoteChatId;
  receiver?: LoginId;
  kind: 'dm' | 'group';
  roomId?: MatrixRoomId;
  name?: string;
  topic?: string;
  avatarMxc?: string;
  /** Matrix users without a login of their own are relayed here (default true). */
  relay?: boolean;
  /** Which way the link carries messages (default `both`). */
  direction?: LinkDirection;
  /** How this chat's people are named in the room's other chats (gateway rooms); see core/portal/matrix/origin.ts. */
  nameTemplate?: string;
  /** The room's admins chose to see numbers in contact cards whole (`numbers visible`). */
  showNumbers?: boolean;
}

/** `in`: from the chat into the room only; `out`: from the room into the chat only. */
export type LinkDirection = 'both' | 'in' | 'out';

export interface PortalChange {
  roomId?: MatrixRoomId | null;
  name?: string;
  topic?: string;
  avatarMxc?: string;
  relay?: boolean;
  direction?: LinkDirection;
  nameTemplate?: string | null;
  showNumbers?: boolean;
}

export interface GhostRow {
  userId: MatrixUserId;
  network: NetworkId;
  remoteId: RemoteUserId;
  name?: string;
  avatarMxc?: string;
  /** Which remote avatar `avatarMxc` was made from, so an unchanged avatar is not uploaded again. */
  avatarRef?: string;
  registered: boolean;
}

/** A remote identifier the store keeps, where, and since when (ms; unknown for ghosts older than migration 0009). */
export interface StoredIdentifier {
  kept: 'ghost' | 'login' | 'portal';
  network: NetworkId;
  id: string;
  since?: number;
}

export interface LoginRow {
  loginId: LoginId;
  network: NetworkId;
  kind: 'puppet' | 'relay';
  owner?: MatrixUserId;
  remoteUser?: RemoteUserId;
  data: Record<string, unknown>;
  /** The owner's management room where the login was made; connection trouble is reported there. */
  noticeRoom?: MatrixRoomId;
}

export interface MessagePart {
  remoteId: RemoteMessageId;
  part: number;
  roomId: MatrixRoomId;
  eventId: MatrixEventId;
  /** The Matrix sender of the event (a ghost for remote messages); unknown for rows older than migration 0003. */
  sender?: MatrixUserId;
}

export interface ReactionRow {
  portalKey: string;
  targetId: RemoteMessageId;
  /** Remote user id for reactions from the remote side, Matrix user id for ours. */
  sender: string;
  key: string;
  eventId: MatrixEventId;
}

export type InboxDirection = 'matrix' | 'remote';

export interface InboxRow {
  seq: number;
  direction: InboxDirection;
  portalKey: string;
  dedupKey: string;
  loginId?: LoginId;
  payload: string;
  /** Attempts begun so far (each counted before it runs). */
  attempts: number;
  /** When the row was recorded (ms since epoch). */
  createdAt: number;
}

/** An inbox row given up on (state `failed`): refused, failing past the retry limit, or undeliverable. */
export interface ParkedRow extends InboxRow {
  /** Why, as recorded when it was parked. */
  reason: string;
}

export interface NewInboxRow {
  direction: InboxDirection;
  portalKey: string;
  dedupKey: string;
  loginId?: LoginId;
  payload: string;
  /** Attempts to count from the start (default 0); see Engine.handleTransaction. */
  attempts?: number;
}

export interface Store {
  /** Run `fn` in one transaction; nested calls join the outer one. */
  transaction<T>(fn: () => T): T;
  /**
   * Writes are grouped: the first write of an event-loop turn opens a transaction that
   * commits at the end of the turn (group commit). `durable()` resolves once everything
   * written so far is committed; `flush()` commits now. Whoever promises durability to
   * someone else (an adapter's `emit`, the 200 of an appservice transaction) waits for it.
   */
  durable(): Promise<void>;
  flush(): void;
  /** Whether a write could be committed now (`/ready`): open, not read-only, not locked by another process. */
  writable(): boolean;

  getPortal(portalKey: string): PortalRow | undefined;
  portalsByRoom(roomId: MatrixRoomId): PortalRow[];
  /** Insert if missing; returns the stored row either way. */
  upsertPortal(row: PortalRow): PortalRow;
  /** Change some columns; `roomId: null` unlinks the portal from its room. */
  updatePortal(portalKey: string, change: PortalChange): void;
  /** Every portal, oldest first. */
  listPortals(): PortalRow[];
  countPortals(): number;

  getGhost(userId: MatrixUserId): GhostRow | undefined;
  putGhost(row: GhostRow): void;
  /** Every ghost of a network (for identifier migrations). */
  ghostsOf(network: NetworkId): GhostRow[];
  deleteGhost(userId: MatrixUserId): void;
  ghostByRemote(network: NetworkId, remoteId: string): GhostRow | undefined;
  /** The ghost's remote person was seen now. */
  touchGhost(userId: MatrixUserId, at: number): void;
  /** Ghosts of a network whose person was last seen (or, never seen since, first seen) before `before`. */
  ghostsUnseenSince(network: NetworkId, before: number): GhostRow[];
  /** The ghost stays, its link to the remote person goes: `placeholder` replaces the remote id; name and avatar are blanked. */
  forgetGhost(userId: MatrixUserId, placeholder: string): void;
  /** A portal and everything kept about it: its message map, reactions, finished inbox rows. */
  forgetPortal(portalKey: string): void;
  /** The bridge's record of who sent each message now names `to` where it named `from` (a ghost replaced). */
  reassignSender(from: MatrixUserId, to: MatrixUserId): void;
  /** Every remote identifier kept: ghosts' remote ids, logins' own users, portals' chat ids. */
  storedIdentifiers(): Iterable<StoredIdentifier>;

  getLogin(loginId: LoginId): LoginRow | undefined;
  listLogins(network?: NetworkId): LoginRow[];
  putLogin(row: LoginRow): void;
  updateLoginData(loginId: LoginId, data: Record<string, unknown>): void;
  deleteLogin(loginId: LoginId): void;

  /** Record a message part; returns false if that (portal, remote id, part) exists already. */
  addMessagePart(portalKey: string, part: MessagePart): boolean;
  messageParts(portalKey: string, remoteId: RemoteMessageId): MessagePart[];
  /** The remote message a Matrix event belongs to, in one portal. */
  messageByEvent(portalKey: string, eventId: MatrixEventId): MessagePart | undefined;
  /** Every remote message a Matrix event became in one portal (a long text is split). */
  partsByEvent(portalKey: string, eventId: MatrixEventId): MessagePart[];
  deleteMessage(portalKey: string, remoteId: RemoteMessageId): void;

  /** Returns false if the same (portal, target, sender, key) exists already. */
  addReaction(row: ReactionRow): boolean;
  reactionsBy(portalKey: string, targetId: RemoteMessageId, sender: string): ReactionRow[];
  reactionByEvent(portalKey: string, eventId: MatrixEventId): ReactionRow | undefined;
  deleteReaction(portalKey: string, eventId: MatrixEventId): void;

  /** Record an inbox row; returns its seq, or undefined if the dedup key was seen before. */
  addInbox(row: NewInboxRow): number | undefined;
  getInbox(seq: number): InboxRow | undefined;
  pendingInbox(): InboxRow[];
  /**
   * Forget handled inbox rows (state done) recorded before `before`, except each portal's
   * newest Matrix row (gap repair reads when a room last spoke). Their payloads are copies
   * of events, with remote ids in them; pending and parked rows stay. Returns rows deleted.
   */
  pruneInbox(before: number): number;
  /** Count one more attempt at a row, before it runs. */
  markAttempt(seq: number): void;
  finishInbox(seq: number, state: 'done' | 'failed', error?: string): void;
  countInbox(state: 'pending' | 'done' | 'failed'): number;
  /** Parked rows, newest first, at most `limit`; of one network's portals when `network` is given. */
  parkedInbox(limit: number, network?: NetworkId): ParkedRow[];
  /** A parked row goes back to pending (its attempts kept, so a replay knows it may have been sent); undefined if `seq` is not parked. */
  unpark(seq: number): InboxRow | undefined;
  /** A parked row is put aside for good (done); its reason is kept with `note` added. False if `seq` is not parked. */
  dropParked(seq: number, note: string): boolean;
  /** Whether a Matrix event was recorded for a portal (gap repair after a homeserver restart). */
  matrixEventKnown(portalKey: string, eventId: string): boolean;
  /** When the newest Matrix event of a portal was recorded (ms since epoch), if any was. */
  lastMatrixEventAt(portalKey: string): number | undefined;
  /** Whether the bridge made `userId` a member of the room (joined a ghost, invited an owner) and saw no leave since. */
  isRoomMember(roomId: MatrixRoomId, userId: MatrixUserId): boolean;
  setRoomMember(roomId: MatrixRoomId, userId: MatrixUserId, member: boolean): void;
  /** Remember that the homeserver delivered these room events (whatever became of them). */
  markDelivered(eventIds: readonly string[]): void;
  /** Whether the homeserver delivered a room event (gap repair looks only for the others). */
  wasDelivered(eventId: string): boolean;
  /** Forget deliveries recorded before `before` (ms since epoch); returns how many. */
  pruneDelivered(before: number): number;

  /**
   * Record a transaction; returns false if this id was processed before with the same
   * `digest` (of its contents). A known id with another digest is a new transaction.
   */
  addTransaction(txnId: string, digest?: string): boolean;

  close(): Promise<void>;
}

/**
 * A MatrixSide that records every call as data instead of talking to a homeserver.
 * Tests assert on `calls` (exact content), never on spies.
 */
import type { MatrixSide, RoomCreation } from '../../core/matrix/side.js';
import { MatrixRequestError } from '../../core/matrix/side.js';
import { matrixEventId, matrixRoomId, matrixUserId, type MatrixEventId, type MatrixRoomId, type MatrixUserId } from '../../core/ids.js';

export type MatrixCall =
  | { op: 'register'; userId: string }
  | { op: 'displayname'; userId: string; name: string }
  | { op: 'avatar'; userId: string; mxc: string }
  | { op: 'createRoom'; roomId: string; opts: RoomCreation }
  | { op: 'invite'; roomId: string; userId: string }
  | { op: 'join'; roomId: string; userId: string }
  | { op: 'leave'; roomId: string; userId: string }
  | { op: 'send'; roomId: string; sender: string; type: string; content: Record<string, unknown>; txnId: string; eventId: string }
  | { op: 'state'; roomId: string; sender: string; type: string; stateKey: string; content: Record<string, unknown> }
  | { op: 'redact'; roomId: string; sender: string; eventId: string; txnId: string }
  | { op: 'typing'; roomId: string; userId: string; typing: boolean }
  | { op: 'receipt'; roomId: string; userId: string; eventId: string }
  | { op: 'presence'; userId: string; presence: string }
  | { op: 'upload'; mxc: string; mime: string; name: string; size: number };

export class RecordingMatrix implements MatrixSide {
  readonly calls: MatrixCall[] = [];
  readonly botUserId: MatrixUserId;
  private n = 0;
  private readonly byTxn = new Map<string, MatrixEventId>();
  readonly media = new Map<string, { bytes: Uint8Array; mime: string }>();
  /** When set, every call fails like an unreachable homeserver (status 502). */
  down = false;

  constructor(domain = 'example.org', bot = 'switchboard') {
    this.botUserId = matrixUserId(`@${bot}:${domain}`);
  }

  private check(): void {
    if (this.down) throw new MatrixRequestError(502, 'M_UNKNOWN', 'homeserver unreachable (test)');
  }

  /** Content the fake homeserver answers 500 to while it answers everything else (as Synapse does for some bad events). */
  refuseWith500?: (content: Record<string, unknown>) => boolean;

  sends(type = 'm.room.message') {
    return this.calls.filter((c): c is Extract<MatrixCall, { op: 'send' }> => c.op === 'send' && c.type === type);
  }

  of<K extends MatrixCall['op']>(op: K): Extract<MatrixCall, { op: K }>[] {
    return this.calls.filter((c): c is Extract<MatrixCall, { op: K }> => c.op === op);
  }

  async registerUser(userId: MatrixUserId) { this.check(); this.calls.push({ op: 'register', userId }); }
  async setDisplayName(userId: MatrixUserId, name: string) { this.check(); this.calls.push({ op: 'displayname', userId, name }); }
  async setAvatarUrl(userId: MatrixUserId, mxc: string) { this.check(); this.calls.push({ op: 'avatar', userId, mxc }); }
  async createRoom(opts: RoomCreation): Promise<MatrixRoomId> {
    this.check();
    const roomId = matrixRoomId(`!room${++this.n}:example.org`);
    this.calls.push({ op: 'createRoom', roomId, opts });
    return roomId;
  }
  async invite(roomId: MatrixRoomId, _inviter: MatrixUserId, userId: MatrixUserId) { this.check(); this.calls.push({ op: 'invite', roomId, userId }); }
  async join(roomId: MatrixRoomId, userId: MatrixUserId) { this.check(); this.calls.push({ op: 'join', roomId, userId }); }
  async leave(roomId: MatrixRoomId, userId: MatrixUserId) { this.check(); this.calls.push({ op: 'leave', roomId, userId }); }
  /** Rooms a user made or joined and has not left, as the calls recorded them. */
  async joinedRooms(userId: MatrixUserId): Promise<MatrixRoomId[]> {
    this.check();
    const rooms = new Set<MatrixRoomId>();
    for (const c of this.calls) {
      if (c.op === 'createRoom' && c.opts.creator === userId) rooms.add(c.roomId as MatrixRoomId);
      if (c.op === 'join' && c.userId === userId) rooms.add(c.roomId as MatrixRoomId);
      if (c.op === 'leave' && c.userId === userId) rooms.delete(c.roomId as MatrixRoomId);
    }
    return [...rooms];
  }
  async sendEvent(roomId: MatrixRoomId, sender: MatrixUserId, type: string, content: Record<string, unknown>, txnId: string): Promise<MatrixEventId> {
    this.check();
    // Like a homeserver: the same transaction id from the same sender gives the same event.
    const known = this.byTxn.get(`${sender}|${txnId}`);
    if (known) return known;
    if (this.refuseWith500?.(content)) throw new MatrixRequestError(500, 'M_UNKNOWN', 'Internal server error (test)');
    // Like Synapse: text with a lone surrogate cannot be encoded as UTF-8, and it answers 500.
    if (!JSON.stringify(content).isWellFormed() || /\\ud[89a-f][0-9a-f]{2}/i.test(JSON.stringify(content))) throw new MatrixRequestError(500, 'M_UNKNOWN', 'UnicodeEncodeError: surrogates not allowed (test)');
    // Like Synapse: an event is at most 65,536 bytes; the content takes most of it.
    if (Buffer.byteLength(JSON.stringify(content)) > 64_000) throw new MatrixRequestError(413, 'M_TOO_LARGE', 'event too large (test)');
    const eventId = matrixEventId(`$ev${++this.n}`);
    this.byTxn.set(`${sender}|${txnId}`, eventId);
    this.calls.push({ op: 'send', roomId, sender, type, content, txnId, eventId });
    return eventId;
  }
  async sendState(roomId: MatrixRoomId, sender: MatrixUserId, type: string, stateKey: string, content: Record<string, unknown>) {
    this.check();
    this.calls.push({ op: 'state', roomId, sender, type, stateKey, content });
    return matrixEventId(`$state${++this.n}`);
  }
  /** When set, redactions are refused like in a room where the sender lacks power. */
  refuseRedactions = false;
  async redact(roomId: MatrixRoomId, sender: MatrixUserId, eventId: MatrixEventId, txnId: string) {
    this.check();
    if (this.refuseRedactions) throw new MatrixRequestError(403, 'M_FORBIDDEN', 'not enough power to redact (test)');
    this.calls.push({ op: 'redact', roomId, sender, eventId, txnId });
  }
  async setTyping(roomId: MatrixRoomId, userId: MatrixUserId, typing: boolean) { this.check(); this.calls.push({ op: 'typing', roomId, userId, typing }); }
  async sendReadReceipt(roomId: MatrixRoomId, userId: MatrixUserId, eventId: MatrixEventId) { this.check(); this.calls.push({ op: 'receipt', roomId, userId, eventId }); }
  async setPresence(userId: MatrixUserId, presence: 'online' | 'offline' | 'unavailable') { this.check(); this.calls.push({ op: 'presence', userId, presence }); }
  async uploadMedia(bytes: Uint8Array, mime: string, name: string): Promise<string> {
    this.check();
    const mxc = `mxc://example.org/m${++this.n}`;
    this.media.set(mxc, { bytes, mime });
    this.calls.push({ op: 'upload', mxc, mime, name, size: bytes.length });
    return mxc;
  }
  async downloadMedia(mxc: string, maxBytes: number) {
    this.check();
    const m = this.media.get(mxc);
    if (!m) throw new MatrixRequestError(404, 'M_NOT_FOUND', `no media ${mxc}`);
    if (m.bytes.length > maxBytes) throw new Error(`media larger than ${maxBytes} bytes`);
    return m;
  }
  /** State the fake homeserver holds, keyed `room|type|stateKey`; tests set it. */
  readonly roomStates = new Map<string, Record<string, unknown>>();
  /** Power levels tests give users, keyed `room|user`; 0 otherwise. */
  readonly powers = new Map<string, number>();
  /** How often the bridge pinged the homeserver (MSC2659). */
  pings = 0;
  async pingHomeserver() { this.pings++; this.check(); return 1; }
  async homeserverAnswers() { return !this.down; }
  /** What `eventsBefore` answers, per room, oldest first (tests of gap repair set it). */
  readonly timelines = new Map<string, Record<string, unknown>[]>();
  /** How often a room's timeline was read (`eventsBefore`, gap repair's `/context`). */
  contextReads = 0;
  async eventsBefore(roomId: MatrixRoomId, eventId: MatrixEventId, limit: number, _reader: MatrixUserId) {
    this.contextReads++;
    this.check();
    const timeline = this.timelines.get(roomId) ?? [];
    const at = timeline.findIndex((e) => e.event_id === eventId);
    return at < 0 ? [] : timeline.slice(Math.max(0, at - limit), at);
  }
  async roomState(roomId: MatrixRoomId, type: string, stateKey: string) { this.check(); return this.roomStates.get(`${roomId}|${type}|${stateKey}`); }
  async powerLevel(roomId: MatrixRoomId, userId: MatrixUserId) { this.check(); return this.powers.get(`${roomId}|${userId}`) ?? 0; }
  /** Aliases the fake homeserver knows; tests set them. */
  readonly aliases = new Map<string, MatrixRoomId>();
  async resolveAlias(alias: string) { this.check(); return this.aliases.get(alias); }
  /** Joined members per room (with display names); tests set them. */
  readonly roomMembers = new Map<string, { userId: MatrixUserId; displayName?: string }[]>();
  async joinedMembers(roomId: MatrixRoomId) { this.check(); return this.roomMembers.get(roomId) ?? []; }
  async invitedMembers(_roomId: MatrixRoomId, _reader?: MatrixUserId): Promise<MatrixUserId[]> { this.check(); return []; }
  /** Profiles the fake homeserver knows; tests set them. */
  readonly profiles = new Map<string, { displayname?: string; avatar_url?: string }>();
  async profile(userId: MatrixUserId) { this.check(); return this.profiles.get(userId) ?? {}; }
  async recentMessages(roomId: MatrixRoomId, limit: number) { this.check(); return (this.timelines.get(roomId) ?? []).filter((e) => e.type === 'm.room.message').slice(-limit); }
}

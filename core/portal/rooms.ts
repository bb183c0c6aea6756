/**
 * Matrix rooms for portals: created on the first remote event of a chat a person's
 * own login sees, with the `m.bridge` state event (MSC2346); membership of ghosts
 * kept up lazily, remembered (in memory, and in the store so that a restart does not
 * join and invite again in every portal) to save requests per message.
 */
import type { Logger } from '../adapter.js';
import type { ChatInfo } from '../events.js';
import type { MatrixRoomId, MatrixUserId } from '../ids.js';
import { remoteUserId } from '../ids.js';
import { MatrixRequestError, type MatrixSide } from '../matrix/side.js';
import type { Naming } from '../identity/naming.js';
import type { Ghosts } from '../identity/ghosts.js';
import type { LiveLogin } from '../accounts/sessions.js';
import type { PortalRow, Store } from '../store/store.js';

/** `m.bridge` (MSC2346) and the name clients read before it. */
const BRIDGE_STATE_TYPES = ['m.bridge', 'uk.half-shot.bridge'];

export class Rooms {
  private readonly members = new Set<string>();
  private readonly names = new Map<string, string>();
  private readonly creating = new Map<string, Promise<MatrixRoomId>>();

  constructor(
    private readonly store: Store,
    private readonly matrix: MatrixSide,
    private readonly naming: Naming,
    private readonly ghosts: Ghosts,
    private readonly log: Logger,
    /**
     * New rooms are encrypted: the bot joins DMs too, since only its device (the bridge's
     * one) can receive the keys of what the user says there; a ghost has none (docs/encryption.md).
     */
    private readonly encryptedRooms = false,
  ) {}

  /** The state key that identifies a portal's `m.bridge` event. */
  bridgeStateKey(portal: PortalRow): string {
    return `net.switchboard://${encodeURIComponent(portal.network)}/${encodeURIComponent(this.naming.publicChatId(portal.network, portal.chatId))}`;
  }

  /** `m.bridge` content: the chat's id and name as the bridge may show them (no phone numbers, identity/phone.ts). */
  bridgeInfo(portal: PortalRow, networkName: string, chatName?: string): Record<string, unknown> {
    const displayname = chatName && this.naming.publicText(portal.network, chatName);
    return {
      bridgebot: this.naming.botUserId,
      creator: this.naming.botUserId,
      protocol: { id: portal.network, displayname: networkName },
      channel: { id: this.naming.publicChatId(portal.network, portal.chatId), ...(displayname && { displayname }) },
    };
  }

  /** A chat's name and topic as the bridge may write them on Matrix. */
  publicInfo<T extends { name?: string; topic?: string }>(network: PortalRow['network'], info: T): T {
    return {
      ...info,
      ...(info.name !== undefined && { name: this.naming.publicText(network, info.name) }),
      ...(info.topic !== undefined && { topic: this.naming.publicText(network, info.topic) }),
    };
  }

  /** Mark a linked room as bridged (`m.bridge` and its older name); rejects if the bot may not. */
  async markBridged(roomId: MatrixRoomId, portal: PortalRow, networkName: string, chatName?: string): Promise<void> {
    const content = this.bridgeInfo(portal, networkName, chatName);
    for (const type of BRIDGE_STATE_TYPES) await this.matrix.sendState(roomId, this.naming.botUserId, type, this.bridgeStateKey(portal), content);
  }

  /**
   * The portal's room, created now if the login belongs to a person (relay logins
   * only bridge rooms an admin linked). Returns undefined when no room may be made.
   */
  async ensureRoom(portal: PortalRow, live: LiveLogin): Promise<MatrixRoomId | undefined> {
    if (portal.roomId) {
      if (live.login.owner) await this.ensureMember(portal.roomId, live.login.owner, true);
      return portal.roomId;
    }
    if (live.login.kind !== 'puppet' || !live.login.owner) return undefined;
    return this.roomFor(portal, live, live.login.owner);
  }

  /** The portal's room, created for `owner` if there is none (a person's login, or a relay's direct chat opened by invite). */
  async roomFor(portal: PortalRow, live: LiveLogin, owner: MatrixUserId): Promise<MatrixRoomId> {
    if (portal.roomId) return portal.roomId;
    const pending = this.creating.get(portal.portalKey);
    if (pending) return pending;
    const p = this.createRoom(portal, live, owner).finally(() => this.creating.delete(portal.portalKey));
    this.creating.set(portal.portalKey, p);
    return p;
  }

  private async createRoom(portal: PortalRow, live: LiveLogin, owner: MatrixUserId): Promise<MatrixRoomId> {
    const info: Partial<ChatInfo> = this.publicInfo(portal.network, await live.session.getChatInfo(portal.chatId).catch((err: unknown) => {
      this.log.warn({ portal: portal.portalKey, err: String(err) }, 'chat lookup failed; room made without name');
      return {};
    }));
    const isDirect = portal.kind === 'dm';
    // A DM is opened by the contact's ghost, so the room reads as a chat with them.
    const creator = isDirect ? await this.ghosts.ensure(portal.network, { id: remoteUserId(portal.chatId) }, live.session) : this.naming.botUserId;
    const stateKey = this.bridgeStateKey(portal);
    const content = this.bridgeInfo(portal, live.network.adapter.displayName, info.name);
    const bot = this.naming.botUserId;
    const botJoins = isDirect && this.encryptedRooms;
    const roomId = await this.matrix.createRoom({
      creator,
      ...(!isDirect && info.name && { name: info.name }),
      ...(info.topic && { topic: info.topic }),
      invite: botJoins ? [owner, bot] : [owner],
      isDirect,
      initialState: [
        ...BRIDGE_STATE_TYPES.map((type) => ({ type, state_key: stateKey, content })),
      ],
      // The user is a member of the remote group and may rename it there, so here too.
      ...(!isDirect && { moderators: [owner] }),
    });
    this.store.updatePortal(portal.portalKey, { roomId, ...(info.name && { name: info.name }), ...(info.topic && { topic: info.topic }) });
    portal.roomId = roomId;
    if (botJoins) await this.matrix.join(roomId, bot);
    for (const member of botJoins ? [creator, owner, bot] : [creator, owner]) this.remember(roomId, member);
    this.log.info({ portal: portal.portalKey, roomId }, 'portal room created');
    return roomId;
  }

  /** Make sure `userId` is in the room: ghosts join, people are invited. */
  async ensureMember(roomId: MatrixRoomId, userId: MatrixUserId, invite = false): Promise<void> {
    const key = `${roomId}|${userId}`;
    if (this.members.has(key)) return;
    if (this.store.isRoomMember(roomId, userId)) return void this.members.add(key);
    if (invite) {
      await this.matrix.invite(roomId, this.naming.botUserId, userId).catch((err: unknown) => {
        // Already joined or invited: the homeserver refuses, and that is fine. Not reaching it
        // is not an answer: the job is retried rather than the invite remembered as done.
        if (!(err instanceof MatrixRequestError) || err.status >= 500) throw err;
        this.log.debug({ roomId, userId, err: String(err) }, 'invite not needed');
      });
    } else {
      await this.matrix.join(roomId, userId);
    }
    this.remember(roomId, userId);
  }

  /** Remember a member we made, or found already joined (the admin who linked a room): nothing invites or joins them again. */
  remember(roomId: MatrixRoomId, userId: MatrixUserId): void {
    this.members.add(`${roomId}|${userId}`);
    this.store.setRoomMember(roomId, userId, true);
  }

  /** Remember a Matrix member's display name, from the m.room.member events we see. */
  rememberName(roomId: MatrixRoomId, userId: MatrixUserId, name: string | undefined): void {
    if (name) this.names.set(`${roomId}|${userId}`, name);
    else this.names.delete(`${roomId}|${userId}`);
  }

  /** A Matrix member's display name in a room, or their localpart when unknown. */
  displayName(roomId: MatrixRoomId, userId: MatrixUserId): string {
    // Our own ghosts' names are known from their profiles even before their member events
    // come back (only ghosts are in that table: nobody else costs a read).
    const ghostName = () => (this.naming.parseGhost(userId) ? this.store.getGhost(userId)?.name : undefined);
    return this.names.get(`${roomId}|${userId}`) ?? ghostName() ?? userId.slice(1, userId.indexOf(':'));
  }

  /** Forget a membership (after a kick, leave or ban seen from Matrix): the next need joins or invites again. */
  forgetMember(roomId: MatrixRoomId, userId: MatrixUserId): void {
    this.members.delete(`${roomId}|${userId}`);
    if (this.store.isRoomMember(roomId, userId)) this.store.setRoomMember(roomId, userId, false);
  }
}

/**
 * The real MatrixSide, on matrix-appservice-bridge 10.x (its Bridge, Intents and
 * the bot-sdk client underneath). Only this folder imports the library.
 *
 * We use the library for the client side (registration of ghosts, profiles, rooms,
 * joins with the bot inviting when needed) and send messages ourselves through the
 * client's raw request so the transaction id is ours (deterministic). The library's
 * HTTP listener is not used: listener.ts answers the homeserver, and the engine
 * orders events (one queue per portal), so the library's own event queue is off.
 */
import { AppServiceRegistration, Bridge, type Intent } from 'matrix-appservice-bridge';
import type { Logger } from '../adapter.js';
import type { Config } from '../config.js';
import { matrixEventId, matrixRoomId, type MatrixEventId, type MatrixRoomId, type MatrixUserId } from '../ids.js';
import type { Naming } from '../identity/naming.js';
import { failureKind, TransientError } from '../pipeline/outcome.js';
import type { Registration } from './registration.js';
import { MatrixRequestError, type MatrixSide, type RoomCreation, type RoomEncryptor } from './side.js';
import { call } from './calls.js';
import { eventsBeforeAnchor } from './room-window.js';
import { actWithoutDevices, KnownUsers, routeLibraryLogs } from './library.js';
import { TXN_KEY } from '../portal/txn.js';
import { wellFormed } from '../convert/unicode.js';

const enc = encodeURIComponent;

/** How long the homeserver has to answer an "are you there" probe. */
const PROBE_TIMEOUT_MS = 5_000;

/** How many pages of 100 of the sender's events are searched for an unanswered send. */
const FIND_SENT_PAGES = 5;

export class AppserviceMatrixSide implements MatrixSide {
  readonly botUserId: MatrixUserId;
  /** Transaction ids whose last send got no answer: the event may exist (bounded by what is in flight). */
  private readonly unanswered = new Set<string>();
  private readonly bridge: Bridge;
  private defaultRoomVersion: string | undefined;
  /** Encrypts sends into encrypted rooms, when `encryption.allow` is on (set before the engine starts). */
  encryptor: RoomEncryptor | undefined;

  constructor(
    private readonly config: Config,
    private readonly registration: Registration,
    naming: Naming,
    private readonly log: Logger,
    /** Users known to exist on the homeserver (the ghosts our store registered). */
    registered: (userId: MatrixUserId) => boolean = () => false,
  ) {
    this.botUserId = naming.botUserId;
    routeLibraryLogs(log);
    actWithoutDevices();
    this.bridge = new Bridge({
      homeserverUrl: config.homeserver.url,
      domain: config.homeserver.domain,
      registration: this.libraryRegistration(),
      controller: { onEvent: () => undefined },
      // We keep our own store (SQLite); without this the library writes nedb files into the cwd.
      disableStores: true,
      // One component orders events: our per-portal queues.
      queue: { type: 'none', perRequest: false },
      suppressEcho: false,
      disableContext: true,
      membershipCache: new KnownUsers(registered),
    });
  }

  private libraryRegistration() {
    // The library takes its own registration object; built from ours so there is one source.
    const reg = AppServiceRegistration.fromObject(this.registration as never);
    if (!reg) throw new Error('registration could not be read by matrix-appservice-bridge');
    return reg;
  }

  /**
   * Connect to the homeserver, retrying with backoff while it is unreachable (the
   * spec expects appservices to start before their homeserver). Gives up after
   * `homeserver.startup_timeout_s` if set.
   */
  async start(): Promise<void> {
    const deadline = this.config.homeserver.startup_timeout_s ? Date.now() + this.config.homeserver.startup_timeout_s * 1000 : Infinity;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.bridge.initialise();
        await call(() => this.bot().ensureRegistered());
        // Reading the bot's name is also how start-up knows the homeserver answers.
        await this.nameBot();
        return;
      } catch (err) {
        const delay = Math.min(30_000, 1000 * 2 ** attempt);
        if (Date.now() + delay > deadline) throw new Error(`homeserver ${this.config.homeserver.url} not usable: ${(err as Error).message}`);
        this.log.warn({ homeserver: this.config.homeserver.url, err: (err as Error).message, retryInMs: delay }, 'homeserver not reachable yet; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * The bot's display name is written only when it differs from the config: a PUT makes
   * Synapse update the bot's membership in every room it is in, at every start otherwise.
   */
  private async nameBot(): Promise<void> {
    const wanted = this.config.appservice.bot.displayname;
    if ((await this.profile(this.bot().userId as MatrixUserId)).displayname !== wanted) await call(() => this.bot().setDisplayName(wanted));
  }

  private bot(): Intent {
    return this.bridge.getIntent();
  }

  private intent(userId: MatrixUserId): Intent {
    return this.bridge.getIntent(userId);
  }

  async registerUser(userId: MatrixUserId): Promise<void> {
    await call(() => this.intent(userId).ensureRegistered());
  }

  async setDisplayName(userId: MatrixUserId, name: string): Promise<void> {
    await call(() => this.intent(userId).setDisplayName(name));
  }

  async setAvatarUrl(userId: MatrixUserId, mxc: string): Promise<void> {
    await call(() => this.intent(userId).setAvatarUrl(mxc));
  }

  async createRoom(opts: RoomCreation): Promise<MatrixRoomId> {
    // The creator is an admin by default. Others are listed explicitly; the creator then too, except in room versions where creators are privileged (v12,
    // MSC4289), which refuse a creator in `users`.
    const others: [string, number][] = [
      ...(opts.moderators ?? []).map((u): [string, number] => [u, 50]),
      ...(opts.admins ?? []).map((u): [string, number] => [u, 100]),
    ].filter(([u]) => u !== opts.creator);
    let users: Record<string, number> | undefined;
    if (others.length) {
      users = Object.fromEntries(others);
      if (!(await this.creatorsPrivileged())) users[opts.creator] = 100;
    }
    const initialState = [...opts.initialState];
    if (opts.avatarMxc) initialState.push({ type: 'm.room.avatar', state_key: '', content: { url: opts.avatarMxc } });
    if (this.encryptor?.encryptNewRooms) initialState.push({ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } });
    const roomId = await call(() =>
      this.intent(opts.creator).matrixClient.createRoom({
        preset: 'private_chat',
        visibility: 'private',
        is_direct: opts.isDirect,
        invite: opts.invite,
        ...(opts.name && { name: opts.name }),
        ...(opts.topic && { topic: opts.topic }),
        initial_state: initialState,
        ...(users && { power_level_content_override: { users } }),
      } as never),
    );
    return matrixRoomId(roomId);
  }

  async invite(roomId: MatrixRoomId, inviter: MatrixUserId, userId: MatrixUserId): Promise<void> {
    await call(() => this.intent(inviter).invite(roomId, userId));
  }

  async join(roomId: MatrixRoomId, userId: MatrixUserId): Promise<void> {
    // Not Intent.join: it turns every failure into a bare Error, which would read as
    // "homeserver unreachable" and be retried forever; a refusal must stay a refusal.
    const intent = this.intent(userId);
    await call(() => intent.ensureRegistered());
    try {
      await call(() => intent.matrixClient.joinRoom(roomId));
    } catch (err) {
      if (!(err instanceof MatrixRequestError) || err.status !== 403 || userId === this.botUserId) throw err;
      // Invite-only room the bot is in: the bot lets the ghost in.
      await call(() => this.bot().matrixClient.inviteUser(userId, roomId));
      await call(() => intent.matrixClient.joinRoom(roomId));
    }
  }

  async leave(roomId: MatrixRoomId, userId: MatrixUserId): Promise<void> {
    await call(() => this.intent(userId).leave(roomId));
  }

  async joinedRooms(userId: MatrixUserId): Promise<MatrixRoomId[]> {
    return (await call(() => this.intent(userId).matrixClient.getJoinedRooms())) as MatrixRoomId[];
  }

  /**
   * Send with our deterministic transaction id. The homeserver deduplicates a repeat only
   * while it remembers the id (Synapse: in memory, so not across its own restart). So
   * the id also travels in the content (`TXN_KEY`), and a send whose earlier attempt
   * failed without an answer (the homeserver may have stored it before it went down) is
   * first looked for among the sender's recent events in the room.
   */
  async sendEvent(roomId: MatrixRoomId, sender: MatrixUserId, type: string, content: Record<string, unknown>, txnId: string): Promise<MatrixEventId> {
    if (this.unanswered.has(txnId)) {
      const earlier = await this.findSent(roomId, sender, txnId).catch(() => undefined);
      if (earlier) {
        this.unanswered.delete(txnId);
        this.log.info({ roomId, txnId }, 'an earlier attempt of this send reached the homeserver; not sent again');
        return earlier;
      }
    }
    try {
      // The last boundary: whatever a converter made, no lone surrogate reaches Synapse (it answers 500).
      const clear = wellFormed({ ...content, [TXN_KEY]: txnId });
      const sealed = await this.encryptor?.encryptFor(roomId, sender, type, clear);
      // Outside the ciphertext too: the transaction id (found again after a lost answer) and the
      // relation (servers aggregate edits and reactions by it; the spec keeps it in the clear),
      // but not whom a reply quotes, which the server needs for nothing.
      const { 'm.in_reply_to': _quoted, ...relation } = (content['m.relates_to'] ?? {}) as Record<string, unknown>;
      const body = sealed ? { ...sealed, [TXN_KEY]: txnId, ...(relation.rel_type !== undefined && { 'm.relates_to': relation }) } : clear;
      const res = (await call(() =>
        this.intent(sender).matrixClient.doRequest('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(sealed ? 'm.room.encrypted' : type)}/${enc(txnId)}`, null, body),
      )) as { event_id: string };
      this.unanswered.delete(txnId);
      return matrixEventId(res.event_id);
    } catch (err) {
      // No answer, or one from a homeserver in trouble: it may have stored the event anyway.
      if (failureKind(err) === 'outage') this.unanswered.add(txnId);
      throw err;
    }
  }

  /** The newest events of `sender` in a room (a few pages back) carrying our transaction id. */
  private async findSent(roomId: MatrixRoomId, sender: MatrixUserId, txnId: string): Promise<MatrixEventId | undefined> {
    const filter = JSON.stringify({ senders: [sender], limit: 100 });
    let from: string | undefined;
    for (let page = 0; page < FIND_SENT_PAGES; page++) {
      const res = (await call(() => this.intent(sender).matrixClient.doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, { dir: 'b', limit: 100, filter, ...(from && { from }) }))) as {
        chunk?: { event_id: string; content?: Record<string, unknown> }[]; end?: string;
      };
      const hit = res.chunk?.find((e) => e.content?.[TXN_KEY] === txnId);
      if (hit) return matrixEventId(hit.event_id);
      if (!res.end || !res.chunk?.length) return undefined;
      from = res.end;
    }
    return undefined;
  }

  async sendState(roomId: MatrixRoomId, sender: MatrixUserId, type: string, stateKey: string, content: Record<string, unknown>): Promise<MatrixEventId> {
    const res = (await call(() =>
      this.intent(sender).matrixClient.doRequest('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, null, wellFormed(content)),
    )) as { event_id: string };
    return matrixEventId(res.event_id);
  }

  /** The transaction id travels in the content here too (see sendEvent): it tells a gateway room which chat a ghost's redaction came from. */
  async redact(roomId: MatrixRoomId, sender: MatrixUserId, eventId: MatrixEventId, txnId: string, reason?: string): Promise<void> {
    await call(() =>
      this.intent(sender).matrixClient.doRequest('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(txnId)}`, null, { ...(reason && { reason }), [TXN_KEY]: txnId }),
    );
  }

  async setTyping(roomId: MatrixRoomId, userId: MatrixUserId, typing: boolean, timeoutMs: number): Promise<void> {
    await call(() => this.intent(userId).matrixClient.setTyping(roomId, typing, timeoutMs));
  }

  async sendReadReceipt(roomId: MatrixRoomId, userId: MatrixUserId, eventId: MatrixEventId): Promise<void> {
    await call(() => this.intent(userId).sendReadReceipt(roomId, eventId));
  }

  async setPresence(userId: MatrixUserId, presence: 'online' | 'offline' | 'unavailable', status?: string): Promise<void> {
    await call(() => this.intent(userId).setPresence(presence, status));
  }

  async uploadMedia(bytes: Uint8Array, mime: string, name: string): Promise<string> {
    return call(() => this.bot().matrixClient.uploadContent(Buffer.from(bytes), mime, name));
  }

  /** Authenticated media (MSC3916); streamed so the size cap stops a large download early. */
  async downloadMedia(mxc: string, maxBytes: number): Promise<{ bytes: Uint8Array; mime: string }> {
    const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
    if (!m) throw new MatrixRequestError(400, 'M_INVALID_PARAM', `not an mxc URI: ${mxc}`);
    let res: Response;
    try {
      res = await fetch(`${this.config.homeserver.url.replace(/\/$/, '')}/_matrix/client/v1/media/download/${enc(m[1]!)}/${enc(m[2]!)}`, {
        headers: { authorization: `Bearer ${this.registration.as_token}` },
      });
    } catch (err) {
      throw new TransientError(`homeserver unreachable: ${(err as Error).message}`, undefined, { outage: true });
    }
    if (!res.ok || !res.body) throw new MatrixRequestError(res.status, 'M_UNKNOWN', `media download failed`);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > maxBytes) throw new Error(`media larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    return { bytes: Buffer.concat(chunks), mime: res.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** Whether new rooms get a room version whose creators hold unlimited power (MSC4289). */
  private async creatorsPrivileged(): Promise<boolean> {
    if (this.defaultRoomVersion === undefined) {
      const caps = (await call(() => this.bot().matrixClient.doRequest('GET', '/_matrix/client/v3/capabilities'))) as {
        capabilities?: { 'm.room_versions'?: { default?: string } };
      };
      this.defaultRoomVersion = caps.capabilities?.['m.room_versions']?.default ?? '1';
    }
    return creatorsArePrivileged(this.defaultRoomVersion);
  }

  async pingHomeserver(): Promise<number> {
    const path = `/_matrix/client/v1/appservice/${encodeURIComponent(this.config.appservice.id)}/ping`;
    const res = (await call(() => this.bot().matrixClient.doRequest('POST', path, null, {}))) as { duration_ms?: number };
    return res.duration_ms ?? 0;
  }

  async homeserverAnswers(): Promise<boolean> {
    try {
      const res = await fetch(new URL('/_matrix/client/versions', this.config.homeserver.url), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  async eventsBefore(roomId: MatrixRoomId, eventId: MatrixEventId, limit: number, reader: MatrixUserId): Promise<Record<string, unknown>[]> {
    const client = this.intent(reader).matrixClient;
    return eventsBeforeAnchor((path, query) => call(() => client.doRequest('GET', path, query)), roomId, eventId, limit);
  }

  async roomState(roomId: MatrixRoomId, type: string, stateKey: string, reader?: MatrixUserId): Promise<Record<string, unknown> | undefined> {
    const client = reader ? this.intent(reader).matrixClient : this.bot().matrixClient;
    try {
      return (await call(() => client.getRoomStateEvent(roomId, type, stateKey))) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof MatrixRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  async resolveAlias(alias: string): Promise<MatrixRoomId | undefined> {
    try {
      const res = (await call(() => this.bot().matrixClient.doRequest('GET', `/_matrix/client/v3/directory/room/${enc(alias)}`))) as { room_id?: string };
      return res.room_id ? matrixRoomId(res.room_id) : undefined;
    } catch (err) {
      if (err instanceof MatrixRequestError && (err.status === 404 || err.status === 400)) return undefined;
      throw err;
    }
  }

  async recentMessages(roomId: MatrixRoomId, limit: number): Promise<Record<string, unknown>[]> {
    const filter = JSON.stringify({ types: ['m.room.message'] });
    const out: Record<string, unknown>[] = [];
    let from: string | undefined;
    while (out.length < limit) {
      const res = (await call(() => this.bot().matrixClient.doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, { dir: 'b', limit: Math.min(100, limit - out.length), filter, ...(from && { from }) }))) as {
        chunk?: Record<string, unknown>[]; end?: string;
      };
      out.push(...(res.chunk ?? []));
      if (!res.end || !res.chunk?.length) break;
      from = res.end;
    }
    return out.slice(0, limit).reverse();
  }

  async profile(userId: MatrixUserId): Promise<{ displayname?: string; avatar_url?: string }> {
    try {
      const p = (await call(() => this.bot().matrixClient.doRequest('GET', `/_matrix/client/v3/profile/${enc(userId)}`))) as Record<string, unknown>;
      return { ...(typeof p.displayname === 'string' && { displayname: p.displayname }), ...(typeof p.avatar_url === 'string' && { avatar_url: p.avatar_url }) };
    } catch (err) {
      if (err instanceof MatrixRequestError && (err.status === 404 || err.status === 403)) return {};
      throw err;
    }
  }

  async joinedMembers(roomId: MatrixRoomId, reader?: MatrixUserId): Promise<{ userId: MatrixUserId; displayName?: string }[]> {
    const res = (await call(() => (reader ? this.intent(reader) : this.bot()).matrixClient.doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`))) as { joined?: Record<string, { display_name?: unknown }> };
    return Object.entries(res.joined ?? {}).map(([userId, m]) => ({ userId: userId as MatrixUserId, ...(typeof m.display_name === 'string' && m.display_name && { displayName: m.display_name }) }));
  }

  async invitedMembers(roomId: MatrixRoomId, reader?: MatrixUserId): Promise<MatrixUserId[]> {
    const res = (await call(() => (reader ? this.intent(reader) : this.bot()).matrixClient.doRequest('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/members`, { membership: 'invite' }))) as { chunk?: { state_key?: unknown }[] };
    return (res.chunk ?? []).flatMap((e) => (typeof e.state_key === 'string' ? [e.state_key as MatrixUserId] : []));
  }

  async powerLevel(roomId: MatrixRoomId, userId: MatrixUserId): Promise<number> {
    // `format=event` gives the whole create event: in v12 rooms its sender is a creator.
    const create = (await call(() =>
      this.bot().matrixClient.doRequest('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.create/`, { format: 'event' }),
    )) as { sender?: string; content?: { room_version?: string; additional_creators?: string[] } };
    const version = create.content?.room_version ?? '1';
    if (creatorsArePrivileged(version) && (create.sender === userId || create.content?.additional_creators?.includes(userId))) return Number.POSITIVE_INFINITY;
    const pl = (await call(() => this.bot().matrixClient.getRoomStateEvent(roomId, 'm.room.power_levels', ''))) as {
      users?: Record<string, number>;
      users_default?: number;
    };
    return pl.users?.[userId] ?? pl.users_default ?? 0;
  }
}

/** Room versions where creators hold unlimited power and are never listed in power levels (MSC4289). */
export function creatorsArePrivileged(roomVersion: string): boolean {
  if (roomVersion === 'org.matrix.hydra.11') return true;
  return /^\d+$/.test(roomVersion) && Number(roomVersion) >= 12;
}

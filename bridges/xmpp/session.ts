/**
 * One XMPP account's live connection: connects (SCRAM with stored keys), keeps the
 * roster names, joins the MUCs it bridges, turns stanzas into events and events into
 * stanzas, and reconnects by itself with backoff and jitter after a drop.
 */
import type { AdapterSession, Delivery, EventSink, LoginInfo, OwnPresence } from '../../core/adapter.js';
import type { ChatInfo, OutboundEvent, SendResult, UserInfo } from '../../core/events.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import jid from '@xmpp/jid';
import xml, { type Element } from '@xmpp/xml';
import { randomUUID } from 'node:crypto';
import { AuthError, createConnection, quiet, withTimeout, type XmppConnection } from './connection.js';
import type { XmppConfig } from './config.js';
import { History, type HistoryState } from './history.js';
import { Muc, type IdPair } from './muc.js';
import { autojoinBookmarks } from './bookmarks.js';
import { findUploadService, NS_OOB, upload, type UploadService } from './files.js';
import { sendWithFiles } from './send-files.js';
import { fetchShared } from './shared-files.js';
import { singleLineName } from '../../core/safety.js';
import type { ScramKeys } from './scram.js';
import { buildStanza, contactPresence, NS, ownPresenceStanza, parseMessage } from './stanzas.js';
import { fetchVcard } from './vcard.js';
import { fetchPepAvatar } from './pep-avatar.js';
import { fetchAfter, type ArchiveCursor, type ArchivedMessage, type ArchiveQuery } from './mam.js';
import { SentLookup, sentByUs } from './sent-lookup.js';
import { StreamManagement } from './stream-management.js';

/** What a login keeps in the store (encrypted): never a password. */
export interface XmppLoginData {
  jid: string;
  keys?: ScramKeys;
  /** MUCs this login bridges, rejoined after every reconnect. */
  mucs?: string[];
  /** Where each archive's catch-up resumes (history.ts). */
  history?: HistoryState;
  /** The newest MUC message id pairs (muc.ts), for corrections after a restart. */
  mucIds?: IdPair[];
}

const REFLECTION_TIMEOUT_MS = 10_000;
const RECONNECT_BASE_MS = 1_000;
const RECONNECT_MAX_MS = 60_000;
const LOGIN_TIMEOUT_MS = 30_000;

export class XmppSession implements AdapterSession {
  private conn: XmppConnection | undefined;
  /** Logged in, rooms joined and archives read: sends may go out. */
  private online = false;
  /** Archive reads of the sent lookup (sent-lookup.ts); their results are routed to them. */
  private readonly lookups = new Set<ArchiveQuery>();
  private data: XmppLoginData;
  private readonly self: string;
  private readonly roster = new Map<string, string>();
  private readonly muc: Muc;
  private readonly history: History;
  private uploadService: UploadService | undefined;
  /** The owner's Matrix presence, sent again with every new stream. */
  private presence: OwnPresence | undefined;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** XEP-0198 across this session's connections; a connection that stops answering is cut, then resumed. */
  private readonly sm = new StreamManagement((client) => (client.socket as { destroy(): void } | null)?.destroy());
  /** Our earlier sends found in archives, for sends whose outcome was lost (a crash, a dropped connection). */
  private readonly sent = new SentLookup((archive, from, onPage) => this.readArchive(archive, from, onPage), (archive, message) => sentByUs(archive, message, this.self, archive && this.muc.joined.get(archive)));

  constructor(
    private readonly login: LoginInfo,
    private readonly config: XmppConfig,
    private readonly sink: EventSink,
    /** Only for the relay account, whose password comes from config. */
    private readonly password?: string,
  ) {
    this.data = { ...(login.data as unknown as XmppLoginData) };
    if (!this.data.jid) throw new Error(`xmpp login ${login.id} has no jid`);
    this.self = jid(this.data.jid).bare().toString();
    const nick = login.kind === 'relay' ? config.mucNick : jid(this.self).local;
    this.muc = new Muc(nick, () => this.conn, sink.log);
    this.muc.restoreIds(this.data.mucIds);
    this.history = new History(this.data.history, {
      self: this.self,
      handle: (stanza, archived) => this.handleMessage(stanza, archived),
      save: (history) => this.save({ history, mucIds: this.muc.recentIds() }),
      log: sink.log,
    });
  }

  async connect(): Promise<void> {
    this.stopped = false;
    this.sink.state({ state: 'connecting' });
    await this.open();
  }

  private async open(): Promise<void> {
    const local = jid(this.self).local;
    let newKeys: ScramKeys | undefined;
    const conn = createConnection({
      ...(this.config.service && { service: this.config.service }),
      domain: jid(this.self).domain,
      resource: `switchboard-${randomUUID().slice(0, 8)}`,
      ...(this.config.tlsCaFile && { caFile: this.config.tlsCaFile }),
      credentials: {
        username: local,
        ...(this.data.keys && { keys: this.data.keys }),
        ...(this.password !== undefined && { password: this.password }),
        onKeys: (k) => { newKeys = k; },
      },
      streamManagement: this.sm,
    });
    // A stanza counts as handled for the server (XEP-0198) once onStanza is done with it.
    conn.client.on('stanza', (st) => this.sm.track(conn.client, this.onStanza(st)));
    conn.client.on('error', (err) => this.sink.log.debug({ err: err.message }, 'xmpp connection error'));
    this.conn = conn;
    // Messages can arrive as soon as we are online; they wait until the archives are read.
    this.history.hold();
    try {
      // A server that accepts the connection and then stalls (one starting up) must not hang us.
      await withTimeout(conn.client.start(), LOGIN_TIMEOUT_MS, `no complete login within ${LOGIN_TIMEOUT_MS / 1000} s`);
    } catch (err) {
      await this.history.catchUp(undefined, []); // releases whatever was held
      this.conn = undefined;
      quiet(conn);
      await withTimeout(conn.client.stop(), 5_000, 'stop timed out').catch(() => undefined);
      if (err instanceof AuthError) {
        this.stopped = true;
        this.sink.state({ state: 'bad-credentials', reason: err.message });
      }
      throw err;
    }
    // Only a connection that came up can drop; a failed attempt is retried by whoever called open().
    conn.client.on('disconnect', () => {
      conn.iq.failAll('connection lost');
      if (this.conn === conn) this.onDrop('connection lost');
    });
    this.attempt = 0;
    if (newKeys && JSON.stringify(newKeys) !== JSON.stringify(this.data.keys)) await this.save({ keys: newKeys });
    if (this.sm.resumed) {
      // The server kept our presence and rooms, and sends what it held for us: nothing to fetch.
      this.sink.log.info({}, 'xmpp stream resumed');
      await this.history.catchUp(undefined, []);
      // The owner's presence may have changed while we were away.
      if (this.presence) await this.announcePresence(conn, this.presence);
      this.startPings(conn);
    } else {
      this.muc.forgetJoins();
      await this.afterOnline(conn);
    }
    this.online = this.conn === conn;
    this.sink.state({ state: 'connected' });
  }

  private async afterOnline(conn: XmppConnection): Promise<void> {
    const rooms: string[] = [];
    try {
      await this.prepare(conn, rooms);
    } finally {
      await this.history.catchUp(conn, rooms);
    }
    this.startPings(conn);
  }

  private startPings(conn: XmppConnection): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => void this.checkRooms(conn), this.config.mucPingIntervalS * 1000);
    this.pingTimer.unref();
  }

  /** Presence, carbons, roster, and the MUCs to be in (pushed to `rooms` once joined). */
  private async prepare(conn: XmppConnection, rooms: string[]): Promise<void> {
    await conn.client.send(ownPresenceStanza(this.presence));
    // Carbons and the roster are comforts: a server without them still bridges.
    await conn.iq.set(xml('enable', { xmlns: NS.carbons })).catch((err: Error) => this.sink.log.debug({ err: err.message }, 'carbons not enabled'));
    const roster = await conn.iq.get(xml('query', { xmlns: 'jabber:iq:roster' })).catch(() => undefined);
    for (const item of roster?.getChildren('item') ?? []) {
      if (!item.attrs.jid) continue;
      if (item.attrs.name) this.roster.set(item.attrs.jid, item.attrs.name);
      // Roster contacts become ghosts with their names before they ever write.
      if (this.login.kind === 'puppet') await this.sink.emit({ type: 'user-info', info: { id: remoteUserId(item.attrs.jid), name: item.attrs.name || jid(item.attrs.jid).local } }).catch(() => undefined);
    }
    const wanted = new Map<string, string | undefined>((this.data.mucs ?? []).map((room) => [room, undefined]));
    // A person's autojoin bookmarks are their rooms too, as on their other clients.
    if (this.login.kind === 'puppet') for (const b of await autojoinBookmarks(conn)) if (!wanted.has(b.room)) wanted.set(b.room, b.nick);
    for (const [room, nick] of wanted) {
      await this.muc.join(room, nick).then(() => rooms.push(room), (err: Error) => this.sink.log.warn({ room, err: err.message }, 'could not join MUC'));
    }
  }

  /** Rejoin rooms that dropped us silently (XEP-0410), and fetch what we missed there. */
  private async checkRooms(conn: XmppConnection): Promise<void> {
    if (this.conn !== conn) return;
    const lost: string[] = [];
    for (const room of [...this.muc.joined.keys()]) if (!(await this.muc.stillJoined(room))) lost.push(room);
    for (const room of lost) {
      this.sink.log.warn({ room }, 'no longer in the MUC (self-ping); rejoining');
      this.muc.dropped(room);
      await this.muc.join(room).catch((err: Error) => this.sink.log.warn({ room, err: err.message }, 'could not rejoin MUC'));
    }
    const back = lost.filter((room) => this.muc.joined.has(room));
    if (back.length) await this.history.catchUp(conn, back);
  }

  private onDrop(reason: string): void {
    this.conn = undefined;
    this.online = false;
    this.sm.dropped();
    // Rooms stay joined for a resumed stream; a new one forgets them (open()).
    this.muc.abandonJoins();
    if (this.stopped) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.sink.state({ state: 'transient-error', reason, retryInMs: Math.round(delay) });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.open().catch((err: Error) => {
        if (!(err instanceof AuthError)) this.onDrop(err.message);
      });
    }, delay);
  }

  async disconnect(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    // A clean stop ends the stream on the server too: nothing to resume.
    this.sm.forget();
    await this.history.saveNow();
    const conn = this.conn;
    this.conn = undefined;
    this.online = false;
    if (conn) {
      quiet(conn);
      await withTimeout(conn.client.stop(), 5_000, 'stop timed out').catch(() => undefined);
    }
    this.sink.state({ state: 'disconnected' });
  }

  private async save(change: Partial<XmppLoginData>): Promise<void> {
    this.data = { ...this.data, ...change };
    await this.sink.persist({ ...this.data });
  }

  /** Settles once the stanza is handled: a message when the core recorded it (or it was dropped). */
  private async onStanza(stanza: Element): Promise<void> {
    const taken = this.history.intercept(stanza);
    if (taken) return taken;
    for (const q of this.lookups) if (q.offer(stanza)) return;
    if (stanza.is('presence')) {
      const contact = contactPresence(stanza, this.self, this.muc.joined);
      if (contact) return void (await this.sink.emit(contact).catch(() => undefined));
      const member = this.muc.onPresence(stanza);
      if (member) await this.sink.emit(member).catch((err: Error) => this.sink.log.warn({ err: err.message }, 'membership not recorded'));
      return;
    }
    if (!stanza.is('message')) return;
    await this.handleMessage(stanza);
  }

  /** One message, live or from an archive: to the core, then the archive position moves. */
  private async handleMessage(stanza: Element, archived?: { id: string; timestamp?: number }): Promise<void> {
    let parsed;
    try {
      parsed = parseMessage(stanza, { self: this.self, mucs: this.muc.joined, stanzaIdOf: (room, id) => this.muc.stanzaIdOf(room, id) }, archived?.id);
    } catch (err) {
      this.sink.log.warn({ err: (err as Error).message, stanza: stanza.toString().slice(0, 300) }, 'malformed stanza dropped');
      return;
    }
    if (parsed.ids) this.muc.rememberIds(parsed.ids.room, parsed.ids.idAttr, parsed.ids.stanzaId);
    if (parsed.reflection) this.muc.reflected(parsed.reflection);
    if (parsed.event) {
      const event = archived?.timestamp !== undefined && parsed.event.chat ? { ...parsed.event, timestamp: archived.timestamp } : parsed.event;
      try {
        await this.sink.emit(event);
      } catch (err) {
        // Not recorded: the archive position stays, so the next catch-up brings it again.
        this.sink.log.error({ err: (err as Error).message }, 'event not recorded');
        return;
      }
    }
    if (!archived) this.history.advance(stanza);
  }

  async send(ev: OutboundEvent, delivery?: Delivery): Promise<SendResult> {
    const conn = this.conn;
    if (!conn || !this.online) throw new Error('not connected to the XMPP server');
    const room = this.muc.joined.has(ev.chat) ? ev.chat : undefined;
    // A room we bridge but are not in (yet, again): sending it as a chat message would lose it.
    if (!room && this.data.mucs?.includes(ev.chat)) throw new Error(`not in the MUC ${ev.chat} at the moment`);
    const key = delivery?.key ?? randomUUID();
    if (delivery?.maybeSent && ev.type === 'message') {
      // Did an earlier attempt reach the server? Our message with this origin id (XEP-0359) in the archive that would hold it.
      const earlier = await this.sent.find(room, key, delivery.since);
      if (earlier) {
        this.sink.log.info({ chat: ev.chat, originId: key }, 'an earlier attempt of this send reached the server; not sent again');
        return { status: 'sent', remoteId: remoteMessageId(earlier) };
      }
    }
    if (ev.type === 'message' && ev.content.attachments?.length) {
      this.uploadService ??= await findUploadService(conn, jid(this.self).domain);
      const sendOne = (one: OutboundEvent, originId: string, oobUrl?: string) => this.sendOne(conn, one, room, originId, oobUrl);
      const service = this.uploadService;
      const up = service && ((file: { name: string; mime: string; bytes: Uint8Array }) => upload(conn, service, file, this.http(file.bytes.length)));
      return sendWithFiles({ upload: up, sendOne, log: this.sink.log }, ev, key);
    }
    return this.sendOne(conn, ev, room, key);
  }

  /** An archive read for the sent lookup: its results are routed to it (see `lookups`). */
  private async readArchive(archive: string | undefined, from: ArchiveCursor, onPage: (page: ArchivedMessage[]) => Promise<void>): Promise<void> {
    const conn = this.conn;
    if (!conn) throw new Error('not connected to the XMPP server');
    let current: ArchiveQuery | undefined;
    const track = (q: ArchiveQuery | undefined) => {
      if (current) this.lookups.delete(current);
      current = q;
      if (q) this.lookups.add(q);
    };
    await fetchAfter(conn, archive, from, track, onPage);
  }

  private async sendOne(conn: XmppConnection, ev: OutboundEvent, room: string | undefined, originId: string, oobUrl?: string): Promise<SendResult> {
    const out = buildStanza(ev, room ? 'groupchat' : 'chat', () => originId, (id) => (room ? this.muc.idAttrOf(room, id) : id));
    if (!out) return { status: 'unsupported', reason: `XMPP does not carry ${ev.type} here` };
    if (oobUrl) out.stanza.append(xml('x', { xmlns: NS_OOB }, xml('url', {}, oobUrl)));
    if (room && ev.type === 'message') {
      // The MUC gives the message its own id (XEP-0359), which replies and reactions use; wait for it.
      const reflected = this.muc.awaitReflection(out.originId, REFLECTION_TIMEOUT_MS);
      await conn.client.send(out.stanza);
      await this.sm.confirmed();
      const stanzaId = await reflected;
      return { status: 'sent', remoteId: remoteMessageId(stanzaId ?? out.originId) };
    }
    await conn.client.send(out.stanza);
    // Written to the socket is not received: with XEP-0198 the server says so (else a lost send shows up as a failure).
    await this.sm.confirmed();
    return ev.type === 'message' ? { status: 'sent', remoteId: remoteMessageId(out.originId) } : { status: 'sent' };
  }

  /** The owner's Matrix presence: to their contacts, and to each room as their occupant. */
  async setPresence(presence: OwnPresence): Promise<void> {
    this.presence = presence;
    const conn = this.conn;
    if (!conn || !this.online) return; // goes out when the stream is back
    await this.announcePresence(conn, presence);
  }

  private async announcePresence(conn: XmppConnection, presence: OwnPresence): Promise<void> {
    await conn.client.send(ownPresenceStanza(presence));
    for (const [room, nick] of this.muc.joined) await conn.client.send(ownPresenceStanza(presence, `${room}/${nick}`));
  }

  async getChatInfo(chat: RemoteChatId): Promise<ChatInfo> {
    const conn = this.conn;
    if (!conn) throw new Error('not connected to the XMPP server');
    if (this.muc.joined.has(chat)) return { id: chat, kind: 'group', name: jid(chat).local };
    const info = await conn.iq.get(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), chat).catch((err: Error & { condition?: string }) => {
      // A server answers for its users' bare JIDs only to subscribed contacts: a person, not a room.
      if (err.condition === 'service-unavailable' || /service-unavailable/.test(err.message)) return undefined;
      throw new Error(`${chat} does not answer (${err.message})`);
    });
    if (!info) return { id: chat, kind: 'dm', name: this.roster.get(chat) ?? jid(chat).local };
    const identity = info.getChildren('identity')[0];
    if (info.getChildren('identity').some((i) => i.attrs.category === 'conference')) {
      await this.muc.join(chat);
      await this.save({ mucs: [...new Set([...(this.data.mucs ?? []), chat])] });
      await this.history.startRoom(conn, chat);
      return { id: remoteChatId(chat), kind: 'group', name: identity?.attrs.name || jid(chat).local };
    }
    return { id: chat, kind: 'dm', name: this.roster.get(chat) ?? jid(chat).local };
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    const address = jid(user);
    const bare = address.bare().toString();
    if (address.resource && this.muc.joined.has(bare)) return { id: user, name: singleLineName(address.resource) };
    const card = this.conn ? await fetchVcard(this.conn, bare).catch(() => undefined) : undefined;
    const avatar = (this.conn ? await fetchPepAvatar(this.conn, bare).catch(() => undefined) : undefined) ?? card?.avatar;
    const name = this.roster.get(bare) ?? card?.name ?? address.local;
    return { id: user, name, ...(avatar && { avatar }) };
  }

  fetchMedia(ref: string, maxBytes: number): Promise<Uint8Array> {
    return fetchShared(ref, maxBytes, this.config.allowPrivateMedia);
  }

  private http(maxBytes: number) {
    return { allowPrivate: this.config.allowPrivateMedia, timeoutMs: 60_000, maxBytes };
  }
}

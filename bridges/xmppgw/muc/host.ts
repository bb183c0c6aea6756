/**
 * The rooms component: public Matrix rooms as MUCs (XEP-0045 as a service), served by the
 * network's relay login. An XMPP person joins `room\40example.org@muc.<component>/nick`;
 * the core finds `#room:example.org`, links it, and names its members, who become
 * occupants under their display names. XMPP occupants' messages go to the room as their
 * ghosts (after the core recorded them) and are reflected to every XMPP occupant; Matrix
 * members' messages reach every XMPP occupant from the member's occupant address.
 */
import jid, { type JID } from '@xmpp/jid';
import xml, { type Element } from '@xmpp/xml';
import { randomUUID } from 'node:crypto';
import type { AdapterSession, Delivery, EventSink, LoginInfo } from '../../../core/adapter.js';
import type { ChatInfo, OutboundEvent, RelayedSender, SendResult, UserInfo } from '../../../core/events.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteChatId, type RemoteUserId } from '../../../core/ids.js';
import { sendWithFiles } from '../../xmpp/send-files.js';
import { fetchShared } from '../../xmpp/shared-files.js';
import { buildStanza, NS, parseMessage } from '../../xmpp/stanzas.js';
import { NS_OOB } from '../../xmpp/files.js';
import { aliasOfLocalpart, localpartOfMatrixUser } from '../addresses.js';
import { errorReply } from '../component.js';
import type { GatewayConfig } from '../config.js';
import type { Router, RoomsHost } from '../router.js';
import { commonIq, NS_DISCO_INFO, NS_DISCO_ITEMS, result } from '../service.js';
import { answerArchiveQuery, joinHistory } from './catch-up.js';
import { NS_VCARD, Profiles } from '../vcard.js';
import { NS_MAM } from './archive.js';
import { cleanNick, HostedRoom, NS_MUC, type XmppOccupant } from './room.js';

/** What the relay login keeps: the XMPP occupants of each room, so a restart does not forget them. */
export interface RoomsLoginData {
  occupants?: [room: string, nick: string, full: string][];
}

type Refusal = { condition: 'item-not-found' | 'forbidden'; text: string };
const CONNECT_WAIT_MS = 30_000;
const ROOM_FEATURES = [NS_MUC, 'muc_public', 'muc_persistent', 'muc_open', 'muc_unmoderated', 'muc_nonanonymous', NS.sid, NS_DISCO_INFO, 'urn:xmpp:mam:2'];

export class RoomsSession implements AdapterSession, RoomsHost {
  private readonly rooms = new Map<string, HostedRoom>();
  private readonly saved: Map<string, [string, string][]>;
  private readonly profiles: Profiles;
  private connected = false;

  constructor(login: LoginInfo, private readonly config: GatewayConfig, private readonly sink: EventSink, private readonly router: Router) {
    const data = login.data as RoomsLoginData;
    this.saved = new Map();
    this.profiles = new Profiles(sink);
    for (const [room, nick, full] of data.occupants ?? []) this.saved.set(room, [...(this.saved.get(room) ?? []), [nick, full]]);
    sink.log.debug({ occupants: data.occupants?.length ?? 0 }, 'room occupants restored');
  }

  async connect(): Promise<void> {
    const link = this.router.roomsLink;
    if (!link) throw new Error('no muc component is configured');
    this.sink.state({ state: 'connecting' });
    this.router.setRoomsHost(this);
    if (!(await link.upWithin(CONNECT_WAIT_MS))) throw new Error('the rooms component is not connected to the XMPP server');
    this.linkState(true);
  }

  async disconnect(): Promise<void> {
    this.router.setRoomsHost(undefined);
    this.connected = false;
    this.sink.state({ state: 'disconnected' });
  }

  linkState(up: boolean, reason?: string): void {
    if (up === this.connected) return;
    this.connected = up;
    this.sink.state(up ? { state: 'connected' } : { state: 'transient-error', reason: reason ?? 'the XMPP server dropped the rooms component' });
  }

  // ------------------------------------------------------------------ XMPP -> Matrix

  async handle(st: Element, from: JID): Promise<void> {
    const to = jid(st.attrs.to!);
    if (!to.local) return this.serviceStanza(st);
    const roomJid = to.bare().toString();
    if (st.is('presence')) return this.onPresence(st, from, roomJid, to.resource);
    if (st.is('iq')) return this.onIq(st, from, roomJid, to.resource);
    if (!st.is('message')) return;
    if (st.attrs.type !== 'groupchat' || to.resource) {
      await this.router.reply(errorReply(st, 'modify', 'not-acceptable', 'Private messages in a Matrix room are not bridged: write to the person\'s own address (disco their occupant for it).'));
      return;
    }
    await this.onGroupMessage(st, from, roomJid);
  }

  private async onPresence(st: Element, from: JID, roomJid: string, nick: string): Promise<void> {
    const type = st.attrs.type;
    if (type !== undefined && type !== 'unavailable') return;
    const room = await this.room(roomJid);
    const full = from.toString();
    if (type === 'unavailable') {
      if ('condition' in room) return;
      const occupant = room.occupantByFull(full);
      if (!occupant) return;
      room.xmpp.delete(occupant.nick);
      await this.toAll(room, (to) => room.presence(occupant.nick, to, occupant.full, { unavailable: true }));
      await this.router.send(room.presence(occupant.nick, full, full, { unavailable: true, self: true }));
      await this.save();
      await this.sink.emit({ type: 'member', chat: { id: remoteChatId(roomJid), kind: 'group' }, user: { id: remoteUserId(occupant.bare), name: occupant.nick }, change: 'leave' }).catch((err: Error) => this.sink.log.warn({ err: err.message }, 'leave not recorded'));
      return;
    }
    if ('condition' in room) return this.refuseJoin(st, room.condition === 'forbidden' ? 'auth' : 'cancel', room.condition, room.text);
    const already = room.occupantByFull(full);
    if (already) {
      // A nick change, which this room does not do (XEP-0045 7.6 lets a service refuse it).
      if (already.nick !== nick) return this.refuseJoin(st, 'modify', 'not-acceptable', 'Nick changes are not supported here; leave and join again.');
      // A client that lost its connection joins again while we still count it in: answer the join again.
      if (st.getChild('x', NS_MUC)) await this.welcome(st, room, already);
      return;
    }
    const clean = cleanNick(nick);
    if (!clean || clean !== nick) return this.refuseJoin(st, 'modify', 'jid-malformed', 'A nick is one line of at most 64 characters.');
    if (room.nickTaken(nick)) return this.refuseJoin(st, 'cancel', 'conflict', 'That nick is taken in this room.');
    const bare = from.bare().toString();
    const recorded = await this.sink.emit({ type: 'member', chat: { id: remoteChatId(roomJid), kind: 'group' }, user: { id: remoteUserId(bare), name: nick }, change: 'join' }).then(() => true, (err: Error) => {
      this.sink.log.error({ err: err.message }, 'join not recorded');
      return false;
    });
    if (!recorded) return this.refuseJoin(st, 'wait', 'internal-server-error', 'The gateway could not take your join; try again.');
    if (room.nickTaken(nick)) return this.refuseJoin(st, 'cancel', 'conflict', 'That nick is taken in this room.'); // taken meanwhile
    await this.toAll(room, (to) => room.presence(nick, to, full));
    // In from now, but what the room says waits until the joiner has had its welcome, so it comes in order.
    const occupant: XmppOccupant = { nick, full, bare, held: [] };
    room.xmpp.set(nick, occupant);
    await this.save();
    await this.welcome(st, room, occupant);
  }

  /**
   * What a joiner receives (XEP-0045 7.2): everyone's presence, its own, history, then the
   * subject, which says the join is done; then whatever the room said meanwhile.
   */
  private async welcome(st: Element, room: HostedRoom, occupant: XmppOccupant): Promise<void> {
    occupant.held ??= [];
    const { nick, full } = occupant;
    const history = await joinHistory(this.sink, room, st.getChild('x', NS_MUC)?.getChild('history'), this.config.muc!.history);
    for (const p of room.presences(full)) await this.router.send(p);
    await this.router.send(room.presence(nick, full, full, { self: true }));
    for (const old of history) await this.router.send(xml('message', { ...old.attrs, to: full }, ...old.children));
    await this.router.send(xml('message', { from: room.jid, to: full, type: 'groupchat', id: randomUUID() }, xml('subject', {}, room.subject)));
    while (occupant.held.length) await this.router.send(occupant.held.shift()!);
    occupant.held = undefined;
  }

  /** One stanza to every XMPP occupant (`make(to)`), held back for one still being welcomed. */
  private async toAll(room: HostedRoom, make: (to: string) => Element): Promise<void> {
    for (const o of [...room.xmpp.values()]) {
      const stanza = make(o.full);
      if (o.held) o.held.push(stanza);
      else await this.router.send(stanza);
    }
  }

  private async refuseJoin(st: Element, type: 'cancel' | 'auth' | 'modify' | 'wait', condition: string, text: string): Promise<void> {
    const answer = errorReply(st, type, condition, text);
    answer.append(xml('x', { xmlns: NS_MUC }));
    await this.router.reply(answer);
  }

  private async onGroupMessage(st: Element, from: JID, roomJid: string): Promise<void> {
    // Loaded if need be: after a restart the first stanza may be a message from someone still in.
    const loaded = await this.room(roomJid);
    const room = 'condition' in loaded ? undefined : loaded;
    const occupant = room?.occupantByFull(from.toString());
    if (!room || !occupant) {
      await this.router.reply(errorReply(st, 'modify', 'not-acceptable', 'You are not in this room; join it first.'));
      return;
    }
    if (st.getChild('subject') && st.getChildText('body') === null) {
      await this.router.reply(errorReply(st, 'auth', 'forbidden', 'The subject is the Matrix room\'s topic; change it there.'));
      return;
    }
    const stanzaId = room.stanzaIdFor(occupant.bare, st.getChild('origin-id', NS.sid)?.attrs.id ?? st.attrs.id);
    // What every occupant receives; a stanza id claiming to be this room's is the room's to give, not the sender's.
    const children = st.children.filter((c): c is Element => typeof c !== 'string' && !(c.name === 'stanza-id' && c.attrs.by === roomJid));
    const reflected = xml('message', { from: `${roomJid}/${occupant.nick}`, type: 'groupchat', ...(st.attrs.id && { id: st.attrs.id }) }, ...children, xml('stanza-id', { xmlns: NS.sid, id: stanzaId, by: roomJid }));
    let parsed;
    try {
      parsed = parseMessage(reflected, { self: this.config.muc!.component, mucs: new Map([[roomJid, '\u0000']]), stanzaIdOf: (_room, id) => room.stanzaIdFor(occupant.bare, id) });
    } catch (err) {
      this.sink.log.warn({ err: (err as Error).message }, 'malformed room message refused');
      await this.router.reply(errorReply(st, 'modify', 'bad-request', 'The gateway could not read this message.'));
      return;
    }
    if (parsed.event && 'sender' in parsed.event) {
      const event = { ...parsed.event, sender: { id: remoteUserId(occupant.bare), name: occupant.nick } };
      try {
        await this.sink.emit(event);
      } catch (err) {
        this.sink.log.error({ err: (err as Error).message }, 'room message not recorded');
        await this.router.reply(errorReply(st, 'wait', 'internal-server-error', 'The gateway could not take this message; send it again.'));
        return;
      }
    }
    await this.toAll(room, (to) => xml('message', { ...reflected.attrs, to }, ...reflected.children));
  }

  private async onIq(st: Element, from: JID, roomJid: string, nick: string): Promise<void> {
    if (st.attrs.type !== 'get' && st.attrs.type !== 'set') return;
    const payload = st.children.find((c): c is Element => typeof c !== 'string');
    const room = await this.room(roomJid);
    if ('condition' in room) return this.router.reply(errorReply(st, 'cancel', 'item-not-found', room.text));
    if (nick) {
      // XEP-0410 self-ping: answered for an occupant pinging itself, refused otherwise.
      const self = room.xmpp.get(nick)?.full === from.toString();
      if (payload?.is('ping', 'urn:xmpp:ping')) return this.router.reply(self ? result(st) : errorReply(st, 'modify', 'not-acceptable'));
      // A Matrix member's vCard by their occupant address (XEP-0054 on a MUC nick).
      const member = [...room.matrix].find(([, n]) => n === nick)?.[0];
      if (member && st.attrs.type === 'get' && payload?.is('vCard', NS_VCARD)) {
        const card = await this.profiles.vcard(member).catch(() => undefined);
        return this.router.reply(card ? result(st, card) : errorReply(st, 'wait', 'internal-server-error', 'The profile could not be read; try again.'));
      }
      return this.router.reply(errorReply(st, 'cancel', 'service-unavailable'));
    }
    if (st.attrs.type === 'set' && payload?.is('query', NS_MAM)) return answerArchiveQuery(this.sink, this.router, room, st, payload, from.toString());
    if (st.attrs.type === 'get' && payload?.is('query', NS_DISCO_INFO) && !payload.attrs.node) {
      return this.router.reply(result(st, xml('query', { xmlns: NS_DISCO_INFO },
        xml('identity', { category: 'conference', type: 'text', name: room.name ?? aliasOfLocalpart(jid(roomJid).local) ?? roomJid }),
        ...ROOM_FEATURES.map((v) => xml('feature', { var: v })))));
    }
    return this.router.reply(commonIq(st, payload) ?? errorReply(st, 'cancel', 'service-unavailable'));
  }

  private async serviceStanza(st: Element): Promise<void> {
    if (!st.is('iq')) {
      if (st.is('message')) await this.router.reply(errorReply(st, 'cancel', 'service-unavailable', `Join a room: #room:example.org is room\\40example.org@${this.config.muc!.component}.`));
      return;
    }
    const payload = st.children.find((c): c is Element => typeof c !== 'string');
    if (st.attrs.type === 'get' && payload?.is('query', NS_DISCO_INFO) && !payload.attrs.node) {
      return this.router.reply(result(st, xml('query', { xmlns: NS_DISCO_INFO },
        xml('identity', { category: 'conference', type: 'text', name: 'Matrix rooms (Switchboard)' }),
        ...[NS_MUC, NS_DISCO_INFO, NS_DISCO_ITEMS].map((v) => xml('feature', { var: v })))));
    }
    // Rooms are not listed: any public Matrix room can be joined by its address.
    if (st.attrs.type === 'get' && payload?.is('query', NS_DISCO_ITEMS)) return this.router.reply(result(st, xml('query', { xmlns: NS_DISCO_ITEMS })));
    return this.router.reply(commonIq(st, payload) ?? errorReply(st, 'cancel', 'service-unavailable'));
  }

  /** The room at this address, asking the core the first time; a refusal says why there is none. */
  private async room(roomJid: string): Promise<HostedRoom | Refusal> {
    const known = this.rooms.get(roomJid);
    if (known) return known;
    const alias = aliasOfLocalpart(jid(roomJid).local);
    if (!alias) return { condition: 'item-not-found', text: 'There is no Matrix room at this address.' };
    if (!this.sink.hostedChat) return { condition: 'item-not-found', text: 'This bridge hosts no rooms.' };
    const found = await this.sink.hostedChat(alias, remoteChatId(roomJid));
    if (!found.ok) return { condition: found.reason === 'forbidden' ? 'forbidden' : 'item-not-found', text: `${found.text[0]!.toUpperCase()}${found.text.slice(1)}.` };
    if (this.rooms.has(roomJid)) return this.rooms.get(roomJid)!; // asked twice at once
    const room = new HostedRoom(roomJid, found.topic ?? '', found.name);
    for (const m of found.members) room.matrixNick(m.id, m.name, this.addressOf(m.id));
    for (const [nick, full] of this.saved.get(roomJid) ?? []) room.xmpp.set(nick, { nick, full, bare: jid(full).bare().toString() });
    this.rooms.set(roomJid, room);
    return room;
  }

  private addressOf(matrixId: string): string {
    try {
      return `${localpartOfMatrixUser(matrixId)}@${this.config.component}`;
    } catch {
      return ''; // an ID with no address (upper case): shown without one
    }
  }

  private async save(): Promise<void> {
    const occupants: RoomsLoginData['occupants'] = [];
    for (const room of this.rooms.values()) for (const o of room.xmpp.values()) occupants.push([room.jid, o.nick, o.full]);
    await this.sink.persist({ occupants });
  }

  // ------------------------------------------------------------------ Matrix -> XMPP

  async send(ev: OutboundEvent, delivery?: Delivery): Promise<SendResult> {
    if (!this.connected || !this.router.roomsLink?.online) throw new Error('the rooms component is not connected to the XMPP server');
    const room = await this.room(ev.chat);
    if ('condition' in room) return { status: 'rejected', reason: room.text };
    if (ev.type === 'leave') return { status: 'sent' };
    if (ev.type === 'chat-info') {
      if (ev.topic === undefined) return { status: 'sent' };
      room.subject = ev.topic;
      // From whoever changed it, where known; else from the room itself.
      const from = ev.relayedFor ? `${room.jid}/${await this.occupantOf(room, ev.relayedFor)}` : room.jid;
      await this.toAll(room, (to) => xml('message', { from, to, type: 'groupchat', id: randomUUID() }, xml('subject', {}, ev.topic)));
      return { status: 'sent' };
    }
    if (!ev.relayedFor) return { status: 'unsupported', reason: 'a gateway room carries each Matrix member as themselves' };
    if (ev.type === 'member') return this.membership(room, ev.relayedFor, ev.change);
    const nick = await this.occupantOf(room, ev.relayedFor);
    const key = delivery?.key ?? randomUUID();
    if (ev.type === 'message' && ev.content.attachments?.length) {
      const sendOne = (one: OutboundEvent, originId: string, oobUrl?: string) => this.broadcast(room, nick, one, originId, oobUrl);
      return sendWithFiles({ upload: undefined, sendOne, log: this.sink.log }, ev, key);
    }
    return this.broadcast(room, nick, ev, key);
  }

  /** A Matrix member came, was renamed or went: the XMPP occupants see it (XEP-0045 presence, 303 for a new nick). */
  private async membership(room: HostedRoom, who: RelayedSender, change: 'join' | 'leave'): Promise<SendResult> {
    if (change === 'leave') {
      const address = room.addressOf(who.matrixId);
      const nick = room.leaveMatrix(who.matrixId);
      if (nick !== undefined) await this.toAll(room, (to) => room.presence(nick, to, address, { unavailable: true }));
      return { status: 'sent' };
    }
    if (!room.matrix.has(who.matrixId)) {
      await this.occupantOf(room, who);
      return { status: 'sent' };
    }
    const renamed = room.renameMatrix(who.matrixId, who.displayName);
    if (renamed) {
      const address = room.addressOf(who.matrixId);
      await this.toAll(room, (to) => room.presence(renamed.from, to, address, { unavailable: true, newNick: renamed.to }));
      await this.toAll(room, (to) => room.presence(renamed.to, to, address));
    }
    return { status: 'sent' };
  }

  /** A Matrix member's nick in the room; one who is new there is announced to the XMPP occupants first. */
  private async occupantOf(room: HostedRoom, who: RelayedSender): Promise<string> {
    const address = this.addressOf(who.matrixId);
    const { nick, added } = room.matrixNick(who.matrixId, who.displayName, address);
    if (added) await this.toAll(room, (to) => room.presence(nick, to, address || undefined));
    return nick;
  }

  /** One event to every XMPP occupant, from the member's occupant address; the room's stanza id is the origin id. */
  private async broadcast(room: HostedRoom, nick: string, ev: OutboundEvent, originId: string, oobUrl?: string): Promise<SendResult> {
    const out = buildStanza(ev, 'groupchat', () => originId, (id) => id);
    if (!out) return { status: 'unsupported', reason: `XMPP rooms do not carry ${ev.type}` };
    if (oobUrl) out.stanza.append(xml('x', { xmlns: NS_OOB }, xml('url', {}, oobUrl)));
    if (ev.type !== 'typing') out.stanza.append(xml('stanza-id', { xmlns: NS.sid, id: originId, by: room.jid }));
    await this.toAll(room, (to) => xml('message', { ...out.stanza.attrs, from: `${room.jid}/${nick}`, to }, ...out.stanza.children));
    return ev.type === 'message' ? { status: 'sent', remoteId: remoteMessageId(originId) } : { status: 'sent' };
  }

  async getChatInfo(chat: RemoteChatId): Promise<ChatInfo> {
    const room = await this.room(chat);
    if ('condition' in room) throw new Error(room.text);
    return { id: chat, kind: 'group', ...(room.name && { name: room.name }), ...(room.subject && { topic: room.subject }) };
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    const bare = jid(user).bare().toString();
    for (const room of this.rooms.values()) for (const o of room.xmpp.values()) if (o.bare === bare) return { id: user, name: o.nick };
    return { id: user, name: jid(bare).local };
  }

  fetchMedia(ref: string, maxBytes: number): Promise<Uint8Array> {
    return fetchShared(ref, maxBytes, this.config.allowPrivateMedia);
  }
}

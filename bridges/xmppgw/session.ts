/**
 * One Matrix user's address on the gateway (`alice\40example.org@matrix.example.org`): a
 * login that opens no connection of its own. The network's router hands it the stanzas
 * addressed to it once the admin's policy and rate limits let them through; it turns them
 * into events with the XMPP adapter's own parser, and sends the owner's messages from
 * their address through the shared component link.
 */
import jid from '@xmpp/jid';
import xml, { type Element } from '@xmpp/xml';
import { randomUUID } from 'node:crypto';
import type { AdapterSession, Delivery, EventSink, LoginInfo, OwnPresence } from '../../core/adapter.js';
import type { ChatInfo, OutboundEvent, SendResult, UserInfo } from '../../core/events.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import { parseBareJid } from '../xmpp/config.js';
import type { XmppConnection } from '../xmpp/connection.js';
import { sendWithFiles } from '../xmpp/send-files.js';
import { fetchShared } from '../xmpp/shared-files.js';
import { buildStanza, ownPresenceStanza, parseMessage } from '../xmpp/stanzas.js';
import { fetchVcard } from '../xmpp/vcard.js';
import { NS_OOB } from '../xmpp/files.js';
import { errorReply } from './component.js';
import type { GatewayConfig } from './config.js';
import { Contacts, type ContactsData } from './contacts.js';
import type { Router } from './router.js';
import { commonIq, NS_DISCO_INFO, result, USER_FEATURES } from './service.js';
import { NS_PUBSUB, NS_VCARD, Profiles } from './vcard.js';
import { matrixUserOfLocalpart } from './addresses.js';

/** What a gateway login keeps: its address and its address book, never a credential. */
export interface GatewayLoginData extends ContactsData {
  /** The address's localpart on the component (addresses.ts). */
  local: string;
}

const NS_RECEIPTS = 'urn:xmpp:receipts';

/** How long `connect` waits for the component link before the engine retries it. */
const CONNECT_WAIT_MS = 30_000;

export class GatewaySession implements AdapterSession {
  readonly self: string;
  private readonly contacts: Contacts;
  private readonly profiles: Profiles;
  private presence: OwnPresence | undefined;
  private connected = false;

  constructor(private readonly login: LoginInfo, private readonly config: GatewayConfig, private readonly sink: EventSink, private readonly router: Router) {
    const data = login.data as unknown as GatewayLoginData;
    if (!data.local) throw new Error(`gateway login ${login.id} has no address`);
    this.self = `${data.local}@${config.component}`;
    this.contacts = new Contacts(data, config.subscriptions);
    this.profiles = new Profiles(sink);
  }

  get local(): string {
    return (this.login.data as unknown as GatewayLoginData).local;
  }

  async connect(): Promise<void> {
    this.sink.state({ state: 'connecting' });
    this.router.attach(this);
    if (!(await this.router.link.upWithin(CONNECT_WAIT_MS))) throw new Error('the gateway is not connected to the XMPP server');
    this.linkState(true);
  }

  async disconnect(): Promise<void> {
    this.router.detach(this);
    if (this.router.link.online) await this.toSubscribers(xml('presence', { type: 'unavailable' })).catch(() => undefined);
    this.connected = false;
    this.sink.state({ state: 'disconnected' });
  }

  /** The component link went up or down (router.ts). */
  linkState(up: boolean, reason?: string): void {
    if (up === this.connected) return;
    this.connected = up;
    this.sink.state(up ? { state: 'connected' } : { state: 'transient-error', reason: reason ?? 'the XMPP server dropped the gateway' });
    if (up) void this.toSubscribers(ownPresenceStanza(this.presence)).catch(() => undefined);
  }

  /** A stanza to this address that the gateway's own policy let through. */
  async handle(stanza: Element, fromBare: string): Promise<void> {
    if (this.contacts.blocks(fromBare)) {
      // XEP-0191's answer for a blocked sender: as if nobody were here.
      if (!stanza.is('presence')) await this.router.reply(errorReply(stanza, 'cancel', 'service-unavailable'));
      return;
    }
    if (stanza.is('message')) return this.onMessage(stanza);
    if (stanza.is('presence')) return this.onPresence(stanza, fromBare);
    if (stanza.is('iq')) return this.onIq(stanza);
  }

  private async onMessage(stanza: Element): Promise<void> {
    let parsed;
    try {
      parsed = parseMessage(stanza, { self: this.self, mucs: new Map(), stanzaIdOf: () => undefined });
    } catch (err) {
      this.sink.log.warn({ err: (err as Error).message, stanza: stanza.toString().slice(0, 300) }, 'malformed stanza refused');
      await this.router.reply(errorReply(stanza, 'modify', 'bad-request', 'The gateway could not read this message.'));
      return;
    }
    if (!parsed.event) {
      // A body the bridge cannot carry (a groupchat or headline message to a person): said, not dropped.
      if (stanza.getChild('body')) await this.router.reply(errorReply(stanza, 'modify', 'not-acceptable', 'This kind of message cannot be bridged to Matrix; send a chat message.'));
      return;
    }
    try {
      await this.sink.emit(parsed.event);
    } catch (err) {
      // Not recorded: say so, so the sender's client shows the message as failed rather than sent.
      this.sink.log.error({ err: (err as Error).message }, 'event not recorded');
      await this.router.reply(errorReply(stanza, 'wait', 'internal-server-error', 'The gateway could not take this message; send it again.'));
      return;
    }
    // XEP-0184: "received" only once the bridge has it durably, so a client that waits for it knows what to send again.
    if (stanza.getChild('request', NS_RECEIPTS) && stanza.attrs.id && stanza.attrs.from) {
      await this.router.reply(xml('message', { from: this.self, to: stanza.attrs.from, id: randomUUID() }, xml('received', { xmlns: NS_RECEIPTS, id: stanza.attrs.id })));
    }
  }

  private async onPresence(stanza: Element, from: string): Promise<void> {
    const type = stanza.attrs.type;
    if (type === 'subscribe') {
      const verdict = this.contacts.request(from);
      if (verdict === 'accept') await this.accept(from);
      else if (verdict === 'refuse') await this.router.send(xml('presence', { from: this.self, to: from, type: 'unsubscribed' }));
      else if (verdict === 'ask') {
        await this.save();
        await this.sink.emit({ type: 'contact-request', user: { id: remoteUserId(from) } }).catch((err: Error) => this.sink.log.warn({ err: err.message }, 'contact request not recorded'));
      }
      return;
    }
    if (type === 'unsubscribe') {
      if (this.contacts.remove(from)) await this.save();
      return;
    }
    if (type === 'probe') {
      await this.router.send(this.contacts.isSubscriber(from) ? await this.presenceFor(from) : xml('presence', { from: this.self, to: from, type: 'unsubscribed' }));
      return;
    }
    // A contact's own presence, once they let us see it (we ask back when we accept them).
    if ((type === undefined || type === 'unavailable') && this.contacts.isSubscriber(from)) {
      const show = stanza.getChildText('show');
      const state = type === 'unavailable' ? 'offline' : show === 'away' || show === 'xa' || show === 'dnd' ? 'unavailable' : 'online';
      const status = stanza.getChildText('status')?.slice(0, 200);
      await this.sink.emit({ type: 'presence', user: remoteUserId(from), state, ...(status && { status }) }).catch(() => undefined);
    }
  }

  private async onIq(iq: Element): Promise<void> {
    const payload = iq.children.find((c): c is Element => typeof c !== 'string');
    if (iq.attrs.type === 'get' && payload?.is('query', NS_DISCO_INFO) && !payload.attrs.node) {
      await this.router.reply(result(iq, xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'account', type: 'registered' }), ...USER_FEATURES.map((v) => xml('feature', { var: v })))));
      return;
    }
    const owner = matrixUserOfLocalpart(this.local);
    if (owner && iq.attrs.type === 'get' && (payload?.is('vCard', NS_VCARD) || payload?.is('pubsub', NS_PUBSUB))) {
      // The profile: a vCard (XEP-0054), or the avatar's PEP nodes (XEP-0084).
      const answer = payload.is('vCard', NS_VCARD) ? this.profiles.vcard(owner) : this.profiles.avatarItems(owner, payload.getChild('items')?.attrs.node);
      const found = await answer.catch((err: Error) => { this.sink.log.warn({ err: err.message }, 'profile not read'); return null; });
      await this.router.reply(found ? result(iq, found) : found === null ? errorReply(iq, 'wait', 'internal-server-error', 'The profile could not be read; try again.') : errorReply(iq, 'cancel', 'item-not-found'));
      return;
    }
    await this.router.reply(commonIq(iq, payload) ?? errorReply(iq, 'cancel', 'service-unavailable'));
  }

  private async accept(bare: string): Promise<void> {
    this.contacts.allow(bare);
    await this.save();
    await this.router.send(xml('presence', { from: this.self, to: bare, type: 'subscribed' }));
    await this.router.send(await this.presenceFor(bare));
    // Mutual: their presence shows on their ghost.
    await this.router.send(xml('presence', { from: this.self, to: bare, type: 'subscribe' }));
  }

  async answerContactRequest(user: RemoteUserId, allow: boolean): Promise<void> {
    const bare = parseBareJid(user, 'address');
    if (allow) return this.accept(bare);
    this.contacts.remove(bare);
    await this.save();
    await this.router.send(xml('presence', { from: this.self, to: bare, type: 'unsubscribed' }));
  }

  async block(target: string, blocked: boolean): Promise<string> {
    const normal = this.contacts.setBlocked(target, blocked);
    await this.save();
    const what = normal.includes('@') ? normal : `everyone on ${normal}`;
    return blocked ? `Blocked ${what}: nothing from them reaches you through ${this.self}, and they are told nobody is there.` : `Unblocked ${what}.`;
  }

  async send(ev: OutboundEvent, delivery?: Delivery): Promise<SendResult> {
    if (!this.connected || !this.router.link.online) throw new Error('the gateway is not connected to the XMPP server');
    const key = delivery?.key ?? randomUUID();
    if (ev.type === 'message' && ev.content.attachments?.length) {
      // No upload service reaches a component (a server's upload is for its own users): files go as the bridge's public links.
      const sendOne = (one: OutboundEvent, originId: string, oobUrl?: string) => this.sendOne(one, originId, oobUrl);
      return sendWithFiles({ upload: undefined, sendOne, log: this.sink.log }, ev, key);
    }
    return this.sendOne(ev, key);
  }

  private async sendOne(ev: OutboundEvent, originId: string, oobUrl?: string): Promise<SendResult> {
    const out = buildStanza(ev, 'chat', () => originId, (id) => id);
    if (!out) return { status: 'unsupported', reason: `XMPP does not carry ${ev.type} here` };
    out.stanza.attrs.from = this.self;
    if (oobUrl) out.stanza.append(xml('x', { xmlns: NS_OOB }, xml('url', {}, oobUrl)));
    await this.router.send(out.stanza);
    return ev.type === 'message' ? { status: 'sent', remoteId: remoteMessageId(out.originId) } : { status: 'sent' };
  }

  async setPresence(presence: OwnPresence): Promise<void> {
    this.presence = presence;
    if (this.router.link.online) await this.toSubscribers(ownPresenceStanza(presence));
  }

  private async toSubscribers(stanza: Element): Promise<void> {
    if (!this.contacts.allSubscribers().length) return;
    const children = [...stanza.children, ...(stanza.attrs.type ? [] : [await this.photoUpdate()])];
    for (const to of this.contacts.allSubscribers()) await this.router.send(xml(stanza.name, { ...stanza.attrs, from: this.self, to }, ...children));
  }

  /** The owner's presence for one contact, with their avatar's hash (XEP-0153). */
  private async presenceFor(to: string): Promise<Element> {
    const presence = ownPresenceStanza(this.presence, to);
    presence.attrs.from = this.self;
    presence.append(await this.photoUpdate());
    return presence;
  }

  private async photoUpdate(): Promise<Element | string> {
    const owner = matrixUserOfLocalpart(this.local);
    return (owner && (await this.profiles.photoUpdate(owner))) || '';
  }

  async getChatInfo(chat: RemoteChatId): Promise<ChatInfo> {
    const bare = parseBareJid(chat, 'address');
    const domain = jid(bare).domain;
    if (domain === this.config.component) throw new Error(`${bare} is a Matrix user's address on this gateway; write to them on Matrix`);
    const refusal = this.router.gate.policy(bare, domain);
    if (refusal) throw new Error(`this bridge does not reach ${domain}`);
    // The person's server must answer its disco#info (every server does, XEP-0030): one that cannot be
    // reached (no such domain, server-to-server off) would make a room nobody could write in.
    await this.router.iq.get(xml('query', { xmlns: NS_DISCO_INFO }), domain, 10_000).catch((err: Error) => {
      throw new Error(`the XMPP server ${domain} cannot be reached from here (${err.message})`);
    });
    return { id: remoteChatId(bare), kind: 'dm', name: jid(bare).local };
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    const bare = jid(user).bare().toString();
    const card = await fetchVcard({ iq: this.router.iq } as XmppConnection, bare).catch(() => undefined);
    return { id: user, name: card?.name ?? jid(bare).local, ...(card?.avatar && { avatar: card.avatar }) };
  }

  fetchMedia(ref: string, maxBytes: number): Promise<Uint8Array> {
    return fetchShared(ref, maxBytes, this.config.allowPrivateMedia);
  }

  private async save(): Promise<void> {
    const data: GatewayLoginData = { local: this.local, ...this.contacts.data() };
    await this.sink.persist({ ...data });
  }
}

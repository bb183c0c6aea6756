/**
 * The gateway's one component link, shared by every Matrix user's address: stanzas come
 * in one at a time, in arrival order; the admin's policy and rate limits are applied; what
 * is addressed to the component itself is answered here; the rest goes to the address's
 * session, or is answered `service-unavailable` when nobody uses that address. Stanzas of
 * type `error` and iq results are never answered (no error loops).
 */
import jid, { type JID } from '@xmpp/jid';
import type { Element } from '@xmpp/xml';
import type { Logger } from '../../core/adapter.js';
import { Iq } from '../xmpp/iq.js';
import type { Client } from '@xmpp/client-core';
import { ComponentLink, errorReply } from './component.js';
import type { GatewayConfig } from './config.js';
import { Gate } from './gate.js';
import type { GatewaySession } from './session.js';
import { serviceIq } from './service.js';

type StanzaListener = (st: Element) => void;

/** What serves the rooms component (muc/host.ts): the network's relay login. */
export interface RoomsHost {
  handle(stanza: Element, from: JID): Promise<void>;
  linkState(up: boolean, reason?: string): void;
}

export class Router {
  /** Users' addresses (`component`). */
  readonly link: ComponentLink;
  /** Rooms (`muc.component`), when configured. */
  readonly roomsLink: ComponentLink | undefined;
  readonly gate: Gate;
  /** The gateway's own iq requests (a contact's vCard), answered through the link. */
  readonly iq: Iq;
  private readonly sessions = new Map<string, GatewaySession>();
  private host: RoomsHost | undefined;
  private readonly iqListeners: StanzaListener[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly config: GatewayConfig, private readonly log: Logger) {
    this.gate = new Gate(config);
    this.link = this.makeLink(config.component, config.secret, (up, reason) => {
      for (const s of this.sessions.values()) s.linkState(up, reason);
    });
    this.roomsLink = config.muc && this.makeLink(config.muc.component, config.muc.secret, (up, reason) => this.host?.linkState(up, reason));
    // iq.ts needs only `on('stanza')` and `send`; requests leave from the component's own address.
    const client = {
      on: (_event: string, fn: StanzaListener) => this.iqListeners.push(fn),
      send: (st: Element) => {
        st.attrs.from ??= config.component;
        return this.link.send(st);
      },
    };
    this.iq = new Iq(client as unknown as Client);
  }

  private makeLink(domain: string, secret: string, onState: (up: boolean, reason?: string) => void): ComponentLink {
    const { host, port, reconnectMaxS } = this.config;
    const link: ComponentLink = new ComponentLink({
      host, port, domain, secret, reconnectMaxS, log: this.log.child({ component: domain }), onState,
      onStanza: (st) => {
        this.chain = this.chain.then(() => this.route(st, link)).catch((err: Error) => this.log.error({ err: err.message }, 'gateway stanza not handled'));
      },
    });
    return link;
  }

  /** Connect both components; a refused secret rejects (a configuration error). */
  async start(): Promise<void> {
    await Promise.all([this.link.start(), this.roomsLink?.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.link.stop(), this.roomsLink?.stop()]);
  }

  /** The rooms component's server (the relay login); one at a time. */
  setRoomsHost(host: RoomsHost | undefined): void {
    this.host = host;
  }

  attach(session: GatewaySession): void {
    this.sessions.set(session.local, session);
  }

  detach(session: GatewaySession): void {
    if (this.sessions.get(session.local) === session) this.sessions.delete(session.local);
  }

  /** Send through the component the stanza is from. */
  send(stanza: Element): Promise<void> {
    return this.linkOf(stanza).send(stanza);
  }

  private linkOf(stanza: Element): ComponentLink {
    const from = stanza.attrs.from ?? '';
    const domain = from.slice(from.indexOf('@') + 1).split('/')[0];
    return this.roomsLink && domain === this.config.muc?.component ? this.roomsLink : this.link;
  }

  /** An answer to a stanza; a link that dropped meanwhile loses it, as the sender's server then reports. */
  async reply(stanza: Element): Promise<void> {
    await this.send(stanza).catch((err: Error) => this.log.debug({ err: err.message }, 'gateway answer not sent'));
  }

  private async route(st: Element, link: ComponentLink): Promise<void> {
    const type = st.attrs.type;
    if (st.is('iq') && (type === 'result' || type === 'error')) {
      for (const fn of this.iqListeners) fn(st);
      return;
    }
    if (type === 'error') return;
    let from, to;
    try {
      from = jid(st.attrs.from ?? '');
      to = jid(st.attrs.to ?? '');
    } catch {
      this.log.debug({ stanza: st.toString().slice(0, 200) }, 'gateway stanza without valid addresses dropped');
      return;
    }
    const fromBare = from.bare().toString();
    this.log.debug({ from: fromBare, to: to.toString(), stanza: st.name, type }, 'gateway stanza');
    const refusal = this.gate.policy(fromBare, from.domain) ?? (await this.gate.rate(fromBare, from.domain));
    if (refusal) {
      this.log.info({ from: fromBare, condition: refusal.condition }, 'gateway refused a stanza');
      // Presence gets an answer where a client waits for one: a subscription, a room join.
      const waits = type === 'subscribe' || (link === this.roomsLink && type === undefined);
      if (!st.is('presence') || waits) await this.reply(errorReply(st, refusal.type, refusal.condition, refusal.text));
      return;
    }
    if (link === this.roomsLink) {
      if (this.host) await this.host.handle(st, from);
      else if (!st.is('presence') || type === undefined) await this.reply(errorReply(st, 'cancel', 'service-unavailable', 'This gateway hosts no rooms right now.'));
      return;
    }
    if (!to.local) {
      if (st.is('iq')) await this.reply(serviceIq(st, { domain: this.config.component }));
      else if (st.is('message')) await this.reply(errorReply(st, 'cancel', 'service-unavailable', `Write to a Matrix user's address: @alice:example.org is alice\\40example.org@${this.config.component}.`));
      return;
    }
    const session = this.sessions.get(to.local);
    if (!session) {
      // The same answer whether the Matrix user exists or did not opt in: nobody is told who is there.
      if (!st.is('presence') || type === 'subscribe') await this.reply(errorReply(st, 'cancel', 'service-unavailable', 'No Matrix user takes messages from XMPP at this address.'));
      return;
    }
    await session.handle(st, fromBare);
  }
}

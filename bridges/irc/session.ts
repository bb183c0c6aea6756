/**
 * One IRC connection: the relay, or a person's own (bouncer style: it stays connected
 * while the bridge runs). Lines leave through a flood-control queue, cut to fit the
 * server's 512 bytes after the prefix it adds; channels are rejoined after every
 * reconnect; the network-wide registry decides which connection reports a channel.
 */
import { readFileSync } from 'node:fs';
import { Client, type MessageEvent } from 'irc-framework';
import type { AdapterSession, ConnectionCapabilities, Delivery, EventSink, LoginInfo } from '../../core/adapter.js';
import type { ChatInfo, OutboundEvent, SendResult, UserInfo } from '../../core/events.js';
import { remoteMessageId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import type { IrcConfig } from './config.js';
import { withoutControls } from './format.js';
import { DELIVERY_TAG, EchoWaiters, SeenDeliveries } from './echoes.js';
import { Accounts } from './accounts.js';
import { roundTrip, whoAccounts, whois } from './lookups.js';
import { listenForEvents } from './listen.js';
import { chatIdOf, foldCase, isChannel, usernameOf } from './names.js';
import type { IrcRegistry, Member } from './registry.js';
import { SendQueue } from './send-queue.js';
import { Channels } from './channels.js';
import { textBudget } from './split.js';
import { annotationLine, sendMessageLines, type LineIo } from './outgoing.js';
import { fromWire, guardLines, line, toWire } from './wire.js';

/** What a login keeps (encrypted by the core). */
export interface IrcLoginData {
  nick: string;
  /** SASL PLAIN account and password, when the person has a registered account. */
  sasl?: { account: string; password: string };
  /** Channels to be in, rejoined after every reconnect (display spelling). */
  channels?: string[];
}

/** Capabilities the bridge uses beyond irc-framework's own list. */
const EXTRA_CAPS = ['labeled-response', 'draft/message-redaction', 'draft/multiline'] as const;

/** How long a JOIN may take before the chat counts as unreachable. */
const JOIN_TIMEOUT_MS = 15_000;
/** A prefix as long as servers make them, when ours is not known yet (nick!user@host). */
const WORST_PREFIX = `${'n'.repeat(30)}!${'u'.repeat(10)}@${'h'.repeat(63)}`;

export class IrcSession implements AdapterSession {
  private client: Client | undefined;
  private readonly queue: SendQueue;
  private readonly data: IrcLoginData;
  private readonly channels: Channels;
  private readonly echoes = new EchoWaiters();
  private readonly delivered = new SeenDeliveries();
  private readonly accounts = new Accounts();
  /** The WHO asked after our join of a channel (folded), so it is asked once per join. */
  private readonly whoOf = new Map<string, Promise<void>>();
  private labels = 0;
  private counter = 0;
  private stopping = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private evicted: string | undefined;
  private readonly member: Member;
  private currentNick: string;

  constructor(private readonly login: LoginInfo, private readonly config: IrcConfig, private readonly sink: EventSink, private readonly registry: IrcRegistry, relaySasl?: IrcLoginData['sasl']) {
    const stored = login.data as Partial<IrcLoginData>;
    this.data = { nick: stored.nick ?? 'switchboard', ...(stored.sasl && { sasl: stored.sasl }), ...(relaySasl && { sasl: relaySasl }), channels: [...(stored.channels ?? [])] };
    this.channels = new Channels(this.data.channels);
    this.currentNick = this.data.nick;
    this.queue = new SendQueue(config.flood);
    this.member = { id: login.id, relay: login.kind === 'relay', evict: (reason) => void this.evict(reason) };
  }

  // ------------------------------------------------------------------ connection

  async connect(): Promise<void> {
    this.stopping = false;
    this.evicted = undefined;
    this.registry.opening(this.member);
    await this.open();
  }

  private open(): Promise<void> {
    this.sink.state({ state: 'connecting' });
    const client = new Client();
    guardLines(client, (command, err) => this.sink.log.warn({ command, err: String(err) }, 'an IRC line the library could not read was skipped'));
    this.client = client;
    const wanted = this.channels.list().length;
    return new Promise<void>((resolve, reject) => {
      let registered = false;
      client.on('registered', (e: { nick?: string }) => {
        registered = true;
        this.attempt = 0;
        // The nick the server registered (001 names it): after a collision it is not the one we asked for.
        this.currentNick = fromWire(e.nick ?? client.user.nick);
        this.registry.setNick(this.member, this.currentNick);
        this.queue.reopen();
        this.sink.state({ state: 'connected' });
        for (const display of this.channels.list()) void this.write('JOIN', this.joinParams(display)).catch(() => undefined);
        this.sink.log.info({ nick: this.currentNick, channels: wanted, caps: client.network.cap.enabled }, 'irc connected');
        this.watchIdle();
        resolve();
      });
      client.on('nick in use', () => {
        if (registered) return;
        if (this.login.kind === 'relay' && this.currentNick.length < 30) {
          this.currentNick += '_';
          client.changeNick(this.currentNick);
          return;
        }
        this.fail(client, 'bad-credentials', `the nick ${this.data.nick} is in use on this network; log in again with another`, reject);
      });
      client.on('irc error', (e: { error?: string; reason?: string; channel?: string }) => {
        const why = `${e.error ?? 'error'}${e.reason ? `: ${fromWire(e.reason)}` : ''}`;
        if (e.channel) this.channels.refused(fromWire(e.channel), why);
        else if (!registered) this.fail(client, e.error === 'banned_from_channel' ? 'transient-error' : 'bad-credentials', `the server refused the connection (${why})`, reject);
      });
      client.on('sasl failed', (e: { reason?: string }) => this.fail(client, 'bad-credentials', `SASL login failed (${e.reason ?? 'wrong account or password'})`, reject));
      client.on('close', () => {
        this.queue.clear(new Error('the IRC connection closed'));
        this.echoes.clear();
        this.whoOf.clear();
        if (!registered) reject(new Error(`could not connect to ${this.config.host}:${this.config.port}`));
        if (this.client === client) this.closed();
      });
      this.listen(client);
      // Capabilities irc-framework does not ask for by itself; each is used only if the server grants it.
      client.requestCap([...EXTRA_CAPS]);
      client.connect({
        host: this.config.host,
        port: this.config.port,
        nick: this.currentNick,
        username: usernameOf(this.currentNick),
        gecos: toWire(this.config.realname),
        tls: this.config.tls,
        rejectUnauthorized: true,
        ...(this.config.tlsCaFile && { ca: readFileSync(this.config.tlsCaFile) }),
        encoding: 'latin1',
        version: 'Switchboard (Matrix bridge)',
        enable_echomessage: true,
        auto_reconnect: false,
        ...(this.data.sasl && { account: { account: this.data.sasl.account, password: this.data.sasl.password } }),
        sasl_disconnect_on_fail: true,
      });
    });
  }

  private fail(client: Client, state: 'bad-credentials' | 'transient-error', reason: string, reject: (e: Error) => void): void {
    this.sink.state({ state, reason });
    if (state === 'bad-credentials') this.stopping = true;
    reject(new Error(reason));
    client.quit();
  }

  /** The connection is gone: try again later, unless we are stopping or made room for another. */
  private closed(): void {
    clearInterval(this.idleTimer);
    this.registry.leaveAll(this.member);
    this.channels.forgetMembers();
    if (this.stopping || this.evicted) {
      if (this.evicted) this.sink.state({ state: 'transient-error', reason: this.evicted });
      return;
    }
    const wait = Math.min(300_000, 2_000 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.sink.state({ state: 'transient-error', reason: 'the IRC connection was lost', retryInMs: Math.round(wait) });
    this.reconnectTimer = setTimeout(() => void this.open().catch((err: unknown) => this.sink.log.warn({ err: String(err) }, 'irc reconnect failed')), wait);
  }

  async disconnect(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.idleTimer);
    this.queue.close(new Error('disconnected'));
    this.registry.closed(this.member);
    const client = this.client;
    if (client?.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        client.once('close', () => { clearTimeout(t); resolve(); });
        client.quit('Switchboard stopping');
      });
    }
    this.sink.state({ state: 'disconnected' });
  }

  /** A person's connection unused for `idle_timeout_s` closes; their next message opens it again. */
  private watchIdle(): void {
    clearInterval(this.idleTimer);
    const limitMs = this.config.idleTimeoutS * 1000;
    if (this.login.kind === 'relay' || !limitMs) return;
    this.idleTimer = setInterval(() => {
      if (Date.now() - this.registry.idleSince(this.member) >= limitMs) {
        clearInterval(this.idleTimer);
        void this.evict(`closed after ${this.config.idleTimeoutS} s without use; it opens again when you write`);
      }
    }, Math.min(60_000, Math.max(1_000, limitMs / 4)));
    this.idleTimer.unref();
  }

  /** Make room for another person's connection; the next send opens this one again. */
  private async evict(reason: string): Promise<void> {
    this.evicted = reason;
    this.registry.closed(this.member);
    this.client?.quit('Switchboard: making room for another connection');
  }

  // ------------------------------------------------------------------ events in

  private listen(client: Client): void {
    listenForEvents(client, {
      emit: (ev) => void this.sink.emit(ev).catch((err: unknown) => this.sink.log.warn({ err: String(err) }, 'irc event not recorded')),
      log: this.sink.log,
      registry: this.registry,
      member: this.member,
      channels: this.channels,
      relay: this.login.kind === 'relay',
      ownNick: () => this.currentNick,
      ownNickChanged: (nick) => { this.currentNick = nick; },
      isOwnEcho: (e) => this.isOwnEcho(e),
      counter: () => ++this.counter,
      accounts: this.accounts,
      can: (cap) => this.can(cap),
      learnAccounts: (channel) => this.learnAccounts(channel),
    });
  }

  /** Who in a channel has which account (WHOX), asked once per join; never rejects, gives up after a while. */
  private learnAccounts(channel: string): Promise<void> {
    const client = this.client;
    if (!client?.connected || !client.network.supports('whox') || !(this.can('account-tag') || this.can('extended-join'))) return Promise.resolve();
    const key = foldCase(channel);
    let asked = this.whoOf.get(key);
    if (!asked) {
      asked = whoAccounts(client, channel, this.accounts);
      this.whoOf.set(key, asked);
    }
    return asked;
  }

  /** Our own line coming back (echo-message): it tells the id the server gave it. */
  private isOwnEcho(e: MessageEvent): boolean {
    if (foldCase(fromWire(e.nick ?? '')) !== foldCase(this.currentNick)) return false;
    const key = e.tags?.[DELIVERY_TAG];
    if (key) this.delivered.add(key, e.tags?.msgid);
    this.echoes.echoed(e.tags?.label, e.tags?.msgid);
    return true;
  }

  // ------------------------------------------------------------------ sending

  /** Write one line through the flood-control queue. */
  private write(command: string, params: string[], tags: Record<string, string> = {}): Promise<void> {
    return this.queue.push(() => {
      const client = this.client;
      if (!client?.connected) throw new Error('not connected to IRC');
      client.raw(line(command, params, tags));
    });
  }

  private can(cap: string): boolean {
    return this.client?.network.cap.isEnabled(cap) ?? false;
  }

  async send(ev: OutboundEvent, delivery?: Delivery): Promise<SendResult> {
    this.registry.touch(this.member);
    if (!this.client?.connected) {
      if (this.evicted && !this.stopping) await this.connect(); // made room for someone else: open again, then send
      else throw new Error('not connected to IRC');
    }
    const target = this.targetName(ev.chat);
    switch (ev.type) {
      case 'message': {
        if (isChannel(target)) await this.ensureJoined(target);
        const command = ev.content.kind === 'notice' ? 'NOTICE' : 'PRIVMSG';
        const prefix = this.client?.user.host ? `${this.currentNick}!${this.client.user.username}@${this.client.user.host}` : WORST_PREFIX;
        const emote = ev.content.kind === 'emote';
        const budget = textBudget(prefix, command, target) - (emote ? 9 : 0); // "\x01ACTION " and "\x01"
        const already = await this.alreadySent(delivery);
        if (already) return { status: 'sent', remoteId: remoteMessageId(already.msgid ?? `out:${delivery!.key}`) };
        const done = await sendMessageLines(this.lineIo(delivery), { command, target, emote, content: ev.content, ...(ev.replyTo && { replyTo: ev.replyTo }), budget, maxLines: this.config.maxLines, ...(delivery && { deliveryKey: delivery.key }) });
        if (!done.sent) return { status: 'unsupported', reason: 'nothing to send on IRC (the message had no text)' };
        return { status: 'sent', remoteId: remoteMessageId(done.msgid ?? `out:${delivery?.key ?? `${Date.now()}-${this.counter++}`}`) };
      }
      case 'typing':
        if (this.can('message-tags') && isChannel(target) && this.channels.wants(target)) await this.write('TAGMSG', [target], { '+typing': ev.active ? 'active' : 'done' });
        return { status: 'sent' };
      case 'receipt': case 'member': return { status: 'sent' }; // no read receipts on IRC; members are only a gateway's news
      case 'chat-info':
        if (ev.topic === undefined || !isChannel(target)) return { status: 'unsupported', reason: 'IRC channels have a topic, not a name' };
        await this.ensureJoined(target);
        await this.write('TOPIC', [target, withoutControls(ev.topic.replace(/\s*\n\s*/g, ' ')) || ' ']);
        return { status: 'sent' };
      case 'leave':
        if (isChannel(target) && this.channels.wants(target)) {
          this.channels.drop(target);
          this.whoOf.delete(foldCase(target));
          await this.persistChannels();
          await this.write('PART', [target]);
        }
        return { status: 'sent' };
      case 'reaction':
      case 'delete': {
        const out = annotationLine(ev, target, (cap) => this.can(cap));
        if ('unsupported' in out) return { status: 'unsupported', reason: out.unsupported };
        if (ev.type === 'reaction' && isChannel(target)) await this.ensureJoined(target);
        await this.write(out.command, out.params, out.tags);
        return { status: 'sent' };
      }
      case 'edit': return { status: 'unsupported', reason: 'IRC has no edits' };
    }
  }

  /**
   * What this connection can do: reactions and deletions only where the server offers them
   * (narrows ircCapabilities); no reactions through the relay, whose reaction would not say
   * whose it is (the core writes "<name> reacted 👍" instead).
   */
  capabilitiesNow(relayed: boolean): ConnectionCapabilities {
    return { reactions: !relayed && this.can('message-tags') ? 'any' : 'none', deletes: this.can('draft/message-redaction') };
  }

  /**
   * A send that may have gone before a crash or a lost connection: whether the server
   * showed us a line with its Delivery key (the echo, or the channel's replayed history
   * after our join). A PING answered means everything the server sent before it was read.
   */
  private async alreadySent(delivery: Delivery | undefined): Promise<{ msgid?: string } | undefined> {
    if (!delivery?.maybeSent || !this.can('message-tags')) return undefined;
    const seen = this.delivered.get(delivery.key);
    if (seen) return seen;
    if (this.client) await roundTrip(this.client, (command, params) => this.write(command, params), `sb-${++this.labels}`);
    return this.delivered.get(delivery.key);
  }

  /** This connection as outgoing.ts sees it. */
  private lineIo(delivery: Delivery | undefined): LineIo {
    const publish = this.sink.publishText?.bind(this.sink);
    return {
      write: (command, params, tags) => this.write(command, params, tags),
      can: (cap) => this.can(cap),
      nickOf: (user) => this.accounts.nickFor(user),
      capValue: (cap) => this.client?.network.cap.available.get(cap) || undefined,
      // The Delivery key in the label: the same send after a restart is recognisable in the server's echo.
      nextLabel: () => `${delivery?.key ?? 'sb'}-${++this.labels}`.slice(-60),
      awaitEcho: (label) => (this.can('echo-message') ? this.echoes.wait(label) : undefined),
      ...(publish && { publishText: publish }),
      warn: (fields, msg) => this.sink.log.warn(fields, msg),
    };
  }

  private targetName(chat: RemoteChatId): string {
    return this.channels.display(chat);
  }

  /** Join a channel (once), and remember it for reconnects. Rejects with the server's reason. */
  private async ensureJoined(channel: string): Promise<void> {
    const key = foldCase(channel);
    if (this.channels.wants(channel) && this.channels.isMember(channel, this.currentNick)) return;
    const joined = this.channels.waitForJoin(channel);
    await this.write('JOIN', this.joinParams(channel));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer to JOIN ${channel} within ${JOIN_TIMEOUT_MS / 1000} s`)), JOIN_TIMEOUT_MS); })])
      .finally(() => clearTimeout(timer));
    if (!(this.data.channels ?? []).some((c) => foldCase(c) === key)) await this.persistChannels();
  }

  /** JOIN's parameters: the channel, and its key where the config has one. */
  private joinParams(channel: string): string[] {
    const key = this.config.channelKeys[foldCase(channel)];
    return key ? [channel, key] : [channel];
  }

  private async persistChannels(): Promise<void> {
    this.data.channels = this.channels.list();
    await this.sink.persist({ ...this.data });
  }

  // ------------------------------------------------------------------ lookups

  async getChatInfo(chat: RemoteChatId): Promise<ChatInfo> {
    if (!this.client?.connected) throw new Error('not connected to IRC');
    if (!isChannel(chat)) {
      const who = await whois(this.client, (command, params) => this.write(command, params), chat);
      if (!who) throw new Error(`there is nobody called ${chat} on this network right now`);
      return { id: chatIdOf(who), kind: 'dm', name: who };
    }
    await this.ensureJoined(this.targetName(chat));
    await this.learnAccounts(this.targetName(chat));
    const id = chatIdOf(chat);
    const members = [...(this.channels.membersOf(chat) ?? [])].filter((n) => !this.registry.isOwnNick(n)).map((n) => this.accounts.idOf(n));
    return { id, kind: 'group', name: this.targetName(chat), members };
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    return { id: user, name: this.accounts.nickFor(user) };
  }

  async fetchMedia(): Promise<Uint8Array> {
    throw new Error('IRC messages carry no files');
  }
}

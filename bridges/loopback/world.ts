/**
 * The loopback network: a whole messaging network in memory. Tests and the demo
 * drive it as its users would ("bob says hi in #general"); sessions of the bridge
 * are connected to it like clients. Group messages are reflected to every member's
 * client, the sender's included (as XMPP MUCs do), so echo handling is exercised.
 */
import type { OwnPresence } from '../../core/adapter.js';
import type { ChatInfo, MessageContent, OutboundEvent, RemoteEvent, UserInfo } from '../../core/events.js';
import { appendRecord, loadWorld, rewriteWorld, saveChat, saveMessage, type WorldRecord } from './persist.js';
import { remoteChatId, remoteMessageId, remoteUserId, type RemoteChatId, type RemoteMessageId, type RemoteUserId } from '../../core/ids.js';

export interface LoopbackClient {
  readonly user: RemoteUserId;
  deliver(ev: RemoteEvent): Promise<void>;
  /** The network went down or came back (tests of connection-state handling). */
  networkChanged?(online: boolean): void;
}

export interface LoopbackMessage {
  id: RemoteMessageId;
  chat: RemoteChatId;
  sender: RemoteUserId;
  content: MessageContent;
  replyTo?: RemoteMessageId;
  /** Name of the Matrix user a relay spoke for. */
  relayedFor?: string;
  edits: MessageContent[];
  deleted: boolean;
  reactions: Map<RemoteUserId, Set<string>>;
  /**
   * The sender's own id for the message (a client nonce; the bridge's `Delivery.key`):
   * the network keeps one message per (sender, key), so a client that resends after a
   * lost answer makes no duplicate, as on networks with idempotent sends.
   */
  clientKey?: string;
}

export interface Chat {
  id: RemoteChatId;
  name?: string;
  topic?: string;
  members: Set<RemoteUserId>;
}

export class LoopbackWorld {
  online = true;
  private seq = 0;
  private stateFile: string | undefined;
  private readonly clients = new Set<LoopbackClient>();
  private readonly chats = new Map<RemoteChatId, Chat>();
  readonly users = new Map<RemoteUserId, UserInfo>();
  /** Passwords `login loopback` checks, for users that have one (tests set them; never persisted). */
  readonly passwords = new Map<RemoteUserId, string>();
  readonly messages = new Map<RemoteMessageId, LoopbackMessage>();
  /** Each user's presence as their client set it (the bridge, for Matrix users' own logins). */
  readonly presence = new Map<RemoteUserId, OwnPresence>();
  private readonly byClientKey = new Map<string, LoopbackMessage>();
  /** Everything the bridge did on this network, in order (for assertions). */
  readonly fromBridge: { by: RemoteUserId; event: OutboundEvent; id?: RemoteMessageId }[] = [];
  private fromBridgeWaiters: (() => void)[] = [];
  /** Deliveries scheduled for after their sender's answer, until they are done. */
  private readonly deliveries = new Set<Promise<void>>();

  /** Deliver in a later turn of the event loop; a client that fails to take it is its own problem, as on a real network. */
  private later(deliver: () => Promise<void>): void {
    const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(deliver)
      .catch(() => undefined)
      .finally(() => this.deliveries.delete(done));
    this.deliveries.add(done);
  }

  /** Waits for every delivery scheduled so far; true if there was any (tests loop until quiet). */
  async settled(): Promise<boolean> {
    if (this.deliveries.size === 0) return false;
    await Promise.all([...this.deliveries]);
    return true;
  }

  /** Resolves when the bridge next does something on the network, or after `ms`. */
  nextFromBridge(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.fromBridgeWaiters = this.fromBridgeWaiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.fromBridgeWaiters.push(done);
    });
  }

  /**
   * Keep the network's state in `file` (written synchronously after every change, read
   * now if it exists), so the network outlives a bridge restart as a real one would.
   */
  persistTo(file: string): void {
    this.stateFile = file;
    for (const r of loadWorld(file) ?? []) {
      this.seq = r.seq;
      if ('user' in r) this.users.set(r.user.id, r.user);
      else if ('chat' in r) this.chats.set(r.chat.id, { ...r.chat, members: new Set(r.chat.members) });
      else this.remember({ ...r.message, reactions: new Map(r.message.reactions.map(([u, keys]) => [u, new Set(keys)])) });
    }
    rewriteWorld(file, [
      ...[...this.users.values()].map((user) => ({ seq: this.seq, user })),
      ...[...this.chats.values()].map((c) => ({ seq: this.seq, chat: saveChat(c) })),
      ...[...this.messages.values()].map((m) => ({ seq: this.seq, message: saveMessage(m) })),
    ]);
  }

  /** Journal what just changed (persist.ts), before anyone is told of it. */
  private save(changed: { user: UserInfo } | { chat: Chat } | { message: LoopbackMessage }): void {
    if (!this.stateFile) return;
    const record: WorldRecord = 'user' in changed ? { seq: this.seq, user: changed.user }
      : 'chat' in changed ? { seq: this.seq, chat: saveChat(changed.chat) }
      : { seq: this.seq, message: saveMessage(changed.message) };
    appendRecord(this.stateFile, record);
  }

  /** Take the whole network down or bring it back; connected clients are told. */
  /** Messages whose text contains this are refused by the network (a send that fails while connected), e.g. to park an event. */
  refusing: string | undefined;

  setOnline(online: boolean): void {
    this.online = online;
    for (const c of this.clients) c.networkChanged?.(online);
  }

  connect(client: LoopbackClient): void {
    if (!this.online) throw new Error('loopback network is offline');
    this.clients.add(client);
  }

  disconnect(client: LoopbackClient): void {
    this.clients.delete(client);
  }

  // ---------------------------------------------------------------- set-up

  addUser(id: string, name?: string, avatar?: UserInfo['avatar']): RemoteUserId {
    const user = remoteUserId(id);
    this.users.set(user, { id: user, ...(name && { name }), ...(avatar && { avatar }) });
    this.save({ user: this.users.get(user)! });
    return user;
  }

  addGroup(id: string, opts: { name?: string; topic?: string; members?: string[] } = {}): RemoteChatId {
    const chat = remoteChatId(id);
    this.chats.set(chat, { id: chat, ...(opts.name && { name: opts.name }), ...(opts.topic && { topic: opts.topic }), members: new Set((opts.members ?? []).map(remoteUserId)) });
    this.save({ chat: this.chats.get(chat)! });
    return chat;
  }

  join(chat: string, user: string): void {
    const c = this.group(remoteChatId(chat));
    c.members.add(remoteUserId(user));
    this.save({ chat: c });
  }

  chatInfo(chat: RemoteChatId, viewer: RemoteUserId): ChatInfo {
    const c = this.chats.get(chat);
    if (c && !c.members.has(viewer)) throw new Error(`${viewer} is not a member of ${chat}`);
    if (c) return { id: chat, kind: 'group', ...(c.name && { name: c.name }), ...(c.topic && { topic: c.topic }), members: [...c.members] };
    const peer = this.users.get(remoteUserId(chat));
    if (peer) return { id: chat, kind: 'dm', ...(peer.name && { name: peer.name }), members: [viewer, peer.id] };
    throw new Error(`no chat ${chat}`);
  }

  // ---------------------------------------------------------------- people act (test API)

  /**
   * `from` writes in a group chat. Resolves once every member's client recorded it. With
   * a `clientKey` seen before from `from`, the same message is delivered again (a client
   * retrying after a lost answer) instead of a new one.
   */
  async say(from: string, chat: string, content: string | MessageContent, replyTo?: RemoteMessageId, clientKey?: string): Promise<RemoteMessageId> {
    const c = this.group(remoteChatId(chat));
    c.members.add(remoteUserId(from));
    const msg = this.sentBefore(remoteUserId(from), clientKey) ?? this.record(remoteUserId(from), c.id, typeof content === 'string' ? { kind: 'text', text: content } : content, replyTo, undefined, clientKey);
    await this.toGroup(c, (viewer) => ({ type: 'message', chat: { id: c.id, kind: 'group' }, id: msg.id, sender: this.sender(msg.sender, viewer), content: msg.content, ...(replyTo && { replyTo }) }));
    return msg.id;
  }

  /** `from` writes to `to` directly. */
  async dm(from: string, to: string, content: string | MessageContent, replyTo?: RemoteMessageId, clientKey?: string): Promise<RemoteMessageId> {
    const sender = remoteUserId(from);
    const peer = remoteUserId(to);
    const msg = this.sentBefore(sender, clientKey) ?? this.record(sender, remoteChatId(to), typeof content === 'string' ? { kind: 'text', text: content } : content, replyTo, undefined, clientKey);
    await this.toDm(sender, peer, (viewer, chat) => ({ type: 'message', chat: { id: chat, kind: 'dm' }, id: msg.id, sender: this.sender(sender, viewer), content: msg.content, ...(replyTo && { replyTo }) }));
    return msg.id;
  }

  /** A message delivered to its chat's members again, as networks do after a reconnect (history replay). */
  async redeliver(id: RemoteMessageId): Promise<void> {
    const msg = this.message(id);
    await this.toChatOf(msg, (viewer, chat) => ({ type: 'message', chat, id, sender: this.sender(msg.sender, viewer), content: msg.content, ...(msg.replyTo && { replyTo: msg.replyTo }) }));
  }

  /**
   * `by`: someone other than the sender claims the edit (or deletion), as a hostile client
   * of a network that does not check (XMPP's XEP-0308/0424 name any id): the network
   * passes it on and keeps the message as it was; the bridge must refuse it.
   */
  async edit(id: RemoteMessageId, text: string, by?: string): Promise<void> {
    const msg = this.message(id);
    const content: MessageContent = { kind: 'text', text };
    const actor = by ? remoteUserId(by) : msg.sender;
    if (actor === msg.sender) msg.edits.push(content);
    this.save({ message: msg });
    await this.toChatOf(msg, (viewer, chat) => ({ type: 'edit', chat, sender: this.sender(actor, viewer), target: id, content }));
  }

  /** `moderator`: the network says `by` may delete others' messages. */
  async delete(id: RemoteMessageId, by?: string, moderator = false): Promise<void> {
    const msg = this.message(id);
    const actor = by ? remoteUserId(by) : msg.sender;
    if (actor === msg.sender || moderator) msg.deleted = true;
    this.save({ message: msg });
    await this.toChatOf(msg, (viewer, chat) => ({ type: 'delete', chat, sender: this.sender(actor, viewer), target: id, ...(moderator && { moderator }) }));
  }

  async react(user: string, id: RemoteMessageId, key: string, removed = false): Promise<void> {
    const msg = this.message(id);
    const u = remoteUserId(user);
    const set = msg.reactions.get(u) ?? new Set();
    if (removed) set.delete(key);
    else set.add(key);
    msg.reactions.set(u, set);
    this.save({ message: msg });
    await this.toChatOf(msg, (viewer, chat) => ({ type: 'reaction', chat, sender: this.sender(u, viewer), target: id, key, removed }));
  }

  /** A person's whole set of reactions on a message at once, as XMPP (XEP-0444) sends it; any number of keys, as a hostile client may. */
  async reactSet(user: string, id: RemoteMessageId, keys: string[]): Promise<void> {
    const msg = this.message(id);
    const u = remoteUserId(user);
    msg.reactions.set(u, new Set(keys));
    this.save({ message: msg });
    await this.toChatOf(msg, (viewer, chat) => ({ type: 'reaction-set', chat, sender: this.sender(u, viewer), target: id, keys }));
  }

  async typing(user: string, chat: string, active: boolean): Promise<void> {
    const c = this.group(remoteChatId(chat));
    await this.toGroup(c, (viewer) => ({ type: 'typing', chat: { id: c.id, kind: 'group' }, sender: this.sender(remoteUserId(user), viewer), active }));
  }

  /** A member becomes a moderator of the group, or stops being one. */
  async setRole(user: string, chat: string, role: 'moderator' | 'member'): Promise<void> {
    const c = this.group(remoteChatId(chat));
    await this.toGroup(c, (viewer) => ({ type: 'role', chat: { id: c.id, kind: 'group' }, user: this.sender(remoteUserId(user), viewer), role }));
  }

  async rename(chat: string, name: string): Promise<void> {
    const c = this.group(remoteChatId(chat));
    c.name = name;
    this.save({ chat: c });
    await this.toGroup(c, () => ({ type: 'chat-info', chat: { id: c.id, kind: 'group' }, info: { id: c.id, kind: 'group', name, ...(c.topic && { topic: c.topic }) } }));
  }

  // ---------------------------------------------------------------- the bridge acts (from sessions)

  /** A session sends on behalf of its user; a message whose `clientKey` was seen from `by` is not made twice. */
  async fromSession(by: RemoteUserId, ev: OutboundEvent, clientKey?: string): Promise<RemoteMessageId | undefined> {
    if (!this.online) throw new Error('loopback network is offline');
    if (ev.type === 'message' && this.refusing && ev.content.text.includes(this.refusing)) throw new Error(`loopback refuses messages containing "${this.refusing}"`);
    if (ev.type === 'message') {
      const earlier = this.sentBefore(by, clientKey);
      if (earlier) return earlier.id;
    }
    const entry: (typeof this.fromBridge)[number] = { by, event: ev };
    this.fromBridge.push(entry);
    for (const wake of this.fromBridgeWaiters.splice(0)) wake();
    switch (ev.type) {
      case 'message': {
        const c = this.chats.get(ev.chat);
        const msg = this.record(by, ev.chat, ev.content, ev.replyTo, ev.relayedFor?.displayName, clientKey);
        entry.id = msg.id;
        const reply = ev.replyTo && { replyTo: ev.replyTo };
        // Like a server: the send is answered once the message is stored, and the members
        // (the sender's own other sessions included) get it afterwards, over their own
        // connections: never before the sender has its answer.
        this.later(() => c
          ? this.toGroup(c, (viewer) => ({ type: 'message', chat: { id: c.id, kind: 'group' }, id: msg.id, sender: this.sender(by, viewer), content: msg.content, ...reply }))
          : this.toDm(by, remoteUserId(ev.chat), (viewer, chat) => ({ type: 'message', chat: { id: chat, kind: 'dm' }, id: msg.id, sender: this.sender(by, viewer), content: msg.content, ...reply })));
        return msg.id;
      }
      case 'edit': {
        const msg = this.message(ev.target);
        msg.edits.push(ev.content);
        this.save({ message: msg });
        return undefined;
      }
      case 'delete': {
        const msg = this.message(ev.target);
        msg.deleted = true;
        this.save({ message: msg });
        return undefined;
      }
      case 'reaction': {
        const msg = this.message(ev.target);
        msg.reactions.set(by, new Set(ev.keys));
        this.save({ message: msg });
        return undefined;
      }
      case 'chat-info': {
        const c = this.group(ev.chat);
        if (ev.name !== undefined) c.name = ev.name;
        if (ev.topic !== undefined) c.topic = ev.topic;
        this.save({ chat: c });
        return undefined;
      }
      case 'typing': case 'receipt': case 'leave': return undefined;
    }
  }

  // ---------------------------------------------------------------- internals

  /** Every message of a chat (a group id, or for a DM either user's id with `peer` the other), oldest first. */
  chatMessages(chat: string, peer?: string): LoopbackMessage[] {
    const inChat = (m: LoopbackMessage) => (peer === undefined ? m.chat === chat : (m.chat === chat && m.sender === peer) || (m.chat === peer && m.sender === chat));
    return [...this.messages.values()].filter(inChat);
  }

  private sentBefore(sender: RemoteUserId, clientKey: string | undefined): LoopbackMessage | undefined {
    return clientKey === undefined ? undefined : this.byClientKey.get(`${sender}\u0000${clientKey}`);
  }

  private record(sender: RemoteUserId, chat: RemoteChatId, content: MessageContent, replyTo?: RemoteMessageId, relayedFor?: string, clientKey?: string): LoopbackMessage {
    const msg: LoopbackMessage = {
      id: remoteMessageId(`lb${++this.seq}`), chat, sender, content, edits: [], deleted: false, reactions: new Map(),
      ...(replyTo && { replyTo }), ...(relayedFor && { relayedFor }), ...(clientKey && { clientKey }),
    };
    this.remember(msg);
    this.save({ message: msg });
    return msg;
  }

  private remember(msg: LoopbackMessage): void {
    this.messages.set(msg.id, msg);
    if (msg.clientKey) this.byClientKey.set(`${msg.sender}\u0000${msg.clientKey}`, msg);
  }

  private message(id: RemoteMessageId): LoopbackMessage {
    const m = this.messages.get(id);
    if (!m) throw new Error(`no message ${id}`);
    return m;
  }

  private group(id: RemoteChatId): Chat {
    const c = this.chats.get(id);
    if (!c) throw new Error(`no group chat ${id}`);
    return c;
  }

  private sender(user: RemoteUserId, viewer: RemoteUserId) {
    const name = this.users.get(user)?.name;
    return { id: user, ...(name && { name }), ...(user === viewer && { isSelf: true }) };
  }

  private async toGroup(c: Chat, make: (viewer: RemoteUserId) => RemoteEvent): Promise<void> {
    await Promise.all([...this.clients].filter((cl) => c.members.has(cl.user)).map((cl) => cl.deliver(make(cl.user))));
  }

  private async toDm(a: RemoteUserId, b: RemoteUserId, make: (viewer: RemoteUserId, chat: RemoteChatId) => RemoteEvent): Promise<void> {
    const targets = [...this.clients].filter((cl) => cl.user === a || cl.user === b);
    await Promise.all(targets.map((cl) => cl.deliver(make(cl.user, remoteChatId(cl.user === a ? b : a)))));
  }

  private async toChatOf(msg: LoopbackMessage, make: (viewer: RemoteUserId, chat: { id: RemoteChatId; kind: 'dm' | 'group' }) => RemoteEvent): Promise<void> {
    const c = this.chats.get(msg.chat);
    if (c) return this.toGroup(c, (viewer) => make(viewer, { id: c.id, kind: 'group' }));
    return this.toDm(msg.sender, remoteUserId(msg.chat), (viewer, chat) => make(viewer, { id: chat, kind: 'dm' }));
  }
}

/** The loopback adapter: full capabilities over an in-memory LoopbackWorld. */
import type { AdapterSession, Capabilities, ConfiguredLogin, EventSink, LoginFlow, LoginInfo, NetworkAdapter } from '../../core/adapter.js';
import type { ChatInfo, OutboundEvent, SendResult, UserInfo } from '../../core/events.js';
import { loginId, networkId, remoteUserId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import { LoopbackWorld, type LoopbackClient } from './world.js';

export interface LoopbackConfig {
  /** Remote user the relay login acts as; no relay when absent. */
  relayUser?: string;
  /** Logins given in config: a Matrix user and the loopback user they are. */
  puppets: { owner: string; user: string }[];
  maxTextLength: number;
}

const MB = 1024 * 1024;

export function loopbackCapabilities(maxTextLength: number): Capabilities {
  return {
    edits: true, deletes: true, reactions: 'any', replies: true, typing: true, receipts: true, presence: true,
    maxTextLength,
    formatting: ['bold', 'italic', 'underline', 'strike', 'code', 'pre', 'spoiler', 'blockquote', 'link', 'mention'],
    media: { image: { maxBytes: 10 * MB }, video: { maxBytes: 10 * MB }, audio: { maxBytes: 10 * MB }, voice: { maxBytes: 10 * MB }, sticker: { maxBytes: 10 * MB }, file: { maxBytes: 10 * MB } },
    chatInfo: { name: true, topic: true },
  };
}

function parseLoopbackConfig(raw: unknown): LoopbackConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !['relay_user', 'puppets', 'max_text_length'].includes(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (loopback takes relay_user, puppets, max_text_length)`);
  if (o.relay_user !== undefined && typeof o.relay_user !== 'string') throw new Error('relay_user: must be a string, e.g. "switchboard"');
  const puppets = o.puppets ?? [];
  if (!Array.isArray(puppets) || !puppets.every((p) => p && typeof p.owner === 'string' && p.owner.startsWith('@') && typeof p.user === 'string')) {
    throw new Error('puppets: must be a list of { owner: "@user:server", user: "name" }');
  }
  const max = o.max_text_length ?? 4000;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 16) throw new Error('max_text_length: must be an integer of at least 16');
  return { ...(typeof o.relay_user === 'string' && { relayUser: o.relay_user }), puppets: puppets as LoopbackConfig['puppets'], maxTextLength: max };
}

export class LoopbackAdapter implements NetworkAdapter<LoopbackConfig> {
  readonly network = networkId('loopback');
  readonly displayName = 'Loopback';
  capabilities: Capabilities = loopbackCapabilities(4000);

  /** The world may be shared with a test that drives it. */
  constructor(readonly world: LoopbackWorld = new LoopbackWorld()) {}

  parseConfig(raw: unknown): LoopbackConfig {
    const config = parseLoopbackConfig(raw);
    this.capabilities = loopbackCapabilities(config.maxTextLength);
    return config;
  }

  configuredLogins(config: LoopbackConfig): ConfiguredLogin[] {
    const logins: ConfiguredLogin[] = config.puppets.map((p) => ({
      id: loginId(`loopback:${p.user}`), network: this.network, kind: 'puppet', owner: p.owner, remoteUser: remoteUserId(p.user), data: {},
    }));
    if (config.relayUser) logins.push({ id: loginId('loopback:relay'), network: this.network, kind: 'relay', remoteUser: remoteUserId(config.relayUser), data: {} });
    return logins;
  }

  createSession(login: LoginInfo, _config: LoopbackConfig, sink: EventSink): AdapterSession {
    return new LoopbackSession(this.world, login, sink);
  }

  startLogin(): LoginFlow {
    const world = this.world;
    return {
      start: async () => ({ type: 'fields', instructions: 'Which loopback user are you?', fields: [{ id: 'user', label: 'User name' }] }),
      submit: async (input) => {
        const user = input.user?.trim();
        if (!user) return { type: 'failed', reason: 'no user name given' };
        if (!world.users.has(remoteUserId(user))) world.addUser(user);
        return { type: 'complete', remoteUser: remoteUserId(user), data: {} };
      },
      cancel: async () => undefined,
    };
  }
}

class LoopbackSession implements AdapterSession, LoopbackClient {
  readonly user: RemoteUserId;

  constructor(private readonly world: LoopbackWorld, login: LoginInfo, private readonly sink: EventSink) {
    if (!login.remoteUser) throw new Error(`loopback login ${login.id} has no remote user`);
    this.user = login.remoteUser;
  }

  async connect(): Promise<void> {
    this.sink.state({ state: 'connecting' });
    this.world.connect(this);
    if (!this.world.users.has(this.user)) this.world.addUser(this.user);
    this.sink.state({ state: 'connected' });
  }

  async disconnect(): Promise<void> {
    this.world.disconnect(this);
    this.sink.state({ state: 'disconnected' });
  }

  deliver(ev: Parameters<EventSink['emit']>[0]): Promise<void> {
    return this.sink.emit(ev);
  }

  async send(ev: OutboundEvent): Promise<SendResult> {
    const id = await this.world.fromSession(this.user, ev);
    return id ? { status: 'sent', remoteId: id } : { status: 'sent' };
  }

  async getChatInfo(chat: RemoteChatId): Promise<ChatInfo> {
    return this.world.chatInfo(chat, this.user);
  }

  async getUserInfo(user: RemoteUserId): Promise<UserInfo> {
    const info = this.world.users.get(user);
    if (!info) throw new Error(`no loopback user ${user}`);
    return info;
  }

  async fetchMedia(ref: string): Promise<Uint8Array> {
    throw new Error(`loopback media is always inline; no media ${ref}`);
  }
}

/** The loopback adapter: full capabilities over an in-memory LoopbackWorld. */
import type { AdapterSession, Capabilities, ConfiguredLogin, Delivery, EventSink, Logger, LoginFlow, LoginInfo, NetworkAdapter, OwnPresence } from '../../core/adapter.js';
import type { ChatInfo, OutboundEvent, SendResult, UserInfo } from '../../core/events.js';
import { loginId, networkId, remoteUserId, type NetworkId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import { LoopbackWorld, type LoopbackClient } from './world.js';
import { identifierProblem } from '../../core/safety.js';
import { LoopbackControl, type ControlConfig } from './control.js';

export interface LoopbackConfig {
  /** Remote user the relay login acts as; no relay when absent. */
  relayUser?: string;
  /** Logins given in config: a Matrix user and the loopback user they are. */
  puppets: { owner: string; user: string }[];
  maxTextLength: number;
  /** The control API for tests and the dev stack; off when absent. */
  control?: ControlConfig;
  /** Where the network keeps its state across restarts; in memory only when absent. */
  stateFile?: string;
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
  const keys = ['relay_user', 'puppets', 'max_text_length', 'control', 'state_file'];
  const unknown = Object.keys(o).filter((k) => !keys.includes(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (loopback takes ${keys.join(', ')})`);
  if (o.relay_user !== undefined && typeof o.relay_user !== 'string') throw new Error('relay_user: must be a string, e.g. "switchboard"');
  const puppets = o.puppets ?? [];
  if (!Array.isArray(puppets) || !puppets.every((p) => p && typeof p.owner === 'string' && p.owner.startsWith('@') && typeof p.user === 'string')) {
    throw new Error('puppets: must be a list of { owner: "@user:server", user: "name" }');
  }
  const max = o.max_text_length ?? 4000;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 16) throw new Error('max_text_length: must be an integer of at least 16');
  const control = o.control === undefined ? undefined : parseControl(o.control);
  if (o.state_file !== undefined && (typeof o.state_file !== 'string' || !o.state_file)) throw new Error('state_file: must be a file path');
  return {
    ...(typeof o.relay_user === 'string' && { relayUser: o.relay_user }), puppets: puppets as LoopbackConfig['puppets'], maxTextLength: max,
    ...(control && { control }), ...(typeof o.state_file === 'string' && { stateFile: o.state_file }),
  };
}

function parseControl(raw: unknown): ControlConfig {
  const c = (raw ?? {}) as Record<string, unknown>;
  const port = c.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error('control.port: must be a port number (0 picks a free one)');
  const bindAddress = c.bind_address ?? '127.0.0.1';
  // It lets anyone act as any loopback user: never reachable from another machine.
  if (typeof bindAddress !== 'string' || !isLoopbackAddress(bindAddress)) throw new Error('control.bind_address: must be a loopback address (127.0.0.1 or ::1)');
  if (c.token !== undefined && (typeof c.token !== 'string' || c.token.length < 16)) throw new Error('control.token: must be a string of at least 16 characters');
  return { port, bindAddress, ...(typeof c.token === 'string' && { token: c.token }) };
}

function isLoopbackAddress(a: string): boolean {
  return a === '::1' || a === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export class LoopbackAdapter implements NetworkAdapter<LoopbackConfig> {
  readonly network: NetworkId;
  readonly displayName: string;
  capabilities: Capabilities = loopbackCapabilities(4000);
  private control: LoopbackControl | undefined;

  /**
   * The world may be shared with a test that drives it. `network` names a second
   * loopback network in the same process (tests of rooms linked to several networks).
   */
  constructor(readonly world: LoopbackWorld = new LoopbackWorld(), network = 'loopback') {
    this.network = networkId(network);
    this.displayName = network === 'loopback' ? 'Loopback' : `Loopback (${network})`;
  }

  /** Another loopback network in the same process: a world of its own. */
  forNetwork(network: NetworkId): LoopbackAdapter {
    return new LoopbackAdapter(new LoopbackWorld(), network);
  }

  parseConfig(raw: unknown): LoopbackConfig {
    const config = parseLoopbackConfig(raw);
    this.capabilities = loopbackCapabilities(config.maxTextLength);
    return config;
  }

  configuredLogins(config: LoopbackConfig): ConfiguredLogin[] {
    const logins: ConfiguredLogin[] = config.puppets.map((p) => ({
      id: loginId(`${this.network}:${p.user}`), network: this.network, kind: 'puppet', owner: p.owner, remoteUser: remoteUserId(p.user), data: {},
    }));
    if (config.relayUser) logins.push({ id: loginId(`${this.network}:relay`), network: this.network, kind: 'relay', remoteUser: remoteUserId(config.relayUser), data: {} });
    return logins;
  }

  async start(config: LoopbackConfig, log: Logger): Promise<void> {
    if (config.stateFile) this.world.persistTo(config.stateFile);
    if (!config.control) return;
    this.control = new LoopbackControl(this.world, config.control, log);
    await this.control.start();
  }

  async stop(): Promise<void> {
    await this.control?.stop();
    this.control = undefined;
  }

  createSession(login: LoginInfo, _config: LoopbackConfig, sink: EventSink): AdapterSession {
    return new LoopbackSession(this.world, login, sink);
  }

  startLogin(): LoginFlow {
    const world = this.world;
    return {
      start: async () => ({
        type: 'fields',
        instructions: 'Log in to the loopback network.',
        fields: [{ id: 'user', label: 'loopback user name' }, { id: 'password', label: 'password', secret: true }],
      }),
      submit: async (input) => {
        const user = input.user?.trim();
        if (!user) return { type: 'failed', reason: 'no user name given' };
        const problem = identifierProblem(user);
        if (problem) return { type: 'failed', reason: `that user name cannot be used: ${problem}` };
        const id = remoteUserId(user);
        const expected = world.passwords.get(id);
        if (expected !== undefined && input.password !== expected) return { type: 'failed', reason: 'wrong user name or password' };
        if (!world.users.has(id)) world.addUser(user);
        return { type: 'complete', remoteUser: id, ...(world.users.get(id)?.name && { displayName: world.users.get(id)!.name! }), data: {} };
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

  private connected = false;

  async connect(): Promise<void> {
    this.sink.state({ state: 'connecting' });
    this.world.connect(this);
    this.connected = true;
    if (!this.world.users.has(this.user)) this.world.addUser(this.user);
    this.sink.state({ state: 'connected' });
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    this.world.disconnect(this);
    this.sink.state({ state: 'disconnected' });
  }

  networkChanged(online: boolean): void {
    this.sink.state(online ? { state: 'connected' } : { state: 'transient-error', reason: 'loopback network is offline' });
  }

  deliver(ev: Parameters<EventSink['emit']>[0]): Promise<void> {
    return this.sink.emit(ev);
  }

  async send(ev: OutboundEvent, delivery?: Delivery): Promise<SendResult> {
    // Rejecting is the contract's "transient": the engine retries once connected again.
    if (!this.connected) throw new Error('loopback session is not connected');
    // The network is idempotent per (sender, client key), so a resend after a crash is recognised there.
    const id = await this.world.fromSession(this.user, ev, delivery?.key);
    return id ? { status: 'sent', remoteId: id } : { status: 'sent' };
  }

  async setPresence(presence: OwnPresence): Promise<void> {
    if (!this.connected) throw new Error('loopback session is not connected');
    this.world.presence.set(this.user, presence);
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

/**
 * Logins from creation to removal: configured logins written to the store at start-up,
 * a session per login connected in the background with backoff, logins added by the
 * step machine, and logout. The engine hands each session's events to `onEvent`.
 */
import type { ConnectionState, EventSink, Logger } from '../adapter.js';
import type { BridgeContext } from '../context.js';
import type { RemoteEvent } from '../events.js';
import { matrixUserId, type LoginId } from '../ids.js';
import { Limiter } from '../limiter.js';
import { LoginNotices } from './login-notices.js';
import { LoginRefused } from './logins.js';
import { hostedChat, hostedHistory, matrixProfile } from '../portal/hosted.js';
import type { LiveLogin, Network } from './sessions.js';
import type { LoginRow } from '../store/store.js';

/** Reconnect backoff of a login whose connection failed: 0.5 s doubling to 30 s, with jitter. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 30_000;

export interface LifecycleHooks {
  onEvent(live: LiveLogin, ev: RemoteEvent): Promise<void>;
  /** A wait that ends early when the bridge stops. */
  sleep(ms: number): Promise<void>;
}

export class LoginLifecycle {
  /** Logins that exist because of config: `logout` cannot remove them. */
  private readonly configured = new Set<LoginId>();
  /** Bounds how many logins are connecting at once (start-up after a restart, mass reconnects). */
  private readonly connects: Limiter;
  private readonly notices: LoginNotices;
  private stopping = false;

  constructor(private readonly ctx: BridgeContext, private readonly hooks: LifecycleHooks) {
    this.connects = new Limiter(ctx.config.bridge.max_concurrent_connects);
    this.notices = new LoginNotices(ctx);
  }

  /** Write the configured logins to the store, then start a session for every stored login. */
  startAll(): void {
    const { store, sessions } = this.ctx;
    for (const network of sessions.allNetworks()) {
      for (const login of network.adapter.configuredLogins(network.config)) {
        const { owner, ...info } = login;
        this.configured.add(info.id);
        // What the session saved since (MUCs it joined, archive positions, derived keys) is
        // kept across restarts; config wins for the keys it sets. Another account starts afresh.
        const stored = store.getLogin(info.id);
        const kept = stored && stored.remoteUser === info.remoteUser ? stored.data : {};
        store.putLogin({ loginId: info.id, network: network.id, kind: info.kind, ...(owner && { owner: matrixUserId(owner) }), ...(info.remoteUser && { remoteUser: info.remoteUser }), data: { ...kept, ...info.data } });
      }
    }
    for (const row of store.listLogins()) {
      const network = sessions.network(row.network);
      if (network) this.start(network, row);
    }
  }

  /** Create and connect a session for a stored login; connection happens in the background. */
  start(network: Network, row: LoginRow): LiveLogin {
    const log = this.ctx.log.child({ login: row.loginId, network: network.id });
    const live: LiveLogin = { login: row, network, session: undefined as never, state: { state: 'connecting' } };
    const sink: EventSink = {
      emit: (ev) => this.hooks.onEvent(live, ev),
      state: (s: ConnectionState) => {
        live.state = s;
        this.notices.onState(live, s);
        log.info({ state: s.state, ...('reason' in s && { reason: s.reason }) }, 'login state');
      },
      persist: async (data) => {
        this.ctx.store.updateLoginData(row.loginId, data);
        live.login = { ...live.login, data };
        await this.ctx.store.durable();
      },
      publishText: async (text, name) => {
        const links = this.ctx.mediaLinks;
        if (!links) return undefined;
        const mxc = await this.ctx.matrix.uploadMedia(new TextEncoder().encode(text), 'text/plain; charset=utf-8', name);
        return links.link(mxc, name);
      },
      hostedChat: (alias, chat) => hostedChat(this.ctx, live, alias, chat),
      hostedHistory: (chat, limit) => hostedHistory(this.ctx, live, chat, limit),
      matrixProfile: (matrixId, maxAvatarBytes) => matrixProfile(this.ctx, matrixId, maxAvatarBytes),
      log,
    };
    live.session = network.adapter.createSession(
      { id: row.loginId, network: network.id, kind: row.kind, ...(row.remoteUser && { remoteUser: row.remoteUser }), data: row.data },
      network.config,
      sink,
    );
    this.ctx.sessions.add(live);
    void this.connectWithBackoff(live, log);
    return live;
  }

  /** A login finished through the step machine: store it, then connect it. */
  add(row: LoginRow): void {
    const network = this.ctx.sessions.network(row.network);
    if (!network) throw new Error(`network ${row.network} is not loaded`);
    this.ctx.store.putLogin(row);
    this.start(network, row);
  }

  /** Logout: the session is closed first, then the credentials are deleted. */
  async remove(id: LoginId): Promise<void> {
    if (this.configured.has(id)) throw new LoginRefused('this login is set in the bridge config; an admin removes it there', 'conflict');
    const live = this.ctx.sessions.remove(id);
    this.notices.forget(id);
    if (live) await live.session.disconnect().catch((err: unknown) => this.ctx.log.warn({ login: id, err: String(err) }, 'disconnect failed at logout'));
    this.ctx.store.deleteLogin(id);
    this.ctx.log.info({ login: id }, 'logged out; credentials deleted');
  }

  /** No more connection attempts. */
  stop(): void {
    this.stopping = true;
  }

  private async connectWithBackoff(live: LiveLogin, log: Logger): Promise<void> {
    // Stops when the bridge stops or the login was removed (logout).
    for (let attempt = 0; !this.stopping && this.ctx.sessions.get(live.login.loginId) === live; attempt++) {
      try {
        await this.connects.run(() => live.session.connect());
        live.state = { state: 'connected' };
        return;
      } catch (err) {
        if (live.state.state === 'bad-credentials') return;
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        live.state = { state: 'transient-error', reason: String(err), retryInMs: delay };
        log.warn({ err: String(err), retryInMs: Math.round(delay) }, 'connect failed; retrying');
        await this.hooks.sleep(delay);
      }
    }
  }
}

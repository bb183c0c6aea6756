/**
 * The one login step machine. Bot commands and the provisioning API both drive an
 * adapter's LoginFlow through here, so the rules live in one place: who may log in,
 * one flow per user and network, flows expire, a finished flow becomes a stored
 * login with a live session, and logout forgets the credentials.
 */
import { randomBytes } from 'node:crypto';
import type { LoginFlow, LoginStep } from '../adapter.js';
import { atLeast, permissionOf } from '../config.js';
import type { BridgeContext } from '../context.js';
import { loginId as toLoginId, type LoginId, type MatrixRoomId, type MatrixUserId, type NetworkId } from '../ids.js';
import type { LoginRow } from '../store/store.js';

/** What the engine does for the login manager: start and stop live sessions. */
export interface LoginControl {
  /** Store the login and connect a session for it. */
  addLogin(row: LoginRow): void;
  /** Disconnect the session, forget the login and its credentials. */
  removeLogin(id: LoginId): Promise<void>;
}

/** A step as shown to a person or an API client (never holds adapter data). */
export type PublicStep =
  | Extract<LoginStep, { type: 'fields' | 'show-code' | 'failed' }>
  | { type: 'complete'; loginId: LoginId; remoteUser: string; displayName?: string };

export interface FlowView {
  flowId: string;
  network: NetworkId;
  step: PublicStep;
}

/** A refusal the user should read as is ("you are not allowed ..."). */
export class LoginRefused extends Error {
  constructor(message: string, readonly code: 'forbidden' | 'not-found' | 'conflict' | 'bad-input') {
    super(message);
    this.name = 'LoginRefused';
  }
}

/** The refusal for a flow id that is unknown, expired or someone else's. */
export function flowGone(): LoginRefused {
  return new LoginRefused('no such login in progress (it may have expired; start again)', 'not-found');
}

interface ActiveFlow {
  id: string;
  owner: MatrixUserId;
  network: NetworkId;
  flow: LoginFlow;
  step: LoginStep;
  timer: NodeJS.Timeout;
  noticeRoom?: MatrixRoomId;
}

/** A flow nobody answered for this long is cancelled (it may hold a socket). */
export const FLOW_TTL_MS = 10 * 60_000;

export class LoginManager {
  private readonly flows = new Map<string, ActiveFlow>();

  constructor(private readonly ctx: BridgeContext, private readonly control: LoginControl) {}

  /** The stable id of a person's own login on a network. */
  static loginIdFor(network: NetworkId, owner: MatrixUserId): LoginId {
    return toLoginId(`${network}:${owner}`);
  }

  /** Begin logging `owner` in to `network`; `noticeRoom` is where connection trouble will be reported. */
  async start(owner: MatrixUserId, network: NetworkId, noticeRoom?: MatrixRoomId): Promise<FlowView> {
    if (!atLeast(permissionOf(this.ctx.config, owner), 'user')) {
      throw new LoginRefused('you are not allowed to log in through this bridge (your permission is relay)', 'forbidden');
    }
    const net = this.ctx.sessions.network(network);
    if (!net) throw new LoginRefused(`there is no network "${network}" on this bridge`, 'not-found');
    const existing = this.ctx.sessions.ownedBy(network, owner);
    if (existing) throw new LoginRefused(`you are already logged in to ${network}${existing.login.remoteUser ? ` as ${existing.login.remoteUser}` : ''}; log out first`, 'conflict');
    for (const f of this.flows.values()) if (f.owner === owner && f.network === network) await this.cancel(owner, f.id);
    const flow = net.adapter.startLogin(net.config, { id: owner });
    const id = randomBytes(12).toString('base64url');
    const active: ActiveFlow = { id, owner, network, flow, step: { type: 'failed', reason: 'not started' }, timer: this.expiry(id), ...(noticeRoom && { noticeRoom }) };
    this.flows.set(id, active);
    return this.advance(active, () => flow.start());
  }

  /** Answer the current step of a flow. */
  async submit(owner: MatrixUserId, flowId: string, input: Record<string, string>): Promise<FlowView> {
    const active = this.own(owner, flowId);
    clearTimeout(active.timer);
    active.timer = this.expiry(flowId);
    return this.advance(active, () => active.flow.submit(input));
  }

  /** Abandon a flow. Unknown or foreign flows are refused like missing ones. */
  async cancel(owner: MatrixUserId, flowId: string): Promise<void> {
    const active = this.own(owner, flowId);
    this.drop(active);
    await active.flow.cancel();
  }

  /** The flow `owner` has open on `network`, if any. */
  current(owner: MatrixUserId, flowId: string): FlowView | undefined {
    const f = this.flows.get(flowId);
    return f && f.owner === owner ? this.view(f) : undefined;
  }

  /** Log out: disconnect, forget credentials. Returns false when there was no login. */
  async logout(owner: MatrixUserId, network: NetworkId): Promise<boolean> {
    const live = this.ctx.sessions.ownedBy(network, owner);
    if (!live) return false;
    await this.control.removeLogin(live.login.loginId);
    return true;
  }

  /** Cancel every flow (bridge shutdown). */
  async stop(): Promise<void> {
    const all = [...this.flows.values()];
    for (const f of all) this.drop(f);
    await Promise.all(all.map((f) => f.flow.cancel().catch(() => undefined)));
  }

  private async advance(active: ActiveFlow, next: () => Promise<LoginStep>): Promise<FlowView> {
    let step: LoginStep;
    try {
      step = await next();
    } catch (err) {
      step = { type: 'failed', reason: (err as Error).message || String(err) };
    }
    active.step = step;
    if (step.type === 'complete') {
      this.drop(active);
      const loginId = LoginManager.loginIdFor(active.network, active.owner);
      this.control.addLogin({ loginId, network: active.network, kind: 'puppet', owner: active.owner, remoteUser: step.remoteUser, data: step.data, ...(active.noticeRoom && { noticeRoom: active.noticeRoom }) });
      this.ctx.log.info({ login: loginId, network: active.network }, 'login added');
    } else if (step.type === 'failed') {
      this.drop(active);
      await active.flow.cancel().catch(() => undefined);
    }
    return this.view(active);
  }

  private view(active: ActiveFlow): FlowView {
    const { step } = active;
    const pub: PublicStep =
      step.type === 'complete'
        ? { type: 'complete', loginId: LoginManager.loginIdFor(active.network, active.owner), remoteUser: step.remoteUser, ...(step.displayName && { displayName: step.displayName }) }
        : step;
    return { flowId: active.id, network: active.network, step: pub };
  }

  private own(owner: MatrixUserId, flowId: string): ActiveFlow {
    const f = this.flows.get(flowId);
    if (!f || f.owner !== owner) throw flowGone();
    return f;
  }

  private drop(active: ActiveFlow): void {
    clearTimeout(active.timer);
    this.flows.delete(active.id);
  }

  private expiry(flowId: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      const f = this.flows.get(flowId);
      if (!f) return;
      this.drop(f);
      void f.flow.cancel().catch(() => undefined);
    }, FLOW_TTL_MS);
    t.unref();
    return t;
  }
}

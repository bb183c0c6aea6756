/**
 * The XMPP federation gateway: an XMPP server component (XEP-0114) that gives the bridge's
 * Matrix users addresses any XMPP server can write to, with no account on either side.
 * A Matrix user opts in with `login xmppgw` (their address needs no credentials: the
 * bridge speaks for it); strangers on XMPP then reach them in a direct chat, and they
 * reach any address with `open xmppgw name@server`. The stanzas and their features are
 * the XMPP adapter's own (bridges/xmpp/stanzas.ts).
 */
import type { AdapterSession, Capabilities, ConfiguredLogin, EventSink, LoginFlow, LoginInfo, LoginOwner, Logger, NetworkAdapter } from '../../core/adapter.js';
import { loginId, networkId, remoteChatId, remoteUserId, type NetworkId, type RemoteChatId } from '../../core/ids.js';
import { xmppCapabilities } from '../xmpp/adapter.js';
import { parseBareJid } from '../xmpp/config.js';
import { localpartOfMatrixUser } from './addresses.js';
import { parseGatewayConfig, type GatewayConfig } from './config.js';
import { RoomsSession } from './muc/host.js';
import { Router } from './router.js';
import { GatewaySession, type GatewayLoginData } from './session.js';

export const gatewayCapabilities: Capabilities = {
  ...xmppCapabilities,
  // A hosted room's subject is its topic; its name is the Matrix room's own.
  chatInfo: { name: false, topic: true },
  // In hosted rooms every Matrix member is an occupant of their own.
  speaksAs: true,
};

const CHOICES = ['anyone', 'ask', 'never'] as const;

export class GatewayAdapter implements NetworkAdapter<GatewayConfig> {
  readonly displayName = 'XMPP (federation gateway)';
  readonly capabilities = gatewayCapabilities;
  private router: Router | undefined;

  constructor(readonly network: NetworkId = networkId('xmppgw')) {}

  forNetwork(network: NetworkId): GatewayAdapter {
    return new GatewayAdapter(network);
  }

  parseConfig(raw: unknown): GatewayConfig {
    return parseGatewayConfig(raw);
  }

  /** The rooms component is served by the network's relay login, when it is configured. */
  configuredLogins(config: GatewayConfig): ConfiguredLogin[] {
    if (!config.muc) return [];
    return [{ id: loginId(`${this.network}:relay`), network: this.network, kind: 'relay', remoteUser: remoteUserId(config.muc.component), data: {} }];
  }

  /** Connect the component; a refused secret fails start-up, a server not up yet is retried. */
  async start(config: GatewayConfig, log: Logger): Promise<void> {
    await this.routerFor(config, log).start();
  }

  async stop(): Promise<void> {
    await this.router?.stop();
  }

  createSession(login: LoginInfo, config: GatewayConfig, sink: EventSink): AdapterSession {
    const router = this.routerFor(config, sink.log);
    return login.kind === 'relay' ? new RoomsSession(login, config, sink, router) : new GatewaySession(login, config, sink, router);
  }

  parseChatId(input: string): RemoteChatId {
    return remoteChatId(parseBareJid(input, 'address'));
  }

  /** Opting in: the person's address is made from their Matrix ID; they choose who may add them as a contact. */
  startLogin(config: GatewayConfig, owner: LoginOwner): LoginFlow {
    return {
      start: async () => {
        let local: string;
        try {
          local = localpartOfMatrixUser(owner.id);
        } catch (err) {
          return { type: 'failed', reason: (err as Error).message };
        }
        return {
          type: 'fields',
          instructions: [
            `Your XMPP address will be ${local}@${config.component}: anyone on an XMPP server can write to you there, and you can write to any XMPP address with "open ${this.network} name@server".`,
            'Who may add you as a contact and see when you are online? Answer anyone, ask (you are asked each time) or never.',
          ].join('\n'),
          fields: [{ id: 'subscriptions', label: 'choice (anyone, ask or never)' }],
        };
      },
      submit: async (input) => {
        const choice = input.subscriptions?.trim().toLowerCase();
        if (!CHOICES.includes(choice as (typeof CHOICES)[number])) return { type: 'failed', reason: 'answer anyone, ask or never' };
        const local = localpartOfMatrixUser(owner.id);
        const data: GatewayLoginData = { local, subscriptions: choice as (typeof CHOICES)[number] };
        return { type: 'complete', remoteUser: remoteUserId(`${local}@${config.component}`), data: { ...data } };
      },
      cancel: async () => undefined,
    };
  }

  private routerFor(config: GatewayConfig, log: Logger): Router {
    this.router ??= new Router(config, log);
    return this.router;
  }
}

/** The IRC adapter: a relay connection for linked channels, and people's own connections (bouncer style). */
import type { AdapterSession, Capabilities, ConfiguredLogin, EventSink, LoginFlow, LoginInfo, NetworkAdapter } from '../../core/adapter.js';
import { loginId, networkId, remoteUserId, type NetworkId, type RemoteChatId } from '../../core/ids.js';
import { parseIrcConfig, type IrcConfig } from './config.js';
import { ircNickProblem, parseIrcChat } from './names.js';
import { IrcRegistry } from './registry.js';
import { IrcSession, type IrcLoginData } from './session.js';
import { tryIrcLogin } from './try-login.js';

export const ircCapabilities: Capabilities = {
  edits: false, // no server here offers message editing; the core sends "* new text"
  // Both depend on the server: each connection narrows them (IrcSession.capabilitiesNow).
  deletes: true, // draft/message-redaction where offered, else the sender is told
  reactions: 'any', // +draft/react where the server relays client tags (and not through the relay), else "reacted 👍"

  replies: true, // +draft/reply where the server relays client tags, else plain text
  typing: true, // +typing where the server relays client tags
  receipts: false,
  presence: false,
  // A message is cut into 512-byte lines by the adapter; this only bounds what one message may hold.
  maxTextLength: 20_000,
  formatting: ['bold', 'italic', 'underline', 'strike', 'code', 'pre', 'link', 'mention'],
  media: {}, // no files on IRC: the core sends a note with a link (public_media)
  chatInfo: { name: false, topic: true },
};

export class IrcAdapter implements NetworkAdapter<IrcConfig> {
  readonly displayName = 'IRC';
  readonly capabilities = ircCapabilities;
  private registry: IrcRegistry | undefined;

  constructor(readonly network: NetworkId = networkId('irc')) {}

  /** Another IRC network (a second section naming this adapter): nothing shared. */
  forNetwork(network: NetworkId): IrcAdapter {
    return new IrcAdapter(network);
  }

  parseConfig(raw: unknown): IrcConfig {
    return parseIrcConfig(raw);
  }

  configuredLogins(config: IrcConfig): ConfiguredLogin[] {
    if (!config.relay) return [];
    return [{ id: loginId(`${this.network}:relay`), network: this.network, kind: 'relay', remoteUser: remoteUserId(config.relay.nick.toLowerCase()), data: { nick: config.relay.nick } }];
  }

  createSession(login: LoginInfo, config: IrcConfig, sink: EventSink): AdapterSession {
    this.registry ??= new IrcRegistry(config.maxConnections);
    const relaySasl = login.kind === 'relay' ? config.relay?.sasl : undefined;
    return new IrcSession(login, config, sink, this.registry, relaySasl);
  }

  /** `#channel` or a nick. */
  parseChatId(input: string): RemoteChatId {
    return parseIrcChat(input);
  }

  startLogin(config: IrcConfig): LoginFlow {
    return {
      start: async () => ({
        type: 'fields',
        instructions: `Connect to ${config.host} as yourself. The bridge keeps one connection for you, joins the channels of your rooms, and brings private messages to you as rooms.`,
        fields: [
          { id: 'nick', label: 'IRC nick' },
          { id: 'password', label: 'password of your registered nick (SASL), or "-" if it is not registered', secret: true },
        ],
      }),
      submit: async (input) => {
        const nick = (input.nick ?? '').trim();
        const problem = ircNickProblem(nick);
        if (problem) return { type: 'failed', reason: `that nick cannot be used: ${problem}` };
        const password = input.password && input.password !== '-' ? input.password : undefined;
        const data: IrcLoginData = { nick, ...(password && { sasl: { account: nick, password } }), channels: [] };
        const refused = await tryIrcLogin(config, data);
        if (refused) return { type: 'failed', reason: refused };
        return { type: 'complete', remoteUser: remoteUserId(nick.toLowerCase()), displayName: nick, data: { ...data } };
      },
      cancel: async () => undefined,
    };
  }
}

/** The XMPP adapter: a person's own account (puppeting) and a relay account for MUCs. */
import type { AdapterSession, Capabilities, ConfiguredLogin, EventSink, LoginFlow, LoginInfo, NetworkAdapter } from '../../core/adapter.js';
import { loginId, networkId, remoteChatId, remoteUserId, type NetworkId, type RemoteChatId } from '../../core/ids.js';
import { identifierProblem } from '../../core/safety.js';
import jid from '@xmpp/jid';
import { AuthError, createConnection } from './connection.js';
import { parseBareJid, parseXmppConfig, type XmppConfig } from './config.js';
import type { ScramKeys } from './scram.js';
import { XmppSession, type XmppLoginData } from './session.js';

const MB = 1024 * 1024;

export const xmppCapabilities: Capabilities = {
  edits: true, // XEP-0308
  deletes: true, // XEP-0424
  reactions: 'emoji', // XEP-0444
  replies: true, // XEP-0461
  typing: true, // XEP-0085
  receipts: true, // XEP-0333 displayed markers
  presence: true, // contacts' presence -> ghosts' presence
  maxTextLength: 10_000,
  formatting: ['bold', 'italic', 'strike', 'code', 'pre', 'blockquote', 'link'], // XEP-0393 styling
  // XEP-0363 uploads; the server's own limit (announced in disco) is checked at send time.
  media: { image: { maxBytes: 10 * MB }, video: { maxBytes: 10 * MB }, audio: { maxBytes: 10 * MB }, voice: { maxBytes: 10 * MB }, sticker: { maxBytes: 10 * MB }, file: { maxBytes: 10 * MB } },
  chatInfo: { name: false, topic: true }, // topic: the MUC subject, where we may change it
};

export class XmppAdapter implements NetworkAdapter<XmppConfig> {
  constructor(readonly network: NetworkId = networkId('xmpp')) {}

  /** Another xmpp network (a second section naming this adapter): nothing shared. */
  forNetwork(network: NetworkId): XmppAdapter {
    return new XmppAdapter(network);
  }
  readonly displayName = 'XMPP';
  readonly capabilities = xmppCapabilities;

  parseConfig(raw: unknown): XmppConfig {
    return parseXmppConfig(raw);
  }

  configuredLogins(config: XmppConfig): ConfiguredLogin[] {
    if (!config.relay) return [];
    return [{ id: loginId(`${this.network}:relay`), network: this.network, kind: 'relay', remoteUser: remoteUserId(config.relay.jid), data: { jid: config.relay.jid } }];
  }

  createSession(login: LoginInfo, config: XmppConfig, sink: EventSink): AdapterSession {
    const password = login.kind === 'relay' && config.relay ? config.relay.password : undefined;
    return new XmppSession(login, config, sink, password);
  }

  /** A chat a person typed: a bare JID (a MUC or a contact). */
  parseChatId(input: string): RemoteChatId {
    return remoteChatId(parseBareJid(input, 'chat'));
  }

  startLogin(config: XmppConfig): LoginFlow {
    return {
      start: async () => ({
        type: 'fields',
        instructions: 'Log in with your XMPP account. Switchboard keeps keys derived from your password (SCRAM), never the password itself.',
        fields: [{ id: 'jid', label: 'XMPP address (name@server)' }, { id: 'password', label: 'password', secret: true }],
      }),
      submit: async (input) => {
        let bare: string;
        try {
          const problem = identifierProblem(input.jid?.trim() ?? '');
          if (problem) throw new Error(`that address cannot be used: ${problem}`);
          bare = parseBareJid(input.jid ?? '', 'address');
        } catch (err) {
          return { type: 'failed', reason: (err as Error).message };
        }
        if (!input.password) return { type: 'failed', reason: 'no password given' };
        const result = await tryLogin(config, bare, input.password);
        if (typeof result === 'string') return { type: 'failed', reason: result };
        const data: XmppLoginData = { jid: bare, keys: result };
        return { type: 'complete', remoteUser: remoteUserId(bare), data: { ...data } };
      },
      cancel: async () => undefined,
    };
  }
}

/** Log in once to check the password and derive the keys; the password is dropped after. */
async function tryLogin(config: XmppConfig, bare: string, password: string): Promise<ScramKeys | string> {
  let keys: ScramKeys | undefined;
  const { client } = createConnection({
    ...(config.service && { service: config.service }),
    domain: jid(bare).domain,
    resource: 'switchboard-login',
    ...(config.tlsCaFile && { caFile: config.tlsCaFile }),
    credentials: { username: jid(bare).local, password, onKeys: (k) => { keys = k; } },
  });
  client.on('error', () => undefined);
  try {
    await client.start();
    return keys ?? 'the server did not run SCRAM';
  } catch (err) {
    if (err instanceof AuthError) return err.condition === 'not-authorized' ? 'wrong address or password' : err.message;
    return `could not reach the XMPP server: ${(err as Error).message}`;
  } finally {
    await client.stop().catch(() => undefined);
  }
}

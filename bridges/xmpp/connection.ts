/**
 * An XMPP client connection assembled from @xmpp/* parts rather than `client()`, for
 * three rules of ours: TLS with an extra trusted CA when configured (for servers with
 * a private CA; `client()` takes no TLS options), credentials only ever sent over TLS,
 * and SCRAM-SHA-1 from scram.ts (derived keys instead of a stored password; the
 * server's signature is checked). Reconnecting is the session's job.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Client } from '@xmpp/client-core';
import xml, { type Element } from '@xmpp/xml';
import { encode, decode } from '@xmpp/base64';
import tcp from '@xmpp/tcp';
import middleware from '@xmpp/middleware';
import streamFeatures from '@xmpp/stream-features';
import iqCaller from '@xmpp/iq/caller.js';
import iqCallee from '@xmpp/iq/callee.js';
import resolve from '@xmpp/resolve';
import resourceBinding from '@xmpp/resource-binding';
import { canUpgrade, upgrade } from '@xmpp/starttls/starttls.js';
import { Iq } from './iq.js';
import { ScramSha1, type ScramCredentials } from './scram.js';
import { NS_SM, type StreamManagement } from './stream-management.js';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

export interface ConnectOptions {
  /** `xmpp://host:port`; when absent the JID's domain is resolved (SRV, then port 5222). */
  service?: string;
  domain: string;
  resource: string;
  credentials: ScramCredentials;
  /** PEM file of an extra CA to trust (self-signed or private-CA servers). */
  caFile?: string;
  /** Stream management (XEP-0198) across this session's connections, when the server offers it. */
  streamManagement?: StreamManagement;
}

/** SASL failure from the server: the credentials are wrong (not a network problem). */
export class AuthError extends Error {
  constructor(readonly condition: string, text?: string) {
    super(`authentication failed: ${condition}${text ? ` (${text})` : ''}`);
    this.name = 'AuthError';
  }
}

export interface XmppConnection {
  client: Client;
  /** Our iq requests (iq.ts); @xmpp/iq's caller serves only resource binding. */
  iq: Iq;
}

export function createConnection(opts: ConnectOptions): XmppConnection {
  const client = new Client({ ...(opts.service && { service: opts.service }), domain: opts.domain, timeout: 15_000 });
  tcp({ entity: client });
  // XMPP is small writes waiting on small answers: with Nagle on, each waited for the
  // server's delayed ACK (~40 ms), three quarters of a login on a fast link (bench/xmpp-logins.ts).
  client.on('connect', () => (client.socket as unknown as { setNoDelay?(on: boolean): void } | null)?.setNoDelay?.(true));
  const mw = middleware({ entity: client });
  const features = streamFeatures({ middleware: mw });
  const binder = iqCaller({ middleware: mw, entity: client });
  const callee = iqCallee({ middleware: mw, entity: client });
  if (!opts.service) resolve({ entity: client });
  const secureContext = opts.caFile ? secureContextTrusting(opts.caFile) : undefined;

  features.use('starttls', NS_TLS, async ({ entity }, next) => {
    if (!canUpgrade(entity.socket)) return next();
    const answer = await entity.sendReceive(xml('starttls', { xmlns: NS_TLS }));
    if (!answer.is('proceed', NS_TLS)) throw new Error('the server refused STARTTLS');
    // Verification stays on: an extra CA is added to Node's list, never replaces the check.
    const secured = await upgrade(entity.socket, { host: opts.domain, servername: opts.domain, ...(secureContext && { secureContext }) });
    entity._attachSocket(secured);
    await entity.restart();
  });

  features.use('mechanisms', NS_SASL, async ({ entity }, _next, feature) => {
    if (!entity.isSecure()) throw new Error('the server offers no TLS; credentials are never sent in the clear');
    const offered = feature.getChildren('mechanism', NS_SASL).map((m) => m.text());
    if (!offered.includes('SCRAM-SHA-1')) throw new AuthError('no-scram', `the server offers ${offered.join(', ') || 'nothing'}; Switchboard logs in with SCRAM-SHA-1 only, so it never keeps passwords`);
    await authenticate(entity, opts.credentials);
    await entity.restart();
  });

  const sm = opts.streamManagement;
  if (sm) {
    // Before resource binding: a resumed stream is not bound again.
    features.use('sm', NS_SM, async ({ entity }) => {
      await sm.negotiate(entity, async () => {
        const answer = await binder.set(xml('bind', { xmlns: NS_BIND }, xml('resource', {}, opts.resource)));
        const bound = answer.getChildText('jid');
        if (!bound) throw new Error('the server bound no resource');
        entity._jid(bound);
        return bound;
      });
      entity._ready(false);
    });
  }
  // Servers without stream management.
  resourceBinding({ streamFeatures: features, iqCaller: binder }, opts.resource);
  callee.get('urn:xmpp:ping', 'ping', () => ({}));
  return { client, iq: new Iq(client) };
}

/**
 * One TLS context per extra CA, shared by every connection that trusts it. A context built
 * per connection parses Node's ~140 root certificates again each time: ~0.9 MB of memory
 * held per open connection and most of a login's CPU (bench/xmpp-logins.ts). Keyed by the
 * file's content, so a replaced file is read at the next connection.
 */
const contexts = new Map<string, SecureContext>();
export function secureContextTrusting(caFile: string): SecureContext {
  const pem = readFileSync(caFile, 'utf8');
  let context = contexts.get(pem);
  if (!context) {
    if (contexts.size >= 8) contexts.clear(); // a file rewritten again and again must not grow this
    context = createSecureContext({ ca: [...rootCertificates, pem] });
    contexts.set(pem, context);
  }
  return context;
}

async function authenticate(entity: Client, credentials: ScramCredentials): Promise<void> {
  const mech = new ScramSha1();
  let answer = await entity.sendReceive(xml('auth', { xmlns: NS_SASL, mechanism: mech.name }, encode(mech.response(credentials))));
  for (;;) {
    if (answer.is('challenge', NS_SASL)) {
      mech.challenge(decode(answer.text()));
      answer = await entity.sendReceive(xml('response', { xmlns: NS_SASL }, encode(mech.response(credentials))));
    } else if (answer.is('success', NS_SASL)) {
      mech.challenge(decode(answer.text()));
      return;
    } else if (answer.is('failure', NS_SASL)) {
      const condition = answer.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? 'unknown';
      throw new AuthError(condition, answer.getChildText('text') ?? undefined);
    } else {
      throw new Error(`unexpected answer during authentication: <${answer.name}>`);
    }
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Stop listening to a connection being closed. An 'error' listener stays: the server may
 * still send a stream error (it is shutting down too), and an EventEmitter 'error' with no
 * listener ends the process.
 */
export function quiet(conn: XmppConnection): void {
  conn.client.removeAllListeners();
  conn.client.on('error', () => undefined);
}

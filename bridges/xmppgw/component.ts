/**
 * The gateway's connection to an XMPP server as a component (XEP-0114): a stream in the
 * `jabber:component:accept` namespace over TCP, from @xmpp/connection-tcp (the client's
 * own stream code), authenticated by one handshake (SHA-1 of the stream id and the
 * secret). It reconnects by itself with backoff and jitter; a refused secret stops it,
 * since trying again cannot help.
 */
import { createHash } from 'node:crypto';
import ConnectionTCP from '@xmpp/connection-tcp';
import xml, { type Element } from '@xmpp/xml';
import type { Logger } from '../../core/adapter.js';

const NS_COMPONENT = 'jabber:component:accept';
const HANDSHAKE_TIMEOUT_MS = 15_000;

class ComponentStream extends ConnectionTCP {}
ComponentStream.prototype.NS = NS_COMPONENT;

export interface ComponentOptions {
  host: string;
  port: number;
  domain: string;
  secret: string;
  reconnectMaxS: number;
  log: Logger;
  /** Every stanza addressed to the component or its users. */
  onStanza(stanza: Element): void;
  /** Up (handshake done) or down. */
  onState(up: boolean, reason?: string): void;
}

/** The server refused our secret: a configuration error, not an outage. */
export class HandshakeRefused extends Error {}

export class ComponentLink {
  private stream: ComponentStream | undefined;
  private up = false;
  private stopped = true;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: ComponentOptions) {}

  get online(): boolean {
    return this.up;
  }

  /**
   * Connect. Resolves once connected, or once the first attempt failed for a reason that
   * may pass (the server not up yet: it keeps trying); rejects when the secret is refused.
   */
  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.open();
    } catch (err) {
      if (err instanceof HandshakeRefused) throw err;
      this.retry((err as Error).message);
    }
  }

  /** Resolves when the link is up (at once if it is). */
  whenUp(): Promise<void> {
    return this.up ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Whether the link is up within `ms` (at once if it is). */
  async upWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const up = await Promise.race([this.whenUp().then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); })]);
    clearTimeout(timer);
    return up;
  }

  async send(stanza: Element): Promise<void> {
    const stream = this.stream;
    if (!stream || !this.up) throw new Error('the gateway is not connected to the XMPP server');
    await stream.send(stanza);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const stream = this.stream;
    this.stream = undefined;
    this.setUp(false, 'stopped');
    if (stream) {
      stream.removeAllListeners();
      stream.on('error', () => undefined);
      await Promise.race([stream.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 3_000).unref())]);
    }
  }

  private async open(): Promise<void> {
    const stream = new ComponentStream({ service: `xmpp://${this.opts.host}:${this.opts.port}`, domain: this.opts.domain, timeout: HANDSHAKE_TIMEOUT_MS });
    this.stream = stream;
    let refused: string | undefined;
    stream.on('error', (err) => {
      const condition = (err as Error & { condition?: string }).condition;
      if (condition === 'not-authorized') refused = 'the XMPP server refused the component secret';
      else if (condition === 'host-unknown' || condition === 'improper-addressing') refused = `the XMPP server has no component ${this.opts.domain} (${condition})`;
      this.opts.log.debug({ err: err.message }, 'xmpp component stream error');
    });
    stream.on('open', (header) => {
      const id = header.attrs.id ?? '';
      const digest = createHash('sha1').update(id + this.opts.secret, 'utf8').digest('hex');
      stream.sendReceive(xml('handshake', {}, digest)).then((answer) => {
        if (answer.name !== 'handshake') return;
        stream._jid(this.opts.domain);
        stream._status('online', stream.jid);
      }, () => undefined);
    });
    stream.on('stanza', (st) => this.opts.onStanza(st));
    try {
      await stream.start();
    } catch (err) {
      stream.removeAllListeners();
      stream.on('error', () => undefined);
      await Promise.race([stream.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
      if (this.stream === stream) this.stream = undefined;
      if (refused) throw new HandshakeRefused(refused);
      throw err;
    }
    stream.on('disconnect', () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.retry('connection to the XMPP server lost');
    });
    this.attempt = 0;
    this.setUp(true);
  }

  private retry(reason: string): void {
    this.setUp(false, reason);
    if (this.stopped) return;
    const delay = Math.min(this.opts.reconnectMaxS * 1000, 500 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.opts.log.warn({ reason, retryInMs: Math.round(delay) }, 'xmpp component link down');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.open().catch((err: Error) => {
        if (err instanceof HandshakeRefused) {
          this.opts.log.error({ err: err.message }, 'xmpp component refused; not trying again');
          this.stopped = true;
          this.setUp(false, err.message);
          return;
        }
        this.retry(err.message);
      });
    }, delay);
  }

  private setUp(up: boolean, reason?: string): void {
    if (this.up === up) return;
    this.up = up;
    this.opts.onState(up, reason);
    if (up) for (const w of this.waiters.splice(0)) w();
  }
}

/** An error answer to `stanza` (RFC 6120 8.3), from the address it was sent to. */
export function errorReply(stanza: Element, type: 'cancel' | 'modify' | 'wait' | 'auth', condition: string, text?: string): Element {
  const { from, to, id } = stanza.attrs;
  return xml(stanza.name, { type: 'error', ...(to && { from: to }), ...(from && { to: from }), ...(id && { id }) },
    xml('error', { type }, xml(condition, { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }), text ? xml('text', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }, text) : undefined));
}

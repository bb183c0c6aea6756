/**
 * A person on XMPP, using @xmpp/client (what an XMPP app would use), for end-to-end
 * tests against the harness's Prosody. It logs in with PLAIN over TLS (SCRAM in
 * @xmpp/client costs seconds of CPU per login; the bridge's own SCRAM is what is
 * measured), and trusts the harness's self-signed certificate: @xmpp/client takes no
 * TLS options, so this test process adds the CA to `tls.connect` for that host only.
 */
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { Prosody } from './prosody.js';

const trusted = new Map<string, Buffer>();

/** Make `tls.connect` in this process trust `certFile` for `host` (test processes only). */
export function trustForHost(host: string, certFile: string): void {
  if (!trusted.size) {
    const original = tls.connect.bind(tls) as (...args: unknown[]) => tls.TLSSocket;
    (tls as { connect: unknown }).connect = (...args: unknown[]) => {
      const opts = args[0] as tls.ConnectionOptions | undefined;
      const ca = opts && typeof opts === 'object' && opts.host ? trusted.get(opts.host) : undefined;
      return original(ca ? { ...opts, ca: [...tls.rootCertificates, ca] } : opts, ...args.slice(1));
    };
  }
  trusted.set(host, readFileSync(certFile));
}

export class XmppPerson {
  readonly stanzas: Element[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly jid: string, private readonly xmpp: Client) {}

  /**
   * `streamManagement: false` hides XEP-0198 from @xmpp/client (it miscounts against
   * Prosody after some iqs and the server drops the stream; a long-running person must
   * not lose its connection to that).
   */
  static async connect(prosody: Pick<Prosody, 'domain' | 'certFile' | 'c2sPort'>, user: string, password: string, opts: { streamManagement?: boolean } = {}): Promise<XmppPerson> {
    trustForHost(prosody.domain, prosody.certFile);
    const xmpp = client({
      service: `xmpp://127.0.0.1:${prosody.c2sPort}`,
      domain: prosody.domain,
      resource: 'phone',
      credentials: async (authenticate: (c: object, m: string) => Promise<void>) => authenticate({ username: user, password }, 'PLAIN'),
    });
    xmpp.reconnect.stop();
    if (opts.streamManagement === false) {
      xmpp.prependListener('element', (el: Element) => {
        if (el.name === 'stream:features' || el.is('features', 'http://etherx.jabber.org/streams')) el.children = el.children.filter((c) => typeof c === 'string' || c.attrs.xmlns !== 'urn:xmpp:sm:3');
      });
    }
    const person = new XmppPerson(`${user}@${prosody.domain}`, xmpp);
    xmpp.on('stanza', (st: Element) => {
      person.stanzas.push(st);
      for (const w of [...person.waiters]) w();
    });
    xmpp.on('error', () => undefined);
    await xmpp.start();
    await xmpp.send(xml('presence'));
    return person;
  }

  /** Wait for a stanza matching `match`, among those already received or to come. */
  waitFor(match: (st: Element) => boolean, what: string, timeoutMs = 20_000): Promise<Element> {
    const found = this.stanzas.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.stanzas.find(match);
        if (!hit) return;
        cleanup();
        resolve(hit);
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.stanzas.slice(-5).map((s) => s.toString().slice(0, 200)).join('\n  ');
        reject(new Error(`${this.jid} waited ${timeoutMs} ms for ${what}; last stanzas:\n  ${seen}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Send a message; returns its id. `children` are extra payloads (corrections, reactions, ...). */
  async say(to: string, body: string | undefined, opts: { type?: 'chat' | 'groupchat'; children?: Element[]; id?: string } = {}): Promise<string> {
    const id = opts.id ?? randomUUID();
    await this.xmpp.send(xml('message', { to, type: opts.type ?? 'chat', id }, body !== undefined && xml('body', {}, body), xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id }), ...(opts.children ?? [])));
    return id;
  }

  /** Every message a MUC's archive (XEP-0313) holds, oldest first, paged 200 at a time. */
  async archive(room: string): Promise<Element[]> {
    const all: Element[] = [];
    let after: string | undefined;
    for (;;) {
      const queryid = randomUUID();
      const page: Element[] = [];
      const collect = (st: Element) => {
        const result = st.getChild('result', 'urn:xmpp:mam:2');
        const msg = result?.attrs.queryid === queryid ? result.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message') : undefined;
        if (msg) page.push(msg);
      };
      this.xmpp.on('stanza', collect);
      let fin: Element | undefined;
      try {
        const res = await this.xmpp.iqCaller.request(xml('iq', { type: 'set', to: room, id: randomUUID() },
          xml('query', { xmlns: 'urn:xmpp:mam:2', queryid }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '200'), after !== undefined && xml('after', {}, after)))), 30_000);
        fin = res.getChild('fin', 'urn:xmpp:mam:2');
      } finally {
        this.xmpp.off('stanza', collect);
      }
      all.push(...page);
      const last = fin?.getChild('set', 'http://jabber.org/protocol/rsm')?.getChildText('last');
      if (fin?.attrs.complete === 'true' || !last || !page.length) return all;
      after = last;
    }
  }

  async joinMuc(room: string, nick: string): Promise<void> {
    await this.xmpp.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '0' }))));
    await this.waitFor((s) => s.is('presence') && s.attrs.from === `${room}/${nick}`, `joining ${room}`);
  }

  send(stanza: Element): Promise<void> {
    return this.xmpp.send(stanza);
  }

  /** An iq with one payload; resolves with the whole answer, a result or an error (never rejects for an error answer). */
  async iq(type: 'get' | 'set', to: string | undefined, payload: Element): Promise<Element> {
    const id = randomUUID();
    const answer = this.waitFor((s) => s.is('iq') && s.attrs.id === id, `the answer to iq ${payload.name} ${payload.attrs.xmlns} to ${to ?? 'our server'}`);
    await this.xmpp.send(xml('iq', { type, ...(to && { to }), id }, payload));
    return answer;
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}

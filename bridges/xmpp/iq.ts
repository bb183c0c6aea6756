/**
 * IQ requests (RFC 6120 8.2.3). Not @xmpp/iq's caller: it awaits the socket write before
 * it listens to its answer, so an error answer that arrives first (a fast local server)
 * is an unhandled rejection, which ends the process. Here the answer is awaited from the
 * moment the request exists, and a late answer after a timeout is dropped quietly.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@xmpp/client-core';
import xml, { type Element } from '@xmpp/xml';

/** An `<iq type="error">` answer: `condition` is the defined condition (item-not-found, ...). */
export class IqError extends Error {
  constructor(readonly condition: string, text?: string) {
    super(text ? `${condition} (${text})` : condition);
    this.name = 'IqError';
  }
}

interface Pending {
  resolve: (iq: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Iq {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly client: Client) {
    client.on('stanza', (st) => this.onStanza(st));
  }

  /** Send an iq and resolve with the whole answer; rejects with IqError, or after `timeoutMs`. */
  request(iq: Element, timeoutMs = 30_000): Promise<Element> {
    const id = iq.attrs.id ?? randomUUID();
    iq.attrs.id = id;
    const answer = new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to the ${iq.attrs.type} iq within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    this.client.send(iq).catch((err: Error) => this.settle(id, undefined, err));
    return answer;
  }

  /** A `get`/`set` with one payload; resolves with the whole answer (MAM answers with `<fin>`, not the payload). */
  ask(type: 'get' | 'set', to: string | undefined, payload: Element, timeoutMs?: number): Promise<Element> {
    return this.request(xml('iq', { type, ...(to && { to }) }, payload), timeoutMs);
  }

  /** `get`/`set` with one payload; resolve with the answer's payload of the same name, if any. */
  async get(payload: Element, to?: string, timeoutMs?: number): Promise<Element | undefined> {
    return this.child(await this.ask('get', to, payload, timeoutMs), payload);
  }

  async set(payload: Element, to?: string, timeoutMs?: number): Promise<Element | undefined> {
    return this.child(await this.ask('set', to, payload, timeoutMs), payload);
  }

  /** Reject everything pending (the connection is gone). */
  failAll(reason: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, new Error(reason));
  }

  private child(answer: Element, payload: Element): Element | undefined {
    return answer.getChild(payload.name, payload.attrs.xmlns);
  }

  private onStanza(st: Element): void {
    if (!st.is('iq') || (st.attrs.type !== 'result' && st.attrs.type !== 'error') || !st.attrs.id) return;
    if (!this.pending.has(st.attrs.id)) return;
    if (st.attrs.type === 'result') return this.settle(st.attrs.id, st);
    const error = st.getChild('error');
    const condition = error?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? 'undefined-condition';
    this.settle(st.attrs.id, undefined, new IqError(condition, error?.getChildText('text') ?? undefined));
  }

  private settle(id: string, answer: Element | undefined, err?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(answer!);
  }
}

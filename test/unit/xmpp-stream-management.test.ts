/**
 * Stream management counting (XEP-0198) with a scripted server: what `h` we report,
 * when a send counts as confirmed, and what a silent connection leads to. (The real
 * exchange with Prosody, resumption included, is in test/e2e/xmpp-resume.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import xml, { type Element } from '@xmpp/xml';
import type { Client } from '@xmpp/client-core';
import { NS_SM, StreamManagement } from '../../bridges/xmpp/stream-management.js';

/** Answers <enable/> with <enabled/> and records what the client sends. */
class ScriptedServer extends EventEmitter {
  readonly sent: Element[] = [];
  jid = '';
  async send(el: Element): Promise<void> {
    this.sent.push(el);
    this.emit('send', el);
  }
  async sendReceive(el: Element): Promise<Element> {
    await this.send(el);
    const answer = el.is('enable', NS_SM) ? xml('enabled', { xmlns: NS_SM, id: 'stream-1', resume: 'true' }) : xml('failed', { xmlns: NS_SM });
    this.emit('nonza', answer);
    return answer;
  }
  _jid(id: string): void {
    this.jid = id;
  }
  /** A stanza from the server; `done` is when the session finished with it. */
  deliver(sm: StreamManagement, done: Promise<unknown>): void {
    sm.track(this as unknown as Client, done);
  }
  acks(): string[] {
    return this.sent.filter((e) => e.is('a', NS_SM)).map((e) => String(e.attrs.h));
  }
}

async function enabled(dead: (c: Client) => void = () => undefined, timeoutMs?: number) {
  const server = new ScriptedServer();
  const sm = new StreamManagement(dead, timeoutMs);
  const resumed = await sm.negotiate(server as unknown as Client, async () => 'me@x/r');
  assert.equal(resumed, false);
  assert.equal(sm.enabled, true);
  return { server, sm };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
};
const tick = () => new Promise((r) => setImmediate(r));

describe('XMPP stream management', () => {
  it('reports as handled only the stanzas finished so far, in order, and tells the server when a late one finishes', async () => {
    const { server, sm } = await enabled();
    const first = deferred();
    const second = deferred();
    server.deliver(sm, first.promise);
    server.deliver(sm, second.promise);
    server.deliver(sm, Promise.resolve());
    await tick();
    server.emit('nonza', xml('r', { xmlns: NS_SM }));
    await tick();
    // Nothing is handled while the first is still being recorded.
    assert.deepEqual(server.acks(), ['0']);
    second.resolve();
    await tick();
    assert.deepEqual(server.acks(), ['0']);
    first.resolve();
    await tick();
    // All three are done now, and the server asked before: it hears at once.
    assert.deepEqual(server.acks(), ['0', '3']);
  });

  it('a failed stanza still counts as handled (it is not held against the stream forever)', async () => {
    const { server, sm } = await enabled();
    server.deliver(sm, Promise.reject(new Error('dropped')));
    await tick();
    server.emit('nonza', xml('r', { xmlns: NS_SM }));
    await tick();
    assert.deepEqual(server.acks(), ['1']);
  });

  it('a send is confirmed by the server\'s count, not by the write, and fails when the connection drops first', async () => {
    const { server, sm } = await enabled();
    await server.send(xml('message', { to: 'a@x' }));
    let confirmed = false;
    const one = sm.confirmed().then(() => { confirmed = true; });
    await tick();
    assert.equal(server.sent.filter((e) => e.is('r', NS_SM)).length, 1, 'an ack was requested');
    assert.equal(confirmed, false);
    server.emit('nonza', xml('a', { xmlns: NS_SM, h: '1' }));
    await one;
    await server.send(xml('message', { to: 'a@x' }));
    const two = sm.confirmed();
    sm.dropped();
    await assert.rejects(two, /dropped before the server confirmed/);
  });

  it('a server that acknowledges while sends keep waiting is alive', async () => {
    let dead = 0;
    const { server, sm } = await enabled(() => { dead++; }, 50);
    const pending: Promise<void>[] = [];
    // A send every 20 ms, each acknowledged 20 ms later: there is always one waiting.
    for (let i = 1; i <= 12; i++) {
      await server.send(xml('message', { to: 'a@x' }));
      pending.push(sm.confirmed());
      await new Promise((r) => setTimeout(r, 20));
      server.emit('nonza', xml('a', { xmlns: NS_SM, h: String(i - 1) }));
    }
    server.emit('nonza', xml('a', { xmlns: NS_SM, h: '12' }));
    await Promise.all(pending);
    assert.equal(dead, 0);
  });

  it('a server that never acknowledges is taken for a dead connection', async () => {
    let dead = 0;
    const { server, sm } = await enabled(() => { dead++; }, 30);
    await server.send(xml('message', { to: 'a@x' }));
    const pending = sm.confirmed();
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(dead, 1);
    sm.dropped();
    await assert.rejects(pending);
  });
});

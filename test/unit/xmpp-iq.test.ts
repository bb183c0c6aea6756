/** iq requests: an error answer that arrives before the write finished is still the caller's rejection, never an unhandled one. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import xml, { type Element } from '@xmpp/xml';
import { Iq, IqError } from '../../bridges/xmpp/iq.js';

/** A client whose send() finishes late, after the server already answered (what a fast local server does). */
class SlowWriteClient extends EventEmitter {
  answer: (iq: Element) => Element = (iq) => xml('iq', { type: 'error', id: iq.attrs.id }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
  async send(iq: Element): Promise<void> {
    this.emit('stanza', this.answer(iq));
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('XMPP iq requests', () => {
  it('an early error answer rejects the request with its condition and nothing is left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    const client = new SlowWriteClient();
    const iq = new Iq(client as never);
    const err = await iq.request(xml('iq', { type: 'get', to: 'room@conf.test' }, xml('query', { xmlns: 'urn:x' }))).catch((e: unknown) => e);
    assert.ok(err instanceof IqError);
    assert.equal(err.condition, 'item-not-found');
    await new Promise((r) => setTimeout(r, 50));
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, []);
  });

  it('resolves with the answer, gives the payload for get/set, and times out when nobody answers', async () => {
    const client = new SlowWriteClient();
    client.answer = (q) => xml('iq', { type: 'result', id: q.attrs.id }, xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: 'bob@x' })));
    const iq = new Iq(client as never);
    const roster = await iq.get(xml('query', { xmlns: 'jabber:iq:roster' }));
    assert.equal(roster?.getChild('item')?.attrs.jid, 'bob@x');
    client.answer = () => xml('message');
    await assert.rejects(iq.request(xml('iq', { type: 'get' }), 50), /no answer to the get iq within 50 ms/);
  });
});

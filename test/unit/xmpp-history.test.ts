/** The XMPP archive catch-up (bridges/xmpp/history.ts): held live messages never overtake each other, nor are overtaken. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import xml, { type Element } from '@xmpp/xml';
import { silentLogger } from '../../core/log.js';
import type { XmppConnection } from '../../bridges/xmpp/connection.js';
import { History } from '../../bridges/xmpp/history.js';

const live = (n: number) => xml('message', { type: 'groupchat', from: 'room@muc.example/bob', id: `m${n}` }, xml('body', {}, String(n)));

describe('XMPP catch-up', () => {
  it('a live message arriving while the held ones are handed over waits behind them', async () => {
    const order: string[] = [];
    let history!: History;
    let injected = false;
    history = new History(undefined, {
      self: 'relay@example',
      log: silentLogger(),
      save: async () => undefined,
      async handle(stanza) {
        // The core takes its time with each message (a ghost to make, a commit to wait for)...
        await new Promise((r) => setTimeout(r, 5));
        order.push(stanza.getChildText('body')!);
        // ...and while it does, the next live message arrives from the server.
        if (!injected) {
          injected = true;
          // As the session does: a message nobody intercepts is handled at once, on its own.
          if (!history.intercept(live(4))) void this.handle(live(4));
        }
      },
    });
    history.hold();
    const held = [1, 2, 3].map((n) => history.intercept(live(n)));
    assert.ok(held.every((p) => p instanceof Promise), 'held during the catch-up');
    await history.catchUp(undefined, []);
    await Promise.all(held);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(order, ['1', '2', '3', '4']);
    assert.equal(history.intercept(live(5)), undefined, 'after the catch-up, live messages flow');
  });

  it('a catch-up hands over every archived message, in order, however many (12,000 here), a page at a time', async () => {
    const TOTAL = 12_000;
    const archived = (n: number) => ({ id: `a${n}`, stanza: xml('message', { type: 'chat', from: 'bob@example/phone', to: 'alice@example', id: `m${n}` }, xml('body', {}, String(n))) });
    let history!: History;
    let biggestPage = 0;
    // A MAM server over an archive a0..a11999: results come as messages (which the session
    // passes to history.intercept), then the iq answer with the page's last id.
    const conn = {
      iq: {
        async ask(_type: string, _to: string | undefined, query: Element): Promise<Element> {
          const after = query.getChild('set')?.getChildText('after');
          const max = Number(query.getChild('set')?.getChildText('max'));
          const start = after ? Number(after.slice(1)) + 1 : 0;
          const end = Math.min(TOTAL, start + max);
          biggestPage = Math.max(biggestPage, end - start);
          for (let n = start; n < end; n++) {
            const { id, stanza } = archived(n);
            const result = xml('message', { to: 'alice@example' }, xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: query.attrs.queryid, id }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, stanza)));
            assert.ok(history.intercept(result), 'a result of the running query');
          }
          const set = end > start ? xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('last', {}, `a${end - 1}`)) : xml('set', { xmlns: 'http://jabber.org/protocol/rsm' });
          return xml('iq', { type: 'result' }, xml('fin', { xmlns: 'urn:xmpp:mam:2', ...(end >= TOTAL && { complete: 'true' }) }, set));
        },
      },
    } as unknown as XmppConnection;
    const handled: number[] = [];
    let saved: unknown;
    history = new History({ own: { after: 'a-1' } }, {
      self: 'alice@example',
      log: silentLogger(),
      save: async (state) => { saved = state; },
      async handle(stanza) { handled.push(Number(stanza.getChildText('body'))); },
    });
    await history.catchUp(conn, []);
    assert.equal(handled.length, TOTAL);
    assert.ok(handled.every((n, i) => n === i), 'in archive order');
    assert.ok(biggestPage <= 100, `pages of at most 100 (got ${biggestPage})`);
    assert.deepEqual(saved, { own: { after: `a${TOTAL - 1}` }, rooms: {} });
  });
});

/** The XMPP archive catch-up (bridges/xmpp/history.ts): held live messages never overtake each other, nor are overtaken. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import xml from '@xmpp/xml';
import { silentLogger } from '../../core/log.js';
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
});

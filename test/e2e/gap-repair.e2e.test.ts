/**
 * synapse#11637 against a real Synapse: events the homeserver owed the bridge but never
 * sent. The loss is made the way it happens: the event is in the room, but the pending
 * appservice transaction that would carry it is gone when Synapse comes back (here it is
 * deleted from Synapse's database while Synapse is stopped). The bridge must find it in
 * the room and bridge it, in order, before what follows.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';

describe('events the homeserver never sends (synapse#11637)', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;

  before(async () => {
    stack = await Stack.start({ bridge: { loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] } } });
    alice = await stack.user('alice');
    await stack.loopback.addUser('bob', 'Bob');
  });
  after(async () => {
    await alice?.stop();
    await stack?.stop();
  });

  it('a message whose appservice transaction Synapse lost is bridged after the restart, before the next one', async (t) => {
    await stack.loopback.dm('bob', 'alice', 'hi alice');
    const room = await alice.waitForInvite();
    await alice.join(room);
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'hi alice', "bob's message");
    await alice.sendText(room, 'one');
    await stack.loopback.waitFromBridge((x) => x.event.type === 'message' && x.event.content.text === 'one');

    // The bridge is down: Synapse keeps what it owes it as appservice transactions.
    await stack.bridge.stop();
    await alice.sendText(room, 'two (lost by the homeserver)');
    await new Promise((r) => setTimeout(r, 1500));
    await stack.synapse.stop();
    const db = new Database(join(stack.dir, 'synapse', 'homeserver.db'));
    const dropped = db.prepare('DELETE FROM application_services_txns').run().changes;
    db.close();
    t.diagnostic(`deleted ${dropped} pending appservice transaction(s) from Synapse's database`);
    assert.ok(dropped > 0, 'Synapse had queued the event as a transaction');
    await stack.synapse.start();
    await stack.bridge.start();
    stack.loopback.bridgeRestarted();

    await alice.sendText(room, 'three');
    await stack.loopback.waitFromBridge((x) => x.event.type === 'message' && x.event.content.text === 'three', 60_000);
    const { messages } = await stack.loopback.call<{ messages: { from: string; text: string }[] }>('GET', '/chats/bob/messages?peer=alice');
    const texts = messages.filter((m) => m.from === 'alice').map((m) => m.text);
    t.diagnostic(`the loopback network got, in order: ${JSON.stringify(texts)}`);
    assert.deepEqual(texts.slice(-3), ['one', 'two (lost by the homeserver)', 'three']);
    assert.match(stack.bridge.process!.output(), /the homeserver never sent these events/);
  });
});

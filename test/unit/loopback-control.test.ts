import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LoopbackWorld } from '../../bridges/loopback/world.js';
import { LoopbackControl } from '../../bridges/loopback/control.js';
import { LoopbackAdapter } from '../../bridges/loopback/adapter.js';
import { silentLogger } from '../../core/log.js';
import { remoteUserId } from '../../core/ids.js';
import { LoopbackClient } from '../harness/loopback-client.js';

const TOKEN = 'a-long-enough-control-token';

describe('loopback control API', () => {
  let world: LoopbackWorld;
  let control: LoopbackControl;
  let client: LoopbackClient;
  beforeEach(async () => {
    world = new LoopbackWorld();
    control = new LoopbackControl(world, { port: 0, bindAddress: '127.0.0.1', token: TOKEN }, silentLogger());
    const port = await control.start();
    client = new LoopbackClient(`http://127.0.0.1:${port}`, TOKEN);
  });
  afterEach(() => control.stop());

  it('acts as loopback users: users, groups, messages, edits, reactions, deletes', async () => {
    const png = new Uint8Array([137, 80, 78, 71]);
    await client.addUser('bob', 'Bob', { kind: 'image', name: 'b.png', mime: 'image/png', source: { kind: 'bytes', bytes: png } });
    assert.deepEqual(world.users.get(remoteUserId('bob'))?.avatar?.source, { kind: 'bytes', bytes: png }, 'bytes survive the JSON trip');
    await client.addGroup('general', { name: 'General', members: ['bob'] });
    const id = await client.say('bob', 'general', 'hello');
    await client.edit(id, 'hello!');
    await client.react('bob', id, '👍');
    const reply = await client.say('bob', 'general', { kind: 'text', text: 'see above' }, id);
    let m = await client.message(id);
    assert.equal(m.content.text, 'hello');
    assert.deepEqual(m.edits.map((e) => e.text), ['hello!']);
    assert.deepEqual(m.reactions, { bob: ['👍'] });
    assert.equal((await client.message(reply)).replyTo, id);
    await client.delete(id);
    m = await client.message(id);
    assert.equal(m.deleted, true);
  });

  it('refuses a missing or wrong token, bad bodies and unknown routes with a clear error', async () => {
    const base = client.baseUrl;
    assert.equal((await fetch(`${base}/users`, { method: 'POST', body: '{"id":"x"}' })).status, 401);
    await assert.rejects(new LoopbackClient(base, 'wrong-token-wrong-token').addUser('x'), /401 missing or wrong bearer token/);
    await assert.rejects(client.call('POST', '/messages', { from: 'bob', text: 'hi' }), /400 .*exactly one of chat/);
    await assert.rejects(client.call('POST', '/nowhere', {}), /404 no route POST \/nowhere/);
    await assert.rejects(client.message('lb999'), /404 no message lb999/);
    const res = await fetch(`${base}/users`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{not json' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /not JSON/);
  });

  it('long-polls what the bridge did, in order', async () => {
    world.addGroup('g', { members: ['relaybot'] });
    const waiting = client.waitFromBridge((e) => e.event.type === 'message');
    setTimeout(() => void world.fromSession(remoteUserId('relaybot'), { type: 'message', chat: 'g' as never, content: { kind: 'text', text: 'from matrix' } }), 50);
    const entry = await waiting;
    assert.equal(entry.by, 'relaybot');
    assert.equal(entry.event.type === 'message' && entry.event.content.text, 'from matrix');
    assert.match(entry.id ?? '', /^lb\d+$/);
    await assert.rejects(client.waitFromBridge(() => true, 100), /no matching loopback event within 100 ms/);
  });

  it('config refuses a control API outside loopback or with a short token', () => {
    const adapter = new LoopbackAdapter();
    assert.throws(() => adapter.parseConfig({ control: { port: 1, bind_address: '0.0.0.0' } }), /control.bind_address: must be a loopback address/);
    assert.throws(() => adapter.parseConfig({ control: { port: 1, token: 'short' } }), /control.token: must be a string of at least 16/);
    assert.deepEqual(adapter.parseConfig({ control: { port: 0 } }).control, { port: 0, bindAddress: '127.0.0.1' });
  });
});

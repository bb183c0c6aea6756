/**
 * Public media links (`public_media`): a file a network cannot take as a file goes as a
 * signed link the bridge serves, and the link hands out the bytes from the homeserver's
 * media repository, with headers that keep browsers from running them, and nothing else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../core/log.js';
import { AppserviceListener } from '../../core/matrix/listener.js';
import { MediaServer } from '../../core/media/server.js';
import { ALICE, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const MB = 1024 * 1024;

describe('public media links', () => {
  let h: Harness;
  let listener: AppserviceListener;
  let base: string;
  let roomId: string;

  before(async () => {
    // The listener's port is only known once it listens; the engine reads the URL at start.
    listener = new AppserviceListener({ onTransaction: () => undefined, isBridgeUser: () => false, extras: [{ owns: MediaServer.owns, handle: (req, res) => server.handle(req, res) }] }, { hsToken: 'hs-token-for-the-test', maxBodyBytes: 1024, log: silentLogger() });
    base = `http://127.0.0.1:${await listener.listen(0, '127.0.0.1')}`;
    h = await startHarness({ config: testConfig({ public_media: { enabled: true, url: `${base}/_switchboard/media`, signing_key: 'a-signing-key-of-some-length' } }) });
    server = new MediaServer(h.engine.ctx.mediaLinks!, h.matrix, h.config.bridge.max_media_bytes, silentLogger());
    h.world.addUser('bob', 'Bob');
    h.world.addGroup('general', { name: 'General', members: ['alice', 'bob', 'relaybot'] });
    await h.world.say('bob', 'general', 'hello');
    await h.engine.idle();
    roomId = h.matrix.sends()[0]!.roomId;
  });
  let server: MediaServer;
  after(async () => {
    await listener.close();
    await h.stop();
  });

  it('a file over the network\'s limit goes as a note with a link that serves its bytes', async () => {
    const bytes = new TextEncoder().encode('pretend these are 11 MiB of video');
    const mxc = await h.matrix.uploadMedia(bytes, 'video/mp4', 'talk.mp4');
    await h.fromMatrix({ type: 'm.room.message', room_id: roomId, sender: ALICE, content: { msgtype: 'm.video', body: 'talk.mp4', url: mxc, info: { mimetype: 'video/mp4', size: 11 * MB } } });
    const sent = h.world.fromBridge.at(-1)!.event as { content: { text: string; attachments?: unknown[] } };
    assert.equal(sent.content.attachments, undefined);
    const m = /^\[video: talk\.mp4, 11\.0 MiB — larger than this network's 10\.0 MiB limit\] (http:\/\/\S+)$/.exec(sent.content.text);
    assert.ok(m, sent.content.text);
    const res = await fetch(m[1]!);
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal(res.headers.get('content-disposition'), "inline; filename*=UTF-8''talk.mp4");
    assert.equal((await fetch(m[1]!, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(m[1]!, { method: 'POST' })).status, 405);
  });

  it('a file a network takes carries the link too, for adapters that cannot upload it', async () => {
    const mxc = await h.matrix.uploadMedia(new Uint8Array([1, 2, 3]), 'image/png', 'dot.png');
    await h.fromMatrix({ type: 'm.room.message', room_id: roomId, sender: ALICE, content: { msgtype: 'm.image', body: 'dot.png', url: mxc, info: { mimetype: 'image/png', size: 3 } } });
    const sent = h.world.fromBridge.at(-1)!.event as { content: { attachments: { link?: string }[] } };
    const res = await fetch(sent.content.attachments[0]!.link!);
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [1, 2, 3]);
  });

  it('HTML is handed out as an opaque download; forged, unknown and vanished media get 404', async () => {
    const mxc = await h.matrix.uploadMedia(new TextEncoder().encode('<script>alert(1)</script>'), 'text/html', 'page.html');
    const link = h.engine.ctx.mediaLinks!.link(mxc, 'page.html')!;
    const res = await fetch(link);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('content-disposition'), "attachment; filename*=UTF-8''page.html");

    const forged = link.replace(/\/0\/[^/]+\//, `/0/${'A'.repeat(32)}/`);
    assert.equal((await fetch(forged)).status, 404);
    assert.equal((await fetch(`${base}/_switchboard/media/v1/example.org/unknown`)).status, 404);
    const gone = h.engine.ctx.mediaLinks!.link('mxc://example.org/neverUploaded', 'x.png')!;
    const answer = await fetch(gone);
    assert.equal(answer.status, 404);
    assert.equal(((await answer.json()) as { errcode: string }).errcode, 'M_NOT_FOUND');
  });
});

/** core/matrix/library.ts: what Switchboard changes in the bot-sdk under matrix-appservice-bridge. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { actWithoutDevices } from '../../core/matrix/library.js';

const sdk = createRequire(createRequire(import.meta.url).resolve('matrix-appservice-bridge'))('@vector-im/matrix-bot-sdk') as {
  Intent: new (options: object, userId: string, appservice: object) => { ensureRegistered(deviceId?: string): Promise<unknown>; underlyingClient: { doRequest(method: string, path: string, qs: unknown, body: unknown): Promise<unknown> } };
};

describe('Matrix library plumbing', () => {
  it('a freshly registered ghost acts without the device its registration made (the homeserver checks a named device on every request)', async () => {
    const queries: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      queries.push(`${req.method} ${req.url}`);
      const body = req.url!.startsWith('/_matrix/client/v3/register') ? { user_id: '@_lb_bob:example.org', device_id: 'NEWDEVICE' } : { event_id: '$e' };
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      actWithoutDevices();
      actWithoutDevices(); // idempotent: one wrapper, however many bridges a process makes
      const registered = new Set<string>();
      const options = {
        homeserverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        registration: { as_token: 'as-token' },
        storage: { isUserRegistered: (u: string) => registered.has(u), addRegisteredUser: (u: string) => void registered.add(u) },
      };
      const ghost = new sdk.Intent(options, '@_lb_bob:example.org', { botUserId: '@bot:example.org' });
      await ghost.ensureRegistered();
      await ghost.underlyingClient.doRequest('PUT', '/_matrix/client/v3/rooms/!r/send/m.room.message/t1', null, { body: 'hi' });
      const put = queries.find((q) => q.startsWith('PUT'))!;
      assert.match(put, /user_id=%40_lb_bob%3Aexample\.org/);
      assert.doesNotMatch(put, /device_id/);
      // Asked for by name (as encryption would), a device is kept.
      const device = new sdk.Intent(options, '@_lb_carol:example.org', { botUserId: '@bot:example.org' });
      await device.ensureRegistered('CHOSEN');
      await device.underlyingClient.doRequest('PUT', '/_matrix/client/v3/rooms/!r/send/m.room.message/t2', null, { body: 'hi' });
      assert.match(queries.at(-1)!, /device_id=NEWDEVICE/);
    } finally {
      server.close();
    }
  });
});

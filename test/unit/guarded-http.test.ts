/** Outbound HTTP to addresses strangers chose (core/net/guarded-http.ts): address rules and the limits a slow server meets. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { getBytes, isPublicAddress, OutboundRefused } from '../../core/net/guarded-http.js';

describe('guarded outbound HTTP', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (req.url === '/fast') return res.end(Buffer.alloc(1000));
      // One byte every 100 ms, for ever: never idle long enough for a socket timeout.
      const t = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  it('IPv4-compatible IPv6 ([::127.0.0.1], ::/96) is never public; mapped and embedded private ones neither', async () => {
    for (const ip of ['::7f00:1', '::127.0.0.1', '::a00:1', '::ffff:127.0.0.1', '::1', '::', '64:ff9b::7f00:1', '2002:7f00:1::1']) assert.equal(isPublicAddress(ip), false, ip);
    for (const ip of ['2a01:4f8::1', '93.184.216.34']) assert.equal(isPublicAddress(ip), true, ip);
    await assert.rejects(getBytes(new URL('http://[::127.0.0.1]:9/x'), { allowPrivate: false, timeoutMs: 1000, maxBytes: 10 }), OutboundRefused);
  });

  it('a server that trickles one byte at a time is cut by the minimum rate, then by the overall deadline', async () => {
    const opts = { allowPrivate: true, timeoutMs: 5_000, maxBytes: 1_000_000 };
    await assert.rejects(getBytes(new URL(`${base}/slow`), { ...opts, minRate: { bytesPerSecond: 1000, afterMs: 300 } }), /slower than 1000 bytes\/s/);
    await assert.rejects(getBytes(new URL(`${base}/slow`), { ...opts, deadlineMs: 400, minRate: { bytesPerSecond: 1, afterMs: 60_000 } }), /did not finish within 400 ms/);
    assert.equal((await getBytes(new URL(`${base}/fast`), { ...opts, minRate: { bytesPerSecond: 1000, afterMs: 300 } })).bytes.length, 1000);
  });
});

/** The XMPP connection's socket settings: one shared TLS context per extra CA, and no Nagle delay. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createConnection, secureContextTrusting } from '../../bridges/xmpp/connection.js';
import { tempDir } from '../harness/proc.js';

/** A fresh self-signed certificate, written to `file`. */
function selfSigned(dir: string, file: string, name: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, `${name}.key`), '-out', file, '-subj', `/CN=${name}`], { stdio: 'ignore' });
}

describe('XMPP connection', () => {
  it('connections that trust the same extra CA share one TLS context; a replaced file gets a new one', () => {
    const dir = tempDir('xmpp-ca');
    try {
      const file = join(dir.path, 'ca.pem');
      selfSigned(dir.path, file, 'ca-a');
      const first = secureContextTrusting(file);
      assert.equal(secureContextTrusting(file), first);
      const before = readFileSync(file, 'utf8');
      selfSigned(dir.path, file, 'ca-b');
      assert.notEqual(readFileSync(file, 'utf8'), before);
      assert.notEqual(secureContextTrusting(file), first);
    } finally {
      dir.remove();
    }
  });

  it('turns Nagle off on its socket (small writes are not held for the server\'s ACK)', async () => {
    const accepted: Socket[] = [];
    const server = createServer((s) => { accepted.push(s); s.on('error', () => undefined); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const calls: unknown[] = [];
    const original = Socket.prototype.setNoDelay;
    Socket.prototype.setNoDelay = function (this: Socket, ...args: Parameters<Socket['setNoDelay']>) {
      calls.push(args[0]);
      return original.apply(this, args);
    };
    const { client } = createConnection({
      service: `xmpp://127.0.0.1:${(server.address() as AddressInfo).port}`, domain: 'xmpp.test', resource: 'r',
      credentials: { username: 'u', password: 'p' },
    });
    client.on('error', () => undefined);
    try {
      const connected = new Promise<void>((r) => client.on('connect', () => r()));
      void client.start().catch(() => undefined); // the server never answers: only the socket matters here
      await connected;
      assert.deepEqual(calls, [true]);
    } finally {
      Socket.prototype.setNoDelay = original;
      // Both ends hang up at once (a clean stop would wait for the server's closing tag).
      (client.socket as Socket | null)?.destroy();
      for (const s of accepted) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

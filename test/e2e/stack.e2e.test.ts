/** `npm run stack` as a newcomer runs it: it comes up, says what to do, and Ctrl-C takes everything down. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../harness/bridge.js';
import { freePort, spawnServer, tempDir, waitReady } from '../harness/proc.js';
import { canConnect } from '../harness/tcp.js';
import { MatrixTestClient } from '../harness/matrix-client.js';

describe('npm run stack', { timeout: 180_000 }, () => {
  it('starts Synapse and the bridge, prints the login, and stops everything on Ctrl-C', async () => {
    const logs = tempDir('stack-script');
    const port = await freePort();
    const proc = spawnServer('stack', process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'stack.ts'), '--no-prosody', '--synapse-port', String(port), '--user', 'newcomer'], {
      cwd: REPO_ROOT, logFile: join(logs.path, 'stack.log'),
    });
    try {
      await waitReady(proc, '"Press Ctrl-C"', async () => proc.output().includes('Press Ctrl-C to stop everything.'), 150_000);
      const out = proc.output();
      assert.match(out, new RegExp(`Homeserver   http://127\\.0\\.0\\.1:${port}`));
      assert.match(out, /Log in as    @newcomer:switchboard\.test   password: switchboard/);
      const dir = /Logs: (\S+)\/bridge\/bridge-1\.log/.exec(out)?.[1];
      assert.ok(dir && existsSync(dir), 'the stack directory exists while it runs');
      const controlPort = Number(/control API http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);

      // The printed credentials work, and the seeded DM from bob is waiting.
      const me = await MatrixTestClient.login(`http://127.0.0.1:${port}`, 'newcomer', 'switchboard');
      const room = await me.waitForInvite((_r, inviter) => inviter === '@_loopback_bob:switchboard.test');
      await me.join(room);
      await me.waitFor((e) => e.room_id === room && String(e.content.body).startsWith('Hi newcomer!'), "bob's greeting");
      await me.stop();

      proc.signal('SIGINT');
      assert.equal(await proc.exited, 0);
      assert.match(proc.output(), /Stopped; temporary data removed\./);
      assert.equal(existsSync(dir), false, 'temporary data removed');
      assert.equal(await canConnect(port), false, 'Synapse is gone');
      assert.equal(await canConnect(controlPort), false, 'the bridge is gone');
    } finally {
      await proc.stop();
      logs.remove();
    }
  });
});

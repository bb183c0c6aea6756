/**
 * The start command admins give a service manager (`node bin/switchboard.mjs -c config.yaml
 * start`) is the bridge process itself: SIGTERM to its pid drains and stops it, and its
 * port is free for the next start. Under `npx`, SIGTERM reached only npx and the bridge
 * kept running (issue 18), so the README and the systemd unit use this instead.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BridgeProcess } from '../harness/bridge.js';
import { freePort, tempDir } from '../harness/proc.js';
import { canConnect } from '../harness/tcp.js';

describe('the start command', { timeout: 120_000 }, () => {
  it('SIGTERM to the process the start command made stops the bridge and frees its port; a second start binds it', async () => {
    const tmp = tempDir('start-command');
    // No homeserver: the bridge listens first, then waits for one; that is enough to stop it.
    const bridge = await BridgeProcess.create({ dir: join(tmp.path, 'bridge'), homeserverUrl: `http://127.0.0.1:${await freePort()}`, domain: 'start.test' });
    try {
      for (let run = 1; run <= 2; run++) {
        const proc = await bridge.start({ waitReady: false });
        const end = Date.now() + 60_000;
        while (!(await canConnect(bridge.port)) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        assert.equal(await canConnect(bridge.port), true, `run ${run}: the appservice port is up`);
        proc.signal('SIGTERM');
        assert.equal(await proc.exited, 0, `run ${run}: a clean exit; output: ${proc.output()}`);
        assert.equal(await canConnect(bridge.port), false, `run ${run}: the port is free`);
        assert.match(proc.output(), /"msg":"stopped cleanly"/);
      }
    } finally {
      await bridge.stop('SIGKILL');
      tmp.remove();
    }
  });
});

/** contrib/switchboard.service is read by systemd itself: `systemd-analyze verify` must print nothing. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });

describe('the systemd unit', () => {
  // systemd is part of Debian and of our machines; only a machine without it (a container) cannot check.
  it('passes systemd-analyze verify without a warning, and keeps its hardening', { skip: analyze.status === 0 ? false : 'systemd-analyze is not installed here' }, () => {
    const unit = readFileSync(join(REPO, 'contrib', 'switchboard.service'), 'utf8');
    for (const line of ['DynamicUser=yes', 'StateDirectory=switchboard', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'LoadCredential=config.yaml:/etc/switchboard/config.yaml', 'CapabilityBoundingSet=']) {
      assert.ok(unit.split('\n').includes(line), `the unit keeps ${line}`);
    }
    assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=yes/m, "V8's JIT needs writable, executable memory");
    // Where this checkout and this Node.js are, so verify can check the command is executable.
    const dir = mkdtempSync(join(tmpdir(), 'sb-unit-'));
    try {
      const file = join(dir, 'switchboard.service');
      writeFileSync(file, unit.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/switchboard/', REPO.endsWith('/') ? REPO : `${REPO}/`));
      const res = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stderr.trim(), '', 'no warning (an unknown key or a bad value is only a warning to systemd)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

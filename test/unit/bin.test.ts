/**
 * bin/switchboard.mjs, the command admins run: the compiled bridge, and on Node 22+ V8's
 * compile cache in NODE_COMPILE_CACHE, so a restart skips most compiling (docs/performance.md).
 * CI runs this tier on Node 20 (no such cache: nothing written) and on 22 and 24.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'switchboard.mjs');

describe('bin/switchboard.mjs', () => {
  it(`runs the compiled bridge, with V8's compile cache where Node has one (${process.version})`, () => {
    const cache = mkdtempSync(join(tmpdir(), 'sb-compile-cache-'));
    try {
      const out = execFileSync(process.execPath, [BIN, '--version'], { env: { ...process.env, NODE_COMPILE_CACHE: cache }, encoding: 'utf8' });
      assert.match(out, /^\d+\.\d+\.\d+\n$/);
      const cached = readdirSync(cache, { recursive: true }).length;
      if ('enableCompileCache' in module) assert.ok(cached > 0, 'compiled code kept for the next start');
      else assert.equal(cached, 0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

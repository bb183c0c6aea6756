/**
 * bin/switchboard.mjs, the command admins run: the bundled bridge, with V8's compiled code
 * kept in NODE_COMPILE_CACHE, so a restart skips most compiling (docs/performance.md): Node
 * 22+'s own compile cache, Node 20's through bin/code-cache.mjs. CI runs this tier on 20, 22 and 24.
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
      const version = () => execFileSync(process.execPath, [BIN, '--version'], { env: { ...process.env, NODE_COMPILE_CACHE: cache }, encoding: 'utf8' });
      assert.match(version(), /^\d+\.\d+\.\d+\n$/);
      const files = readdirSync(cache, { recursive: true }).map(String);
      assert.ok(files.length > 0, 'compiled code kept for the next start');
      // Node 20: our own cache file (bin/code-cache.mjs); Node 22+: Node's directory of them.
      if (!('enableCompileCache' in module)) assert.deepEqual(files.filter((f) => f.endsWith('.v8cache')).length, 1);
      assert.match(version(), /^\d+\.\d+\.\d+\n$/, 'and runs from it');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

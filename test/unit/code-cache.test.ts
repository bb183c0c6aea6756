/** bin/code-cache.mjs: Node 20's code cache for the bundle (Node 22+ has its own). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../harness/bridge.js';
import { tempDir } from '../harness/proc.js';

const LOADER = pathToFileURL(join(REPO_ROOT, 'bin', 'code-cache.mjs')).href;

/** Runs `file` through the loader in a new process; what it printed and what the loader reported. */
function run(file: string, cacheDir: string): { out: string; reports: string[] } {
  const script = `import(${JSON.stringify(LOADER)}).then((m) => m.runWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cacheDir)}, (r) => console.log('cache: ' + r)))`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return { out, reports: [...out.matchAll(/^cache: (\w+)$/gm)].map((m) => m[1]!) };
}

// A CommonJS program using what the bundle uses: require, __dirname, module.exports.
const PROGRAM = `
const { basename } = require('node:path');
module.exports = { here: basename(__dirname) };
console.log('ran in ' + module.exports.here);
setTimeout(() => console.log('required ' + typeof require('node:os').tmpdir), 10);
`;

describe('code cache (bin/code-cache.mjs)', () => {
  it('the first run writes the cache, the next one runs from it, and the program behaves the same', () => {
    const tmp = tempDir('code-cache');
    try {
      const file = join(tmp.path, 'app', 'main.cjs');
      mkdirSync(join(tmp.path, 'app'));
      writeFileSync(file, PROGRAM);
      const cacheDir = join(tmp.path, 'cache');
      const first = run(file, cacheDir);
      assert.deepEqual(first.reports, ['missing', 'written']);
      assert.match(first.out, /ran in app\n/);
      assert.match(first.out, /required function/);
      const [cacheFile] = readdirSync(cacheDir);
      assert.equal(statSync(join(cacheDir, cacheFile!)).mode & 0o777, 0o600);
      assert.equal(statSync(cacheDir).mode & 0o777, 0o700);

      const second = run(file, cacheDir);
      assert.deepEqual(second.reports, ['accepted']);
      assert.match(second.out, /ran in app\n/);
      assert.match(second.out, /required function/);

      // A changed program: V8 refuses the old cache, the program runs as written, the cache is renewed.
      writeFileSync(file, PROGRAM.replace('ran in', 'now runs in'));
      const changed = run(file, cacheDir);
      assert.deepEqual(changed.reports, ['rejected', 'written']);
      assert.match(changed.out, /now runs in app/);
      assert.deepEqual(run(file, cacheDir).reports, ['accepted']);

      // Garbage in the cache file is refused the same way.
      writeFileSync(join(cacheDir, cacheFile!), 'not a code cache');
      const garbage = run(file, cacheDir);
      assert.deepEqual(garbage.reports, ['rejected', 'written']);
      assert.match(garbage.out, /now runs in app/);
    } finally {
      tmp.remove();
    }
  });

  it('a cache directory others can write to is not used (a code cache is code); one they can only read is', () => {
    const tmp = tempDir('code-cache-open');
    try {
      const file = join(tmp.path, 'main.cjs');
      writeFileSync(file, PROGRAM);
      const cacheDir = join(tmp.path, 'shared');
      mkdirSync(cacheDir);
      chmodSync(cacheDir, 0o777);
      const open = run(file, cacheDir);
      assert.deepEqual(open.reports, ['off']);
      assert.match(open.out, /ran in /, 'the program still runs');
      assert.equal(readdirSync(cacheDir).length, 0);
      // One that others may only read (systemd's CacheDirectory= is 0755) is used.
      chmodSync(cacheDir, 0o755);
      assert.deepEqual(run(file, cacheDir).reports, ['missing', 'written']);
    } finally {
      tmp.remove();
    }
  });
});

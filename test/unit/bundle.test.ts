/** scripts/bundle.mjs: the requires it makes lazy still give the library what it asked for. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../harness/bridge.js';

type Rewrite = (path: string, src: string) => string;
const { lazyRequires } = (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'bundle.mjs')).href)) as { lazyRequires: Rewrite };

describe('lazy requires in the bundle', () => {
  it("tough-cookie's public suffix list is built at its first use, not at start, and answers as before", () => {
    const file = createRequire(join(REPO_ROOT, 'node_modules', 'request', 'package.json')).resolve('tough-cookie/lib/pubsuffix-psl.js');
    const original = readFileSync(file, 'utf8');
    const loaded: string[] = [];
    const realRequire = createRequire(file);
    const run = (src: string) => {
      const exports: { getPublicSuffix?: (domain: string) => string | null } = {};
      new Function('require', 'exports', src)((id: string) => {
        loaded.push(id);
        return realRequire(id) as unknown;
      }, exports);
      return exports.getPublicSuffix!;
    };
    const lazy = run(lazyRequires(file, original));
    assert.deepEqual(loaded, [], 'nothing required when the module runs');
    assert.equal(lazy('www.example.co.uk'), 'example.co.uk');
    assert.deepEqual(loaded, ['psl'], 'psl required at the first lookup');
    assert.equal(run(original)('www.example.co.uk'), 'example.co.uk', 'the unchanged module says the same');
  });

  it('fails the build when a library no longer reads as expected', () => {
    assert.throws(() => lazyRequires('/x/node_modules/tough-cookie/lib/pubsuffix-psl.js', "const psl = require('psl');"), /no longer has `var psl = require\('psl'\);`: update LAZY_REQUIRES/);
    assert.equal(lazyRequires('/x/node_modules/other/index.js', 'var psl = 1;'), 'var psl = 1;', 'other files are left alone');
  });
});

/**
 * The compiled bridge production runs (scripts/build.mjs -> dist/, bundled into
 * dist/bundle/main.cjs by scripts/bundle.mjs, started by bin/switchboard.mjs): built from the
 * sources into a directory of its own, it runs with plain `node` (no TypeScript loader),
 * finds its version and its migrations, and loads only the adapters a config names; the
 * bin says what to do when dist/ is missing.
 * Every other end-to-end suite runs its bridge processes from the repository's dist/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../harness/bridge.js';
import { tempDir } from '../harness/proc.js';

const run = promisify(execFile);

describe('the compiled bridge', { timeout: 120_000 }, () => {
  it('builds into a tree of its own that runs with plain node: its version, a registration, a config check (adapters loaded by name)', async () => {
    const tmp = tempDir('compiled');
    try {
      // A deployment's layout: package.json, node_modules, dist/ (no tsx anywhere on the command line).
      copyFileSync(join(REPO_ROOT, 'package.json'), join(tmp.path, 'package.json'));
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(tmp.path, 'node_modules'));
      const built = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--out', join(tmp.path, 'dist')]);
      assert.match(built.stdout, /built \d+ files into/);
      assert.ok(existsSync(join(tmp.path, 'dist', 'core', 'store', 'migrations', '0001-initial.sql')), 'the migrations are next to the compiled store');
      assert.ok(existsSync(join(tmp.path, 'dist', 'core', 'store', 'postgres', 'worker.mjs')), 'and the PostgreSQL worker');
      const cli = join(tmp.path, 'dist', 'bundle', 'main.cjs');
      const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      assert.equal((await run(process.execPath, [cli, '--version'])).stdout.trim(), version, 'the bundle finds package.json from where its code was compiled');
      assert.equal((await run(process.execPath, [join(tmp.path, 'dist', 'core', 'cli', 'main.js'), '--version'])).stdout.trim(), version, 'the file-by-file build runs too');
      assert.deepEqual(readdirSync(join(tmp.path, 'dist', 'bundle')).sort(), ['main.cjs', 'main.cjs.map'], 'one file of code, and its source map');

      const dir = join(tmp.path, 'conf');
      mkdirSync(dir);
      const config = join(dir, 'config.yaml');
      writeFileSync(config, stringify({
        homeserver: { url: 'http://127.0.0.1:1', domain: 'compiled.test' },
        appservice: { url: 'http://127.0.0.1:2', registration: 'registration.yaml' },
        store: { path: 'switchboard.db' },
        networks: { loopback: { relay_user: 'relaybot' } },
      }));
      await run(process.execPath, [cli, '-c', config, 'generate-registration']);
      const checked = await run(process.execPath, [cli, '-c', config, 'check-config']);
      assert.match(checked.stdout, /^Config OK: .*networks: loopback; registration .* matches/);
      // A network section the build has no adapter for: the error lists every built-in one.
      writeFileSync(config, readFileSync(config, 'utf8').replace('loopback:', 'nosuch:'));
      const refused = await run(process.execPath, [cli, '-c', config, 'check-config']).then(() => undefined, (err: { stderr: string; code: number }) => err);
      assert.equal(refused?.code, 1);
      assert.match(refused?.stderr ?? '', /networks\.nosuch: no adapter named nosuch \(known: loopback, xmpp, telegram, irc, xmppgw\)/);
    } finally {
      tmp.remove();
    }
  });

  it('bin/switchboard.mjs without a dist/ says how to build it', async () => {
    const tmp = tempDir('no-dist');
    try {
      mkdirSync(join(tmp.path, 'bin'));
      for (const f of readdirSync(join(REPO_ROOT, 'bin'))) copyFileSync(join(REPO_ROOT, 'bin', f), join(tmp.path, 'bin', f));
      const err = await run(process.execPath, [join(tmp.path, 'bin', 'switchboard.mjs'), '--version']).then(() => undefined, (e: { stderr: string; code: number }) => e);
      assert.equal(err?.code, 2);
      assert.match(err?.stderr ?? '', /dist\/ is missing; build it with `npm run build`/);
    } finally {
      tmp.remove();
    }
  });
});

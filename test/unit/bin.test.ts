/**
 * bin/switchboard.mjs, the command admins run: the bundled bridge, with V8's compiled code
 * kept in NODE_COMPILE_CACHE, so a restart skips most compiling (docs/performance.md): Node
 * 22+'s own compile cache, Node 20's through bin/code-cache.mjs. CI runs this tier on 20, 22 and 24.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

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

  it('writes stack traces of the minified bundle with the source files and lines they came from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-stack-'));
    try {
      // A stack written while the bundle runs: `--version` exits from inside commander, called by core/cli/main.ts.
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, "process.on('exit', () => process.stderr.write(`${new Error('probe').stack}\\n`));\n");
      const run = spawnSync(process.execPath, ['--import', probe, BIN, '--version'], { env: { ...process.env, NODE_COMPILE_CACHE: dir }, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /\n {4}at .*\/core\/cli\/main\.ts:\d+:\d+\)?\n/, 'our own code: the TypeScript file');
      assert.match(run.stderr, /at _Command\.parseAsync \(.*\/node_modules\/commander\/lib\/command\.js:\d+:\d+\)/, "a library's: its own file");
      assert.doesNotMatch(run.stderr, /main\.cjs/, 'no frame left pointing into the bundle');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("maps a stack only when one is written, and never the one process.report puts in its report", async () => {
    type Install = (file: string, position: (line: number, column: number) => unknown) => void;
    const { mapStackTraces } = (await import(pathToFileURL(join(import.meta.dirname, '..', '..', 'bin', 'stack-traces.mjs')).href)) as { mapStackTraces: Install };
    const dir = mkdtempSync(join(tmpdir(), 'sb-stack-'));
    const before = Error.prepareStackTrace;
    try {
      const file = join(dir, 'main.cjs');
      writeFileSync(file, '');
      const asked: number[][] = [];
      mapStackTraces(file, (line, column) => {
        asked.push([line, column]);
        return { source: '/src/origin.ts', line: 7, column: 3 };
      });
      const thrown = vm.runInThisContext('(() => { try { throw new Error("boom"); } catch (err) { return err; } })()', { filename: file }) as Error;
      assert.deepEqual(asked, [], 'nothing looked up when the error is made');
      vm.runInThisContext('process.report.getReport()', { filename: file });
      assert.deepEqual(asked, [], "nor for the report's stack, asked for from the bundle (the crypto library does at every start)");
      assert.match(thrown.stack!, /^Error: boom\n {4}at .*\/src\/origin\.ts:7:3/);
      assert.equal(asked.length > 0, true, 'looked up when the stack is written');
    } finally {
      Error.prepareStackTrace = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves a position as it is when the bundle has no map beside it', async () => {
    type Lookup = (file: string) => (line: number, column: number) => unknown;
    const { sourcePositions } = (await import(pathToFileURL(join(import.meta.dirname, '..', '..', 'bin', 'stack-traces.mjs')).href)) as { sourcePositions: Lookup };
    const dir = mkdtempSync(join(tmpdir(), 'sb-stack-'));
    try {
      writeFileSync(join(dir, 'main.cjs'), 'module.exports = 1;\n');
      assert.equal(sourcePositions(join(dir, 'main.cjs'))(1, 1), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

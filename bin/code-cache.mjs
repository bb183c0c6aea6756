// Node 20's stand-in for Node 22's module.enableCompileCache: runs one CommonJS file (the
// bundle, dist/bundle/main.cjs) from V8's code cache, so a restart skips compiling its
// 10 MB (docs/performance.md, "Restart"). V8 checks a cache against the source, its own
// version and its flags, and refuses one that does not fit; the file is then compiled as
// usual and the cache written anew. Written a few seconds after start (what start-up
// compiled is in it by then), or at exit if the process ends before that.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

const WRITE_AFTER_MS = 5_000;

/**
 * The cache directory, made for this user alone; undefined (no cache) when it belongs to
 * someone else or others may write to it: a code cache is code, and one planted by someone
 * else would run as the bridge. (Others reading it is harmless: it is the bundle compiled.)
 */
function privateDir(dir) {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Runs `file` as the main CommonJS module, with V8's code cache kept in `cacheDir`.
 * `report(what)` is told 'accepted', 'rejected', 'missing', 'written' or 'off' (for tests).
 */
export function runWithCodeCache(file, cacheDir, report = () => {}) {
  const source = readFileSync(file, 'utf8');
  const dir = privateDir(cacheDir);
  const cacheFile = dir && join(dir, `switchboard-${createHash('sha256').update(file).digest('hex').slice(0, 16)}.v8cache`);
  let cached;
  if (cacheFile) {
    try {
      cached = readFileSync(cacheFile);
    } catch {
      cached = undefined;
    }
  }
  // No `import()` inside: Node 20 keeps no dynamic-import callback in a code cache, and its
  // only other way is experimental. scripts/bundle.mjs refuses a bundle that needs one.
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: cached });
  report(!cacheFile ? 'off' : !cached ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted');
  if (cacheFile && (!cached || script.cachedDataRejected)) {
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      try {
        const next = `${cacheFile}.${process.pid}`;
        writeFileSync(next, script.createCachedData(), { mode: 0o600 });
        renameSync(next, cacheFile);
        report('written');
      } catch {
        // No cache this time: the next start compiles as usual.
      }
    };
    setTimeout(write, WRITE_AFTER_MS).unref();
    process.once('exit', write);
  }
  // The CommonJS wrapper's arguments, as Node's own loader gives them.
  const module = new Module(file, null);
  module.filename = file;
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}

/** Where the cache lives: NODE_COMPILE_CACHE (the systemd unit's CacheDirectory), else under the temp dir. */
export function cacheDirectory() {
  return process.env.NODE_COMPILE_CACHE || join(tmpdir(), `switchboard-code-cache-${process.getuid?.() ?? 'user'}`);
}

#!/usr/bin/env node
// Entry point of the `switchboard` command: the compiled bridge bundled in dist/bundle/
// (scripts/build.mjs and scripts/bundle.mjs, run by `npm install`). `npm run dev -- <args>`
// runs the TypeScript sources instead.
import { existsSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cacheDirectory, runWithCodeCache } from './code-cache.mjs';
import { mapStackTraces } from './stack-traces.mjs';

const main = fileURLToPath(new URL('../dist/bundle/main.cjs', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('switchboard: dist/ is missing; build it with `npm run build` (npm install does)\n');
  process.exit(2);
}
// The bundle is minified: its stack traces are mapped back to the sources when written.
mapStackTraces(main);
// A restart skips compiling the bundle: V8's compiled code is kept between starts
// (NODE_COMPILE_CACHE names the directory, else one under the temp dir). Node 22+ does it
// itself; on Node 20, bin/code-cache.mjs does.
if (module.enableCompileCache) {
  module.enableCompileCache(process.env.NODE_COMPILE_CACHE);
  createRequire(import.meta.url)(main);
  // Node writes its cache at exit, which a SIGKILL never reaches: write it once started too.
  setTimeout(() => module.flushCompileCache?.(), 5_000).unref();
} else {
  runWithCodeCache(main, cacheDirectory());
}

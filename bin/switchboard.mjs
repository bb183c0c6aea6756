#!/usr/bin/env node
// Entry point of the `switchboard` command: the compiled bridge bundled in dist/bundle/
// (scripts/build.mjs and scripts/bundle.mjs, run by `npm install`). `npm run dev -- <args>`
// runs the TypeScript sources instead.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node 22+ keeps V8's compiled code between starts (NODE_COMPILE_CACHE names the directory,
// else one under the temp dir): a restart then skips most of the compiling. Node 20 has no
// such cache and starts as before.
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE);

const main = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('switchboard: dist/ is missing; build it with `npm run build` (npm install does)\n');
  process.exit(2);
}
await import(main.href);

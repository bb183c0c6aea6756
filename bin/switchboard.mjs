#!/usr/bin/env node
// Entry point of the `switchboard` command: the compiled bridge in dist/ (scripts/build.mjs,
// run by `npm install`). `npm run dev -- <args>` runs the TypeScript sources instead.
import { existsSync } from 'node:fs';

const main = new URL('../dist/core/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('switchboard: dist/ is missing; build it with `npm run build` (npm install does)\n');
  process.exit(2);
}
await import(main.href);

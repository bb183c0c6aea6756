#!/usr/bin/env node
/**
 * Compiles the bridge (core/ and bridges/) to JavaScript in dist/, one file per source
 * file, so production runs plain `node` without a TypeScript loader (start-up: see
 * docs/performance.md). esbuild only strips types: `npm run typecheck` checks them.
 * Then bundles the CLI and its libraries into dist/bundle/ (scripts/bundle.mjs), which is
 * what bin/switchboard.mjs starts; the SQL migrations and the PostgreSQL worker stay
 * next to the file-by-file code, where the bundle looks for them.
 * Written to a fresh directory and swapped in whole, so a reader never sees half a build.
 * Run by `npm install`/`npm ci` (prepare), `npm start`, `npm test` and `npm run stack`.
 */
import { build } from 'esbuild';
import { bundle } from './bundle.mjs';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['core', 'bridges'];
/** Files the compiled code reads next to itself at run time. */
const ASSETS = (file) => file.endsWith('.sql') || file.endsWith('.mjs');

// `--out <dir>`: somewhere else than dist/ (the build's own test).
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : join(root, 'dist');
const next = `${out}.build-${process.pid}`;
const files = SOURCES.flatMap((dir) => readdirSync(join(root, dir), { recursive: true }).map((f) => join(dir, String(f))));
const entryPoints = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(root, f));

const began = performance.now();
try {
  await build({
    entryPoints,
    outdir: next,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20.11',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  for (const f of files.filter(ASSETS)) cpSync(join(root, f), join(next, f));
  // The compiled files are ES modules whatever the nearest package.json says.
  writeFileSync(join(next, 'package.json'), '{ "type": "module" }\n');
  // What production starts: the CLI and its libraries in one file (scripts/bundle.mjs).
  const warnings = await bundle(join(next, 'core', 'cli', 'main.js'), join(next, 'bundle'));
  if (warnings.length) console.log(`switchboard: the bundle built with ${warnings.length} warnings`);
  const old = `${out}.old-${process.pid}`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(next, out);
  rmSync(old, { recursive: true, force: true });
} catch (err) {
  rmSync(next, { recursive: true, force: true });
  throw err;
}
console.log(`switchboard: built ${entryPoints.length} files into ${out === join(root, 'dist') ? 'dist/' : out} in ${Math.round(performance.now() - began)} ms`);

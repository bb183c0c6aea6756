/**
 * The bundle production starts: the compiled CLI (dist/core/cli/main.js) and the libraries it
 * loads, as one CommonJS file, dist/bundle/main.cjs, instead of about 1,500 files
 * (docs/performance.md, "Restart": on Node 20 loading those files one by one was most of a
 * restart). CommonJS so that a restart can skip compiling it: Node 22+ keeps the compiled
 * code itself (module.enableCompileCache), and on Node 20 bin/code-cache.mjs does. The
 * adapters are in the file but run only when a config names them (their dynamic imports
 * become lazy initialisers); with the code cache, code that never runs costs next to nothing.
 *
 * Code that finds files next to itself keeps finding them: in every file taken into the
 * bundle, `import.meta.url`, `__dirname` and `__filename` are its own original location,
 * worked out at run time relative to the bundle (so the tree can still be moved as a whole).
 * Native addons and the crypto WebAssembly package stay outside, loaded from node_modules.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';

/** Loaded from node_modules at run time: native addons, and a package that reads its .wasm beside itself. */
const EXTERNAL = ['better-sqlite3', '@matrix-org/matrix-sdk-crypto-nodejs', '@matrix-org/matrix-sdk-crypto-wasm', '*.node'];

// The bundle starts with this: where it is, from which each file's original location is derived.
const BANNER = [
  "const { join: __sbJoin } = require('node:path');",
  "const { pathToFileURL: __sbToUrl } = require('node:url');",
  'const __sbHere = __dirname;',
].join('\n');

/**
 * Requires run at start for something the bridge never does, made to run at first use
 * instead (docs/performance.md, "Restart"): tough-cookie, loaded by `request` (the bot
 * SDK's HTTP client), builds the whole public suffix list for cookie domains, and the
 * bridge keeps no cookies. The build fails if a library no longer reads as expected.
 */
const LAZY_REQUIRES = [
  { file: /[\\/]tough-cookie[\\/]lib[\\/]pubsuffix-psl\.js$/, eager: "var psl = require('psl');", lazy: "var psl = { get: (domain) => require('psl').get(domain) };" },
];

export function lazyRequires(path, src) {
  for (const rule of LAZY_REQUIRES.filter((r) => r.file.test(path))) {
    if (!src.includes(rule.eager)) throw new Error(`${path} no longer has \`${rule.eager}\`: update LAZY_REQUIRES in scripts/bundle.mjs`);
    src = src.replace(rule.eager, rule.lazy);
  }
  return src;
}

const declares = (src, name) => new RegExp(`(?:var|let|const|function)\\s+${name}\\b`).test(src);

/** esbuild plugin: each loaded file is told where it really is. */
function ownLocation(outdir) {
  return {
    name: 'own-location',
    setup(b) {
      b.onLoad({ filter: /\.(?:m?js|cjs)$/ }, async (args) => {
        let src = lazyRequires(args.path, await readFile(args.path, 'utf8'));
        const rel = (p) => JSON.stringify(relative(outdir, p).split(sep).join('/'));
        const file = `__sbJoin(__sbHere, ${rel(args.path)})`;
        if (src.includes('import.meta.url')) src = src.replaceAll('import.meta.url', `__sbToUrl(${file}).href`);
        const prelude = [];
        if (src.includes('__filename') && !declares(src, '__filename')) prelude.push(`var __filename = ${file};`);
        if (src.includes('__dirname') && !declares(src, '__dirname')) prelude.push(`var __dirname = __sbJoin(__sbHere, ${rel(dirname(args.path))});`);
        // The prelude shares the first line, so line numbers of the source stay as they were.
        return { contents: prelude.join(' ') + src, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Bundles `entry` (a compiled file) into `outdir`/main.cjs; returns the warnings esbuild gave. */
export async function bundle(entry, outdir) {
  const result = await build({
    entryPoints: { main: entry },
    outdir,
    bundle: true,
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    platform: 'node',
    target: 'node20.11',
    // Names as written: error and class names appear in logs and in checks of `.name`.
    keepNames: true,
    // Whitespace and syntax minified (names kept): a third less to read and compile at each
    // start. Stack traces point back at the sources through the map beside it, which
    // bin/stack-traces.mjs reads only when a stack is first written out.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'external',
    sourcesContent: false,
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [ownLocation(outdir)],
    logLevel: 'error',
    metafile: true,
  });
  // Node 20's code cache (bin/code-cache.mjs) cannot run `import()`: a package loaded that way
  // would fail at run time, so it fails the build instead (import our own module that
  // imports it statically: that becomes a lazy require here, as core/crypto/attachments.ts does).
  const dynamic = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path));
  if (dynamic.length) throw new Error(`the bundle would import() ${dynamic.join(', ')} at run time: load it through a module of ours instead`);
  return result.warnings;
}

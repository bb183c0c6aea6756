/** The dependency rules of DESIGN.md, checked by reading the imports. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);

describe('module boundaries', () => {
  // json-bytes (JSON with bytes), safety (identifier rules) and net/guarded-http (SSRF-safe HTTP) are leaf helpers adapters may use.
  it('adapters import only the contract and the leaf helpers from the core', () => {
    for (const file of files('bridges').filter((f) => f !== join('bridges', 'index.ts'))) {
      for (const spec of importsOf(file).filter((s) => s.includes('/core/'))) {
        assert.match(spec, /\/core\/(adapter|events|ids|json-bytes|safety|net\/guarded-http)\.js$/, `${file} imports ${spec}`);
      }
    }
    assert.deepEqual(importsOf(join('core', 'json-bytes.ts')), [], 'core/json-bytes.ts stays a leaf');
    assert.deepEqual(importsOf(join('core', 'safety.ts')), [], 'core/safety.ts stays a leaf');
    assert.ok(importsOf(join('core', 'net', 'guarded-http.ts')).every((s) => s.startsWith('node:') || s === 'ipaddr.js'), 'core/net/guarded-http.ts stays a leaf');
  });

  it('only core/matrix imports matrix-appservice-bridge', () => {
    for (const file of [...files('core'), ...files('bridges')]) {
      if (file.startsWith(join('core', 'matrix'))) continue;
      assert.ok(!importsOf(file).some((s) => s.startsWith('matrix-appservice-bridge')), `${file} imports matrix-appservice-bridge`);
    }
  });

  it('no source file grows past 400 lines', () => {
    for (const file of [...files('core'), ...files('bridges')]) {
      const lines = readFileSync(file, 'utf8').split('\n').length;
      assert.ok(lines <= 400, `${file} has ${lines} lines`);
    }
  });
});

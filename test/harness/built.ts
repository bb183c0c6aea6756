/**
 * Bridge processes in the tests run the compiled dist/, as in production. A dist/ older
 * than the sources would test yesterday's code: refuse, and say how to build it (`npm
 * test` builds first; a single test file run by hand may not have).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

let checked = false;

export function assertBuilt(root: string): void {
  if (checked) return;
  const stamp = join(root, 'dist', 'package.json');
  if (!existsSync(stamp)) throw new Error('dist/ is missing: run `npm run build` before starting a bridge process');
  const built = statSync(stamp).mtimeMs;
  for (const dir of ['core', 'bridges']) {
    for (const f of readdirSync(join(root, dir), { recursive: true })) {
      const file = join(root, dir, String(f));
      if (statSync(file).mtimeMs > built) throw new Error(`dist/ is older than ${file}: run \`npm run build\``);
    }
  }
  checked = true;
}

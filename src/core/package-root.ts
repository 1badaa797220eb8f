/**
 * The package's root directory (where package.json and build/ live), found
 * from this file's place: dist/core/ when tsc's output is loaded, dist/ when
 * the CLI's bundle (dist/cli.js) is, src/core/ under a TypeScript test
 * runner. The nearest directory up with a binding.gyp is the root: one or
 * two existsSync calls, not the dozen probes of the `bindings` package.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    if (dirname(dir) === dir) return join(from, '..');
  }
}

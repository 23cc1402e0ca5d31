import { rmSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { common, esmRequire } from './tsup.shared.js';

// Three builds write into dist/ at once: clean it here, once, before either starts.
rmSync('dist', { recursive: true, force: true });

export default defineConfig([
  {
    ...common,
    // dist/cli.js, the entry: decides between serve.cjs and main.js. One small file, nothing shared.
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    splitting: false,
  },
  {
    ...common,
    // dist/serve.cjs: everything a `serve` start needs in one CommonJS file, so that cli.ts can
    // compile it through the V8 code cache (src/launch/code-cache.ts); ESM cannot take one.
    // Function names are not kept: nothing on this path reads them, and keeping them costs a call per
    // function at start.
    entry: { serve: 'src/serve-main.ts' },
    format: ['cjs'],
    splitting: false,
    keepNames: false,
  },
  {
    ...common,
    // dist/main.js: every other command, each its own chunk, loaded only when that command runs.
    entry: { main: 'src/main.ts' },
    format: ['esm'],
    splitting: true,
    // Bundled CommonJS dependencies still call require().
    banner: esmRequire,
  },
]);
